"""One presenter per timeline kind, shared by the workspace, the portal and the API.

A presenter turns a stored entry (a `CaseEvent` row and the typed event rebuilt from its data)
into an `EntryView`: a title sentence, CSS class and icon, and the details a page shows. It
speaks to one of two audiences: `STAFF` (the workspace and the API, in English) or `CITIZEN`
(the portal status page, translated with gettext, EN and RO). Whether a kind is public is
declared once, with its presenter; the timeline writer stores that flag on the row, the
portal's selector filters on it, and `present_entry(..., audience=CITIZEN)` refuses private
kinds again, so a private entry never reaches a citizen even if a row were mislabelled.

Adding a kind: declare the event dataclass and one function here::

    @presents(SlaWarned, public=False)
    def _sla_warned(event: SlaWarned, entry: CaseEvent, audience: Audience) -> EntryView:
        return view(entry, title=f"Target {event.target} due soon", icon="clock")

Costs: no queries of its own; `entry.attachments.all()` and `entry.author` should be prefetched
(`selectors.timeline` does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from civicdesk.cases.events import (
    CaseAssigned,
    CaseClassified,
    CaseFollowedUp,
    CaseOpened,
    ContactPointRestored,
    FollowUpOpened,
    HistoryRecorded,
    MessageReceived,
    NoteAdded,
    ReplyRerouted,
    ReplySent,
    ReplyUndeliverable,
    SlaBreached,
    SlaClockPaused,
    SlaClockResumed,
    SlaWarned,
    StatusChanged,
)
from civicdesk.cases.kernels.message_html import INLINE_IMAGE_TYPES, safe_message_html
from civicdesk.cases.kernels.status import CaseStatus
from civicdesk.channels.selectors import channel_label
from civicdesk.realtime.events import Event, InvalidEventData, event_class

if TYPE_CHECKING:
    from civicdesk.cases.models import CaseEvent
    from civicdesk.channels.models import OutboundDelivery


class Audience(StrEnum):
    STAFF = "staff"
    CITIZEN = "citizen"


@dataclass(frozen=True)
class FileView:
    id: int
    name: str
    size: int
    content_type: str
    content_id: str = ""  # an image the message's HTML shows inline (cid:), "" for a file


@dataclass(frozen=True)
class EntryView:
    """What a page shows of one timeline entry."""

    kind: str  # the event kind, e.g. "case.reply.sent"
    at: datetime
    title: str  # one sentence, in the audience's language
    is_public: bool
    css_class: str  # a styling hook: "opened", "message", "reply", "note", "status", …
    icon: str  # a short icon name for the page's icon set
    body: str = ""
    details: tuple[tuple[str, str], ...] = ()  # (label, value) pairs, e.g. delivery
    files: tuple[FileView, ...] = ()
    internal: bool = False  # shown with the "not visible to the citizen" badge
    entry_id: int = 0
    delivery_status: str = ""  # for replies: the delivery's status code, "" if none
    # For staff: what the channel folded away from the body (quoted history, signature),
    # shown on demand, and what it left out of the message.
    folded: str = ""
    notes: tuple[str, ...] = ()
    # For staff: a message that came only as HTML, as stored. Never output as is: pages show
    # it through `message_html`, which sanitises it again.
    html: str = ""


def shows_inline(content_type: str) -> bool:
    """Whether a message's image of this type is shown inside its HTML (raster only)."""
    return content_type in INLINE_IMAGE_TYPES


@dataclass(frozen=True)
class MessageHtml:
    """An entry's HTML ready for a staff page: nh3's output, marked safe here and only here."""

    new: SafeString
    quoted: SafeString


def message_html(entry: EntryView, *, file_url: Callable[[FileView], str]) -> MessageHtml | None:
    """The entry's HTML sanitised for a staff page (None when it has none, or none is left),
    its inline images pointing at `file_url(file)` (the message's own images, of a type shown
    inline), its quoted history and signature split off when the channel folded them."""
    if not entry.html:
        return None
    images = {
        file.content_id: file_url(file)
        for file in entry.files
        if file.content_id and shows_inline(file.content_type)
    }
    parts = safe_message_html(
        entry.html, images=images, new_text=entry.body, quoted_text=entry.folded
    )
    if not (parts.new.strip() or parts.quoted.strip()):
        return None  # nothing survived sanitising: the text is shown instead
    # Safe: both are nh3's output (cases.kernels.message_html sanitises what it returns).
    return MessageHtml(new=mark_safe(parts.new), quoted=mark_safe(parts.quoted))  # noqa: S308


