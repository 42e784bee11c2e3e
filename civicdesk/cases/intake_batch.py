"""The inbound pipeline for a worker's batch: its new requests at once, with set-based writes.

A payload acknowledged with a reserved reference (the portal, the API) that names no case opens
a case of its own, and so does one without a reference on a channel where it cannot join the
sender's open case (no threading by sender, or a service asked for): it takes the next reference
here, as `open_case` would, all the batch's in one statement. Nothing about such a payload
depends on another payload of the batch, so the batch's new requests are written together, as
`intake.handle_inbound_message` would write them one by one (the same services build each case,
its route, clocks and entries): one query for references already used, one for known contact
points, one INSERT each for new citizens, contact points, cases and timeline entries, one lock
and one read per team for the rota, one UPDATE for the agents given cases. Everything else
(replies naming a case, messages threading onto an open case, attachments, copied
participants, a message that reached another of our accounts too, anything invalid) is left to
the one-by-one handler, which records failures. New
cases on channels that acknowledge by message are acknowledged here as the one-by-one handler
would (`services.acknowledgement`), in the batch's savepoint: a batch that fails takes its
acknowledgements with it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from civicdesk.cases.events import CaseChange, MessageReceived
from civicdesk.cases.intake import may_thread, new_case_for
from civicdesk.cases.models import Case
from civicdesk.cases.selectors import references_opened_by
from civicdesk.cases.services.acknowledgement import (
    acknowledge,
    acknowledgement_route,
    acknowledgement_token,
)
from civicdesk.cases.services.bounces import confirm_senders
from civicdesk.cases.services.notices import NoticeRoute
from civicdesk.cases.services.opening import NewCase, opening_entries, prepare_case
from civicdesk.cases.services.references import next_references
from civicdesk.cases.services.timeline import add_entries, announce, build_entry, case_state
from civicdesk.cases.text_language import language_of
from civicdesk.channels.selectors import (
    provider_ids_name_the_message,
    same_message_payloads,
    sender_identity,
)
from civicdesk.channels.services import BatchItem, InboundOutcome
from civicdesk.citizens.services import (
    ContactInput,
    Person,
    identify_citizens,
    normalised_contacts,
)
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError
from civicdesk.core.tokens import digest
from civicdesk.routing.services import route_new_cases


@dataclass(frozen=True)
class _Plan:
    item: BatchItem
    new: NewCase
    person: Person
    at: datetime
    # The acknowledgement's route and the status link's secret ("" when none goes).
    ack_route: NoticeRoute | None = None
    token: str = ""


def _opens_its_own_case(item: BatchItem) -> bool:
    message = item.message
    # Attachments and copied participants are written by the one-by-one handler.
    if (
        message.case_reference
        or message.reply_token_digest
        or message.attachments
        or message.participants
    ):
        return False
    # A reply (an email's In-Reply-To/References, or the token of the reply address it was
    # sent to) may join the case it answers: the one-by-one handler decides.
    if message.in_reply_to_ids or message.reply_address_token:
        return False
    return bool(item.reference) or not may_thread(message)


def handle_inbound_batch(items: list[BatchItem]) -> dict[int, InboundOutcome]:
    """The outcome of each new request among `items`, by payload id; the others are left.

    Precondition: inside the caller's transaction (a savepoint: if anything here fails, the
    caller rolls it back and hands every item to the one-by-one handler)."""
    candidates = [item for item in items if _opens_its_own_case(item)]
    if not candidates:
        return {}
    # The same message that came to another of our accounts too (in this batch or not): the
    # one-by-one handler answers it with the case the other copy made. Those left hold their
    # message's lock (PostgreSQL) until the batch commits: a copy arriving meanwhile waits.
    copies = same_message_payloads(
        payload_ids=[
            item.payload_id
            for item in candidates
            if provider_ids_name_the_message(item.message.channel)
        ]
    )
    candidates = [item for item in candidates if item.payload_id not in copies]
    if not candidates:
        return {}
    reserved = [i.reference for i in candidates if i.reference]
    used = (
        set(Case.objects.filter(reference__in=reserved).values_list("reference", flat=True))
        if reserved
        else set()
    )
    processed = references_opened_by(
        [(i.reference, i.payload_id) for i in candidates if i.reference in used]
    )
    outcomes: dict[int, InboundOutcome] = {}
    plans: list[_Plan] = []
    for item in candidates:
        if (item.reference, item.payload_id) in processed:
            # Processed before (a second processing): answered as it stands, nothing written.
            outcomes[item.payload_id] = InboundOutcome(case_reference=item.reference)
        elif item.reference in used:
            pass  # another contact's case has the reference: the one-by-one handler says so
        elif (plan := _plan(item)) is not None:
            plans.append(plan)
        # else invalid: left to the one-by-one handler, which records why
    if not plans:
        return outcomes
    plans = _with_references(plans)
    confirm_senders([plan.item.message for plan in plans])
    identified = identify_citizens([plan.person for plan in plans])
    routes = route_new_cases(services=[plan.new.service for plan in plans])
    cases = [
        prepare_case(citizen, plan.new, route=route)
        for plan, (citizen, _), route in zip(plans, identified, routes, strict=True)
    ]
    Case.objects.bulk_create(cases)
    entries = []
    events: list[CaseChange] = []
    for plan, case, (_, named) in zip(plans, cases, identified, strict=True):
        message = plan.item.message
        opened, opening = opening_entries(case, at=plan.at)
        received = MessageReceived(
            **case_state(case),
            channel=message.channel,
            account_id=plan.item.account_id,
            identity=plan.new.channel_identity,
            quoted=message.quoted_text,
            notes=message.notes,
        )
        entries += [
            *opening,
            build_entry(
                case=case,
                event=received,
                at=plan.at,
                body=message.body,
                channel=message.channel,
                author_label=message.sender_name or named,
                payload_id=plan.item.payload_id,
                body_html=message.body_html,
            ),
        ]
        events += [opened, received]
        outcomes[plan.item.payload_id] = InboundOutcome(
            case_reference=case.reference, opened=True, joined=False
        )
    add_entries(entries)
    for plan, case in zip(plans, cases, strict=True):
        if plan.token and plan.ack_route is not None:
            sender_name = plan.item.message.sender_name
            acknowledge(case, token=plan.token, route=plan.ack_route, sender_name=sender_name)
    for event in events:
        announce(event)
    return outcomes


def _with_references(plans: list[_Plan]) -> list[_Plan]:
    """The plans, those without a reserved reference given the next ones, in arrival order."""
    unreferenced = [plan for plan in plans if not plan.new.reference]
    if not unreferenced:
        return plans
    fresh = dict(
        zip(
            (id(plan) for plan in unreferenced),
            next_references(at=[plan.at for plan in unreferenced]),
            strict=True,
        )
    )
    return [
        replace(plan, new=replace(plan.new, reference=fresh[id(plan)]))
        if id(plan) in fresh
        else plan
        for plan in plans
    ]


def _plan(item: BatchItem) -> _Plan | None:
    """What the item's case will be, or None when it is invalid (nothing is written here)."""
    message = item.message
    at = message.received_at or now()
    contacts = [ContactInput(kind=c.kind, value=c.value) for c in message.sender]
    identity = sender_identity(message.channel, [(c.kind, c.value) for c in message.sender])
    try:
        normalised_contacts(contacts)
        new = new_case_for(
            message, at=at, reference=item.reference, account_id=item.account_id, identity=identity
        )
    except DomainError:
        return None
    ack_route = acknowledgement_route(message, account_id=item.account_id)
    token = acknowledgement_token(ack_route)
    if token:
        new = replace(new, status_token_digest=digest(token))
    person = Person(
        contacts=contacts,
        full_name=message.sender_name,
        # As the one-by-one handler: a new citizen's language, when the channel did not say.
        language=message.language or language_of(f"{message.subject}\n{message.body}"),
        channel=message.channel,
    )
    return _Plan(item=item, new=new, person=person, at=at, ack_route=ack_route, token=token)
