from civicdesk.cases.models.case import (
    Attachment,
    Case,
    CaseEvent,
    ReferenceSequence,
)

__all__ = [
    "Attachment",
    "Case",
    "CaseEvent",
    "ReferenceSequence",
]