E = TypeVar("E", bound=Event)
# A presenter of events of type E; kept loose (Any) in the registry, exact where declared.
PresenterOf = Callable[[E, "CaseEvent", Audience], EntryView]
_PRESENTERS: dict[str, tuple[bool, PresenterOf[Any]]] = {}


def presents(event: type[E], *, public: bool) -> Callable[[PresenterOf[E]], PresenterOf[E]]:
    """Register the presenter of `event`'s kind and whether citizens may see that kind.

    Events of other apps that belong on a case's timeline (e.g. SLA warnings) are presented
    here too: `cases` may import their `events` module; they may not import `cases`.
    """

    def register(function: PresenterOf[E]) -> PresenterOf[E]:
        if event.kind in _PRESENTERS:
            raise TypeError(f"{event.kind} has a presenter already")
        _PRESENTERS[event.kind] = (public, function)
        return function

    return register


def is_public_kind(kind: str) -> bool:
    """Whether citizens see entries of `kind`. Unknown kinds are private."""
    return kind in _PRESENTERS and _PRESENTERS[kind][0]


def present_entry(entry: CaseEvent, *, audience: Audience) -> EntryView | None:
    """The view of one entry for `audience`; None when that audience must not see it."""
    public, presenter = _PRESENTERS.get(entry.kind, (False, _present_unknown))
    if audience is Audience.CITIZEN and not (public and entry.is_public):
        return None
    if presenter is _present_unknown:
        return _present_unknown(None, entry, audience)
    try:
        event = event_class(entry.kind).from_data(entry.data)
    except InvalidEventData:
        # One row that no longer fits its class (an older schema, a hand edit) must not take
        # the whole case page down: staff see it as unknown, citizens see nothing of it.
        logging.getLogger(__name__).warning(
            "Timeline entry %s does not fit %s", entry.pk, entry.kind, exc_info=True
        )
        return None if audience is Audience.CITIZEN else _present_unknown(None, entry, audience)
    return presenter(event, entry, audience)


def present_timeline(entries: Iterable[CaseEvent], *, audience: Audience) -> list[EntryView]:
    """Views of the entries `audience` may see, in the order given."""
    return [view for view in (present_entry(e, audience=audience) for e in entries) if view]


def view(entry: CaseEvent, *, title: str, css_class: str, icon: str, **more: Any) -> EntryView:
    """An `EntryView` with the fields every presenter takes from the row."""
    files = tuple(
        FileView(
            id=a.pk,
            name=a.filename,
            size=a.size,
            content_type=a.content_type,
            content_id=a.content_id,
        )
        for a in entry.attachments.all()
    )
    return EntryView(
        kind=entry.kind,
        at=entry.created_at,
        title=title,
        is_public=entry.is_public,
        css_class=css_class,
        icon=icon,
        body=entry.body,
        files=files,
        entry_id=entry.pk,
        **more,
    )


# --- wording shared by presenters ------------------------------------------------------------

# A context of their own: other apps translate the same English words for staff, and in
# Romanian a citizen's request ("solicitare") needs the feminine forms.
CITIZEN_STATUS_LABELS: dict[str, Promise] = {
    CaseStatus.NEW: pgettext_lazy("case status for citizens", "Received"),
    CaseStatus.OPEN: pgettext_lazy("case status for citizens", "In progress"),
    CaseStatus.WAITING: pgettext_lazy("case status for citizens", "Waiting for your reply"),
    CaseStatus.RESOLVED: pgettext_lazy("case status for citizens", "Resolved"),
    CaseStatus.CLOSED: pgettext_lazy("case status for citizens", "Closed"),
    CaseStatus.REOPENED: pgettext_lazy("case status for citizens", "Reopened"),
}


def citizen_status_label(status: str) -> str:
    label = CITIZEN_STATUS_LABELS.get(status)
    return str(label) if label is not None else status


def staff_status_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


def _channel_label(kind: str) -> str:
    return channel_label(kind) if kind else "—"


def delivery_state(delivery: OutboundDelivery | None) -> str:
    """Where a reply is, in the receipts' words: queued, sent, delivered, read or failed
    ("none" for a reply with no delivery recorded)."""
    if delivery is None:
        return "none"
    if delivery.status == "failed" or delivery.provider_state == "failed":
        return "failed"
    if delivery.provider_state in ("delivered", "read"):
        return str(delivery.provider_state)
    return "sent" if delivery.status == "sent" else "queued"


