from civicdesk.cases.models.case import (
    Attachment,
    Case,
    CaseEvent,
    Priority,
    ReferenceSequence,
)
from civicdesk.cases.models.catalogue import (
    AttributeDatatype,
    Service,
    ServiceAttribute,
    ServiceGroup,
)

__all__ = [
    "Attachment",
    "AttributeDatatype",
    "Case",
    "CaseEvent",
    "Priority",
    "ReferenceSequence",
    "Service",
    "ServiceAttribute",
    "ServiceGroup",
]
