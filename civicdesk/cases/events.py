"""What happens to cases, as typed past-tense events.

Each event is both the live update the workspace hears (`realtime.publish.publish(event)`) and
the schema of the case's timeline entry: a `CaseEvent` row stores `kind` and `to_data()`; its
`body`, `author`, `channel` and attachments stay columns of the row. `CaseEvent.as_event()`
(the model) rebuilds the dataclass.

Every case event carries `CaseChange`'s fields: the case's reference and its state *right after*
the change (status, queue, assignee, priority), so an open inbox knows what moved without a
query. For history converted from before typed events these are reconstructed by replaying the
timeline (status, assignee) or taken from the case (queue, priority).

Adding a kind: one dataclass here (or in the app that owns the fact, subclassing `CaseChange`)
and one presenter in `cases.presenters`; see docs/architecture.md, "The timeline".
"""

from __future__ import annotations

from dataclasses import dataclass

from civicdesk.realtime.events import Event


@dataclass(frozen=True, kw_only=True)
class CaseChange(Event):
    """Shared fields of every case event (abstract: no kind)."""

    reference: str
    status: str
    queue_id: int | None = None
    assignee_id: int | None = None
    priority: str = ""


@dataclass(frozen=True, kw_only=True)
class CaseOpened(CaseChange, kind="case.opened"):
    """A new case exists; public. `service` is the service's name then, "" if none."""

    channel: str
    service: str = ""


@dataclass(frozen=True, kw_only=True)
class CaseClassified(CaseChange, kind="case.classified"):
    """The case's service was chosen automatically; `by` names the classifier."""

    by: str


@dataclass(frozen=True, kw_only=True)
class CaseAssigned(CaseChange, kind="case.assigned"):
    """The case went to someone (or nobody), or is waiting in its queue for a free agent.

    `automatic`: routing did it, not a person (the row's author is then empty). Names are kept as
    they were then, so the entry still reads right after a colleague leaves or is renamed.
    """

    to: str = ""
    to_id: int | None = None
    previous: str = ""
    queue: str = ""
    automatic: bool = False
    waiting: bool = False


@dataclass(frozen=True, kw_only=True)
class MessageReceived(CaseChange, kind="case.message.received"):
    """The citizen wrote; the text is the row's body, the channel its channel. Public.

    `account_id`: the channel account they wrote to (None: the channel's default);
    `identity`: their address on that channel (phone, email, handle). `quoted`: what the
    channel folded away from the text (an email's quoted history and signature), shown to
    staff on demand; `notes`: what it left out or guessed (an attachment over the limit).
    """

    channel: str
    account_id: int | None = None
    identity: str = ""
    quoted: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ReplySent(CaseChange, kind="case.reply.sent"):
    """A member of staff answered the citizen; queued for delivery in `channel`. Public.

    `account_id` and `recipient`: the account it leaves from and the address it goes to.
    """

    channel: str
    account_id: int | None = None
    recipient: str = ""


@dataclass(frozen=True, kw_only=True)
class ReplyRerouted(CaseChange, kind="case.reply.rerouted"):
    """The channels framework moved a reply to the citizen's next channel (a permanent failure,
    or a reply window closed). Staff only."""

    from_channel: str
    to_channel: str
    reason: str = ""
    from_delivery_id: int | None = None
    to_delivery_id: int | None = None
    # The address a hard bounce said is gone ("" when the reply moved for another reason).
    bounced_recipient: str = ""


@dataclass(frozen=True, kw_only=True)
class ReplyUndeliverable(CaseChange, kind="case.reply.undeliverable"):
    """No channel left could take a reply: the citizen must be contacted another way. Staff
    only."""

    reason: str
    channel: str = ""
    delivery_id: int | None = None
    bounced_recipient: str = ""


@dataclass(frozen=True, kw_only=True)
class ContactPointRestored(CaseChange, kind="case.contact_point.restored"):
    """Staff checked an address marked undeliverable (a hard bounce) and let replies take it
    again. Staff only."""

    contact_kind: str
    value: str


@dataclass(frozen=True, kw_only=True)
class NoteAdded(CaseChange, kind="case.note.added"):
    """An internal note for colleagues: never shown to the citizen, never sent."""


@dataclass(frozen=True, kw_only=True)
class StatusChanged(CaseChange, kind="case.status.changed"):
    """The case moved along the workflow (`previous` → `status`). Public.

    `automatic`: a citizen's message or an agent's reply moved it, not a status choice.
    """

    previous: str
    automatic: bool = False


@dataclass(frozen=True, kw_only=True)
class FollowUpOpened(CaseChange, kind="case.follow_up.opened"):
    """This case was opened for a message about an earlier case, `follows` (its reference),
    that had been closed too long to reopen. Private."""

    follows: str


@dataclass(frozen=True, kw_only=True)
class CaseFollowedUp(CaseChange, kind="case.followed_up"):
    """The citizen wrote about this closed case too long after it closed to reopen it: the new
    case `follow_up` (its reference) was opened for the message. Private."""

    follow_up: str


@dataclass(frozen=True, kw_only=True)
class HistoryRecorded(CaseChange, kind="case.history.recorded"):
    """A timeline entry kept from before typed events whose kind has no event of its own.

    Private. `original_kind` and `details` keep what was stored, so nothing old is lost.
    """

    original_kind: str
    details: str = ""


# --- service-level clocks (see docs/architecture.md, "SLA clocks, pauses and escalation") ---


@dataclass(frozen=True, kw_only=True)
class SlaClockPaused(CaseChange, kind="case.sla.paused"):
    """The case waits on the citizen: its clocks stopped counting. Private."""


@dataclass(frozen=True, kw_only=True)
class SlaClockResumed(CaseChange, kind="case.sla.resumed"):
    """The wait ended (the citizen answered, or the case moved on); clocks count again.

    `due_at` (ISO 8601, UTC) is the next due time after the shift, "" none. Private.
    """

    due_at: str = ""


@dataclass(frozen=True, kw_only=True)
class SlaWarned(CaseChange, kind="case.sla.warned"):
    """A clock (`target`: first_response or resolution) entered its warning time. Private.

    `due_at` ISO 8601 UTC; `remaining_minutes` business minutes left when it was seen;
    `actions` the escalation steps applied (notify_supervisor, raise_priority, reassign);
    `notified_ids` the supervisors told live (also sent to their user groups), whose
    workspaces show an alert.
    """

    target: str
    due_at: str = ""
    remaining_minutes: int = 0
    actions: tuple[str, ...] = ()
    notified_ids: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SlaBreached(CaseChange, kind="case.sla.breached"):
    """A clock's due time passed. Private; fields as `SlaWarned` (`remaining_minutes` < 0)."""

    target: str
    due_at: str = ""
    remaining_minutes: int = 0
    actions: tuple[str, ...] = ()
    notified_ids: tuple[int, ...] = ()