def delivery_summary(delivery: OutboundDelivery | None) -> str:
    """The delivery state for staff, with its times and, for a failure, the error."""
    state = delivery_state(delivery)
    if delivery is None:
        return "not recorded"
    parts = [state.capitalize()]
    for label, moment in (
        ("sent", delivery.sent_at),
        ("delivered", delivery.delivered_at),
        ("read", delivery.read_at),
    ):
        if moment is not None:
            parts.append(f"{label} {localtime(moment):%d %b %Y %H:%M}")
    text = parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")
    if state == "failed" and delivery.last_error:
        text += f" — {delivery.last_error}"
    elif delivery.status == "retrying" and delivery.last_error:
        text += f" — retrying after: {delivery.last_error}"
    return text


def _staff_name(entry: CaseEvent) -> str:
    return entry.author.get_full_name() if entry.author else ""


def _by_whom(entry: CaseEvent, *, automatic: bool) -> str:
    if entry.author:
        return f" by {entry.author.get_full_name()}"
    return " automatically" if automatic else ""


# --- presenters ------------------------------------------------------------------------------


@presents(CaseOpened, public=True)
def _opened(event: CaseOpened, entry: CaseEvent, audience: Audience) -> EntryView:
    if audience is Audience.CITIZEN:
        title = _("Request received")
    else:
        title = f"Case opened by {_channel_label(event.channel)}"
        title += f" for {event.service}" if event.service else ""
    return view(entry, title=title, css_class="opened", icon="inbox")


@presents(MessageReceived, public=True)
def _message(event: MessageReceived, entry: CaseEvent, audience: Audience) -> EntryView:
    if audience is Audience.CITIZEN:
        title = _("You wrote")
    else:
        who = entry.author_label or str(entry.case.citizen)
        title = f"Message from {who} by {_channel_label(event.channel)}"
        return view(
            entry,
            title=title,
            css_class="message",
            icon="message-in",
            folded=event.quoted,
            notes=event.notes,
            html=entry.body_html,
        )
    return view(entry, title=title, css_class="message", icon="message-in")


@presents(ReplySent, public=True)
def _reply(event: ReplySent, entry: CaseEvent, audience: Audience) -> EntryView:
    delivery = entry.delivery
    if audience is Audience.CITIZEN:
        name = _staff_name(entry).split()
        body_name = settings.CIVICDESK_BODY_NAME
        if name:
            title = _("%(name)s from %(body)s replied") % {"name": name[0], "body": body_name}
        else:
            title = _("%(body)s replied") % {"body": body_name}
        return view(entry, title=title, css_class="reply", icon="message-out")
    to = f" to {event.recipient}" if event.recipient else ""
    return view(
        entry,
        title=(
            f"Reply by {_staff_name(entry) or 'the system'} by {_channel_label(event.channel)}{to}"
        ),
        css_class="reply",
        icon="message-out",
        details=(("Delivery", delivery_summary(delivery)),),
        delivery_status=delivery_state(delivery),
    )


@presents(ReplyRerouted, public=False)
def _rerouted(event: ReplyRerouted, entry: CaseEvent, audience: Audience) -> EntryView:
    if event.bounced_recipient:
        title = (
            f"The {_channel_label(event.from_channel).lower()} to {event.bounced_recipient} "
            f"bounced; the reply went by {_channel_label(event.to_channel)}"
        )
    else:
        title = (
            f"Reply moved from {_channel_label(event.from_channel)} "
            f"to {_channel_label(event.to_channel)}"
        )
    details = (("Why", event.reason),) if event.reason else ()
    return view(entry, title=title, css_class="rerouted", icon="route", details=details)


@presents(ReplyUndeliverable, public=False)
def _undeliverable(event: ReplyUndeliverable, entry: CaseEvent, audience: Audience) -> EntryView:
    title = "Reply could not be delivered by any channel: contact the citizen another way"
    if event.bounced_recipient:
        title = (
            f"The {_channel_label(event.channel).lower()} to {event.bounced_recipient} bounced "
            "and no other channel can reach the citizen: contact them another way"
        )
    return view(
        entry,
        title=title,
        css_class="undeliverable",
        icon="alert",
        details=(("Why", event.reason),),
    )


@presents(ContactPointRestored, public=False)
def _restored(event: ContactPointRestored, entry: CaseEvent, audience: Audience) -> EntryView:
    title = (
        f"{_staff_name(entry) or 'Staff'} marked {event.value} as deliverable again: replies "
        "may take it"
    )
    return view(entry, title=title, css_class="restored", icon="route")


@presents(NoteAdded, public=False)
def _note(event: NoteAdded, entry: CaseEvent, audience: Audience) -> EntryView:
    title = f"Internal note by {_staff_name(entry) or 'the system'}"
    return view(entry, title=title, css_class="note", icon="note", internal=True)


