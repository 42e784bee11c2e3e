from civicdesk.cases.models.case import (
    Attachment,
    Case,
    CaseEvent,
    CaseParticipant,
    ReferenceSequence,
)

__all__ = [
    "Attachment",
    "Case",
    "CaseEvent",
    "CaseParticipant",
    "ReferenceSequence",
]
