"""Reads on cases. Access-checked fetches answer "not found" for missing and forbidden alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from civicdesk.cases.answer_search import AnswerTextContains
from civicdesk.cases.clock_reading import review_case_clocks, running_due_times
from civicdesk.cases.events import MessageReceived, NoteAdded, ReplySent
from civicdesk.cases.kernels.status import FINISHED, CaseStatus
from civicdesk.cases.models import Attachment, Case, CaseEvent
from civicdesk.cases.signed_links import is_signed, read_signed_link
from civicdesk.catalogue.selectors import attributes_by_code
from civicdesk.channels.selectors import ReplyRoute, channel_label, reachable_routes
from civicdesk.citizens.selectors import (
    citizen_ids_matching,
    contact_points_of,
    reachable_contact_points_of,
)
from civicdesk.core.errors import NotFound
from civicdesk.core.tokens import digest
from civicdesk.routing.selectors import team_queue_ids
from civicdesk.sla.services import ClockReading, Level, Marker, Target

if TYPE_CHECKING:
    from civicdesk.accounts.models import User

INBOX_VIEWS = ("mine", "team", "unassigned", "all")
SORTS = {
    "sla": (F("sla_due_at").asc(nulls_last=True), "-created_at"),
    "newest": ("-created_at",),
    "oldest": ("created_at",),
    "activity": (F("last_activity_at").desc(nulls_last=True),),
}
OPEN_STATUSES = [s.value for s in CaseStatus if s not in FINISHED]


@dataclass(frozen=True)
class InboxFilters:
    view: str = "mine"
    status: str = "open"  # "open" = every unfinished status, "" = any, or one status
    service_id: int | None = None
    channel: str = ""
    queue_id: int | None = None
    priority: str = ""
    search: str = ""
    sort: str = "sla"
    extra: dict[str, Any] = field(default_factory=dict)


def _visible_cases(user: User) -> QuerySet[Case]:
    # Every active member of staff sees every case for now; per-service visibility narrows this.
    if not user.is_active:
        return Case.objects.none()
    return Case.objects.all()


def inbox_queryset(*, user: User, filters: InboxFilters) -> QuerySet[Case]:
    query = _visible_cases(user).select_related("service", "citizen", "queue", "assignee")
    if filters.view == "mine":
        query = query.filter(assignee=user)
    elif filters.view == "team":
        query = query.filter(queue_id__in=_team_queue_ids(user))
    elif filters.view == "unassigned":
        query = query.filter(assignee__isnull=True)
    if filters.status == "open":
        query = query.filter(status__in=OPEN_STATUSES)
    elif filters.status:
        query = query.filter(status=filters.status)
    if filters.service_id:
        query = query.filter(service_id=filters.service_id)
    if filters.channel:
        query = query.filter(channel=filters.channel)
    if filters.queue_id:
        query = query.filter(queue_id=filters.queue_id)
    if filters.priority:
        query = query.filter(priority=filters.priority)
    if filters.search.strip():
        query = query.filter(_search_condition(filters.search.strip()))
    return query.order_by(*SORTS.get(filters.sort, SORTS["sla"]), "-id")


def _search_condition(term: str) -> Q:
    """What the inbox search finds, within every other filter: one WHERE, subqueries only.

    The exact reference; the term in the subject, the citizen's name or a written answer (where
    addresses live, see `answer_search`); the citizen's email or phone (`citizen_ids_matching`).
    No query of its own, so the inbox keeps its constant query count.
    """
    return (
        Q(reference__iexact=term)
        | Q(subject__icontains=term)
        | Q(citizen__full_name__icontains=term)
        | Q(citizen_id__in=citizen_ids_matching(term))
        | Q(AnswerTextContains(term))
    )


def inbox_page(
    *, user: User, filters: InboxFilters, page: int = 1, per_page: int = 25
) -> Page[Case]:
    """One page of the inbox: two queries (count and rows) whatever the page size."""
    paginator = Paginator(inbox_queryset(user=user, filters=filters), per_page)
    return paginator.get_page(page)


def inbox_counts(*, user: User) -> dict[str, int]:
    """Open cases per inbox view, in one query over the cases alone (no joins)."""
    open_cases = _visible_cases(user).filter(status__in=OPEN_STATUSES)
    return open_cases.aggregate(
        mine=Count("id", filter=Q(assignee=user)),
        team=Count("id", filter=Q(queue_id__in=_team_queue_ids(user))),
        unassigned=Count("id", filter=Q(assignee__isnull=True)),
        all=Count("id"),
    )


def _team_queue_ids(user: User) -> QuerySet[Any, int]:
    return team_queue_ids(user_id=user.pk)


def access_case_by_reference(user: User, reference: str) -> Case:
    case = (
        _visible_cases(user)
        .select_related("service", "citizen", "queue", "queue__team", "assignee")
        .filter(reference=reference.strip().upper())
        .first()
    )
    if case is None:
        raise NotFound(f"No case {reference}.")
    return case


def case_by_status_token(token: str) -> Case | None:
    """The case behind a private status link: found by the digest of its secret, or, for a
    signed link we sent later (see `cases.signed_links`), by the case it names while the
    link's current secret is the one it was signed for. One query; none for a forged one."""
    if not token or len(token) > _SIGNED_LINK_MAX_LENGTH:
        return None
    cases = Case.objects.select_related("service")
    if not is_signed(token):
        if len(token) > 64:
            return None
        return cases.filter(status_token_digest=digest(token)).first()
    named = read_signed_link(token)
    if named is None:
        return None
    case_id, prefix = named
    return cases.filter(pk=case_id, status_token_digest__startswith=prefix).first()