@presents(StatusChanged, public=True)
def _status(event: StatusChanged, entry: CaseEvent, audience: Audience) -> EntryView:
    if audience is Audience.CITIZEN:
        label = citizen_status_label(event.status)
        title = _("Status changed to: %(status)s") % {"status": label}
    else:
        title = (
            f"Status changed from {staff_status_label(event.previous)} to "
            f"{staff_status_label(event.status)}{_by_whom(entry, automatic=event.automatic)}"
        )
    return view(entry, title=title, css_class="status", icon="flag")


@presents(CaseAssigned, public=False)
def _assigned(event: CaseAssigned, entry: CaseEvent, audience: Audience) -> EntryView:
    where = f" in {event.queue}" if event.queue else ""
    if event.waiting:
        title = f"Waiting in {event.queue} for an available agent"
    elif event.to:
        title = f"Assigned to {event.to}{where}"
    else:
        title = f"Unassigned{where}"
    title += _by_whom(entry, automatic=event.automatic)
    return view(entry, title=title, css_class="assignment", icon="person")


@presents(CaseClassified, public=False)
def _classified(event: CaseClassified, entry: CaseEvent, audience: Audience) -> EntryView:
    title = f"Classified by {event.by}" if event.by else "Classified"
    return view(entry, title=title, css_class="classified", icon="tag")


@presents(FollowUpOpened, public=False)
def _follow_up_opened(event: FollowUpOpened, entry: CaseEvent, audience: Audience) -> EntryView:
    title = f"Opened as a follow-up of {event.follows}, closed too long ago to reopen"
    return view(entry, title=title, css_class="link", icon="link")


@presents(CaseFollowedUp, public=False)
def _followed_up(event: CaseFollowedUp, entry: CaseEvent, audience: Audience) -> EntryView:
    title = f"The citizen wrote again after the case closed: follow-up {event.follow_up} opened"
    return view(entry, title=title, css_class="link", icon="link")


@presents(HistoryRecorded, public=False)
def _history(event: HistoryRecorded, entry: CaseEvent, audience: Audience) -> EntryView:
    title = f"Recorded before typed history ({event.original_kind})"
    details = (("Details", event.details),) if event.details else ()
    return view(entry, title=title, css_class="history", icon="archive", details=details)


_TARGET_LABELS = {"first_response": "First response", "resolution": "Resolution"}
_ACTION_LABELS = {
    "notify_supervisor": "supervisor notified",
    "raise_priority": "priority raised",
    "reassign": "reassigned",
}


def _sla_details(due_at: str, actions: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    details: list[tuple[str, str]] = []
    if due_at:
        details.append(("Due", datetime.fromisoformat(due_at).strftime("%Y-%m-%d %H:%M UTC")))
    if actions:
        details.append(("Escalation", ", ".join(_ACTION_LABELS.get(a, a) for a in actions)))
    return tuple(details)


@presents(SlaClockPaused, public=False)
def _sla_paused(event: SlaClockPaused, entry: CaseEvent, audience: Audience) -> EntryView:
    return view(
        entry,
        title="Service-level clock paused: waiting on the citizen",
        css_class="sla",
        icon="pause",
    )


@presents(SlaClockResumed, public=False)
def _sla_resumed(event: SlaClockResumed, entry: CaseEvent, audience: Audience) -> EntryView:
    return view(
        entry,
        title="Service-level clock resumed",
        css_class="sla",
        icon="play",
        details=_sla_details(event.due_at, ()),
    )


@presents(SlaWarned, public=False)
def _sla_warned(event: SlaWarned, entry: CaseEvent, audience: Audience) -> EntryView:
    target = _TARGET_LABELS.get(event.target, event.target)
    return view(
        entry,
        title=f"{target} target due soon ({event.remaining_minutes} business minutes left)",
        css_class="sla-warning",
        icon="clock",
        details=_sla_details(event.due_at, event.actions),
    )


@presents(SlaBreached, public=False)
def _sla_breached(event: SlaBreached, entry: CaseEvent, audience: Audience) -> EntryView:
    target = _TARGET_LABELS.get(event.target, event.target)
    return view(
        entry,
        title=f"{target} target missed",
        css_class="sla-breached",
        icon="alarm",
        details=_sla_details(event.due_at, event.actions),
    )


def _present_unknown(event: None, entry: CaseEvent, audience: Audience) -> EntryView:
    # A kind with no presenter (an app removed since): shown to staff by its kind, never lost.
    return view(entry, title=entry.kind, css_class="unknown", icon="question")
