from civicdesk.cases.models.case import (
    Attachment,
    Case,
    CaseEvent,
    EventKind,
    ReferenceSequence,
)

__all__ = [
    "Attachment",
    "Case",
    "CaseEvent",
    "EventKind",
    "ReferenceSequence",
]