# A signed link: the case id, a digest prefix and the signature, well under this.
_SIGNED_LINK_MAX_LENGTH = 120


def case_by_status_token_digest(token_digest: str) -> Case | None:
    return Case.objects.select_related("citizen").filter(status_token_digest=token_digest).first()


def case_by_reference(reference: str) -> Case | None:
    return (
        Case.objects.select_related("service", "queue", "assignee", "citizen")
        .filter(reference=reference.strip().upper())
        .first()
    )


def references_opened_by(pairs: list[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which (reference, payload id) pairs name a case holding an entry from that payload: the
    payload was processed already. A case under the reference without one is another
    contact's (the reference was handed out twice)."""
    if not pairs:
        return set()
    rows = CaseEvent.objects.filter(
        case__reference__in={reference for reference, _ in pairs},
        payload_id__in={payload_id for _, payload_id in pairs},
    ).values_list("case__reference", "payload_id")
    return set(rows) & set(pairs)


def case_reference_from_payloads(payload_ids: list[int]) -> str:
    """The reference of the case that the earliest of these payloads opened or joined (the one
    holding an entry from it), or "": none of them became case work (yet). Sees the entries of
    the caller's own transaction too (a worker's batch)."""
    if not payload_ids:
        return ""
    found = (
        CaseEvent.objects.filter(payload_id__in=payload_ids)
        .order_by("payload_id", "id")
        .values_list("case__reference", flat=True)
        .first()
    )
    return found or ""


def timeline(*, case: Case, public_only: bool) -> QuerySet[CaseEvent]:
    """The case's entries in order. `public_only`: what its citizen may see (rows stored public,
    and never a note, whatever a row says); `cases.presenters` checks the kind once more."""
    events = CaseEvent.objects.filter(case=case).select_related(
        "author", "delivery", "case__citizen"
    )
    if public_only:
        events = events.filter(is_public=True).exclude(kind=NoteAdded.kind)
    return events.prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
    ).order_by("created_at", "id")


def citizen_cases(*, citizen_id: int, exclude_case_id: int | None = None) -> QuerySet[Case]:
    """Every case of a citizen, newest first, from any channel."""
    query = Case.objects.filter(citizen_id=citizen_id).select_related("service")
    if exclude_case_id:
        query = query.exclude(pk=exclude_case_id)
    return query.order_by("-created_at")


@dataclass(frozen=True)
class LinkedCases:
    """The cases linked to one: the closed case it follows up, and its own follow-ups."""

    follows: Case | None
    follow_ups: list[Case]

    def __bool__(self) -> bool:
        return self.follows is not None or bool(self.follow_ups)


def linked_cases(*, case: Case) -> LinkedCases:
    """Cases linked to `case` (one query, two when it follows another). Each page of the
    other case checks access again when it is opened."""
    follows = Case.objects.filter(pk=case.follows_id).first() if case.follows_id else None
    return LinkedCases(follows=follows, follow_ups=list(case.follow_ups.order_by("created_at")))


def recent_cases(*, limit: int = 20) -> QuerySet[Case]:
    return Case.objects.select_related("service", "queue", "assignee").order_by(
        "-created_at", "-id"
    )[:limit]


def case_listing(*, user: User, status: str = "", service_code: str = "") -> QuerySet[Case]:
    """Cases the user may see, newest first; `status` is one exact status, "" any."""
    query = _visible_cases(user).select_related("service", "citizen", "queue", "assignee")
    if status:
        query = query.filter(status=status)
    if service_code:
        query = query.filter(service__code=service_code)
    return query.order_by("-created_at", "-id")


def case_row(case: Case) -> dict[str, Any]:
    """The operator-facing summary of a case (CLI and API share it)."""
    return {
        "reference": case.reference,
        "channel": case.channel,
        "service": case.service.code if case.service else None,
        "status": case.status,
        "priority": case.priority,
        "queue": case.queue.name if case.queue else None,
        "assignee": case.assignee.email if case.assignee else None,
        "subject": case.subject,
        "created_at": case.created_at.isoformat(),
        "sla_due_at": case.sla_due_at.isoformat() if case.sla_due_at else None,
    }


@dataclass(frozen=True)
class AnsweredQuestion:
    code: str
    question: str
    answer: str


def answered_questions(*, case: Case) -> list[AnsweredQuestion]:
    """The case's answers beside the questions they answer, choices shown by name.

    One query for the service's questions (retired services included); answers to questions
    that no longer exist keep their code as the question.
    """
    answers = case.answers or {}
    if not answers:
        return []
    attributes = attributes_by_code(service_id=case.service_id)
    ordered = sorted(
        answers,
        key=lambda code: (attributes[code].order, code) if code in attributes else (10**6, code),
    )
    rows = []
    for code in ordered:
        attribute = attributes.get(code)
        value = answers[code]
        names = {str(v["key"]): str(v["name"]) for v in attribute.values} if attribute else {}
        values = value if isinstance(value, list) else [value]
        rows.append(
            AnsweredQuestion(
                code=code,
                question=attribute.description if attribute else code,
                answer=", ".join(names.get(str(v), str(v)) for v in values),
            )
        )
    return rows


def access_attachment_by_id(user: User, *, reference: str, attachment_id: int) -> Attachment:
    """An attachment of a case the user may see; NotFound for missing and forbidden alike."""
    attachment = (
        Attachment.objects.select_related("event__case")
        .filter(
            pk=attachment_id,
            event__case__in=_visible_cases(user),
            event__case__reference=reference.strip().upper(),
        )
        .first()
    )
    if attachment is None:
        raise NotFound(f"No attachment {attachment_id} on case {reference}.")
    return attachment


def public_attachment(*, case: Case, attachment_id: int) -> Attachment | None:
    """A file on one of the case's public messages (what its citizen may download), or None."""
    return Attachment.objects.filter(
        pk=attachment_id,
        event__case=case,
        event__is_public=True,
        event__kind__in=[MessageReceived.kind, ReplySent.kind],
    ).first()


def reply_routes(case: Case) -> list[ReplyRoute]:
    """The ways a reply on `case` can reach its citizen, best first (the case's own channel,
    account and identity first). Three queries. Empty: nobody can be reached by reply."""
    used: list[str] = []
    for channel in (
        CaseEvent.objects.filter(case=case, kind=MessageReceived.kind)
        .order_by("-created_at", "-id")
        .values_list("channel", flat=True)
    ):
        if channel and channel not in used:
            used.append(channel)
    if case.channel not in used:
        used.append(case.channel)
    # Points marked undeliverable (a hard bounce) are skipped: the reply takes the next one.
    contacts = [
        (point.kind, point.value)
        for point in reachable_contact_points_of(citizen_id=case.citizen_id).order_by(
            "-updated_at", "-id"
        )
    ]
    # The address the request came from first, whatever was added to the record since: the
    # record may hold an address another request tied to it (by a shared phone number),
    # which nothing proves reaches this case's citizen.
    identity = case.channel_identity.casefold()
    contacts.sort(key=lambda contact: contact[1].casefold() != identity)
    return reachable_routes(
        contacts=contacts,
        used_channels=used,
        preferred_channel=case.citizen.preferred_channel,
        default_channel=used[0],
        default_account_id=case.channel_account_id,
        default_identity=case.channel_identity,
    )


def unreachable_notice(case: Case) -> str:
    """Why no reply can reach this citizen, and what to do instead (call with no routes): the
    email address that bounced, when one did."""
    has_phone = contact_points_of(citizen_id=case.citizen_id).filter(kind="phone").exists()
    action = (
        _("phone them and record a note")
        if has_phone
        else _("write to them or see them in person, and record a note")
    )
    bounced = (
        contact_points_of(citizen_id=case.citizen_id)
        .filter(kind="email", undeliverable_at__isnull=False)
        .values_list("value", flat=True)
        .first()
    )
    if bounced:
        return _(
            "This citizen can't be reached by reply: mail to %(address)s bounced and no other "
            "channel reaches them — %(action)s, or mark the address deliverable once checked."
        ) % {"address": bounced, "action": action}
    return _(
        "This citizen can't be reached by reply: the case came by %(channel)s and we have "
        "no email address for them — %(action)s."
    ) % {"channel": channel_label(case.channel), "action": action}


def last_inbound_at(case: Case, *, channel: str) -> datetime | None:
    """When the citizen last wrote on the case in `channel` (reply windows count from it)."""
    return (
        CaseEvent.objects.filter(case=case, kind=MessageReceived.kind, channel=channel)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )


def reply_channel(case: Case) -> str:
    """Replies go back by the channel the citizen last wrote in."""
    last_in = (
        CaseEvent.objects.filter(case=case, kind=MessageReceived.kind)
        .order_by("-created_at", "-id")
        .values_list("channel", flat=True)
        .first()
    )
    return last_in or case.channel


# --- service-level clocks for pages (the inbox flag, the case's SLA panel) -------------------
# `sla_flag` is pure over the case's own columns, so the inbox shows it per row without a
# query: a clock in its warning time or breached has its marker recorded by the escalation job
# (within a minute), and a waiting case is paused. `sla_panel` reads the clocks with the
# calendar (`sla.services.review_clocks`, two queries) for one case's page.

FLAG_LABELS = {"paused": "Paused", "warning": "Warning", "breached": "Breached"}


def sla_flag(case: Case, *, now: datetime) -> str:
    """ "paused", "breached", "warning" or "" for the case; no query."""
    if case.status_value in FINISHED:
        return ""
    if case.sla_paused_at is not None:
        return "paused"
    running = {target for target, due in running_due_times(case).items() if due is not None}
    levels = set()
    for text in case.sla_escalated:
        marker = Marker.parse(text)
        if marker.target in running:
            levels.add(marker.level)
    if Level.BREACH in levels or (case.sla_due_at is not None and case.sla_due_at <= now):
        return "breached"
    return "warning" if Level.WARNING in levels else ""


@dataclass(frozen=True)
class ClockLine:
    label: str  # "First response", "Resolution"
    state: str  # running, paused, warning, breached
    remaining: timedelta  # business time; negative when overdue


@dataclass(frozen=True)
class SlaPanel:
    flag: str
    paused_at: datetime | None
    clocks: tuple[ClockLine, ...]


_LABELS = {Target.FIRST_RESPONSE: "First response", Target.RESOLUTION: "Resolution"}


def sla_panel(*, case: Case, now: datetime) -> SlaPanel:
    """The case's clocks at `now` in business time (paused: the time that will be left)."""
    readings: dict[Target, ClockReading] = review_case_clocks(case, now=now).readings
    clocks = tuple(
        ClockLine(_LABELS[target], readings[target].state.value, readings[target].remaining)
        for target in Target
        if target in readings
    )
    return SlaPanel(flag=sla_flag(case, now=now), paused_at=case.sla_paused_at, clocks=clocks)
