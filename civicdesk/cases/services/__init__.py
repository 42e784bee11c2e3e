"""Writes on cases, one module per concept; this package re-exports the public API.

Every change that agents should see live publishes one typed event (`cases.events`) after
commit, and every timeline entry is stored from such an event (`services.timeline`).
"""

from civicdesk.cases.services.assignment import (
    AssignmentOutcome,
    assign_case,
    set_agent_available,
)
from civicdesk.cases.services.attachments import NewAttachment
from civicdesk.cases.services.bounces import restore_contact_point
from civicdesk.cases.services.escalation import escalate_due_cases
from civicdesk.cases.services.messages import (
    ReplyOutcome,
    add_internal_note,
    record_citizen_message,
    reply_to_case,
)
from civicdesk.cases.services.notifications import request_status_links, send_status_links
from civicdesk.cases.services.opening import open_case
from civicdesk.cases.services.references import next_reference, restart_numbering
from civicdesk.cases.services.status import StatusOutcome, change_case_status
from civicdesk.cases.services.status_links import issue_status_token

__all__ = [
    "AssignmentOutcome",
    "NewAttachment",
    "ReplyOutcome",
    "StatusOutcome",
    "add_internal_note",
    "assign_case",
    "change_case_status",
    "escalate_due_cases",
    "issue_status_token",
    "next_reference",
    "open_case",
    "record_citizen_message",
    "reply_to_case",
    "request_status_links",
    "restart_numbering",
    "restore_contact_point",
    "send_status_links",
    "set_agent_available",
]
