"""The inbound pipeline: a channel message becomes case work.

identify the citizen → thread onto an open case or open one → classify → route → SLA clocks →
acknowledge a new case by message (`services.acknowledgement`) → live update after commit.
Called by the channels framework for each stored payload, inside its transaction: any error
rolls everything back (the acknowledgement too) and leaves the payload failed and replayable.
"""

from __future__ import annotations

import logging
from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from civicdesk.cases.kernels.status import ACCEPTS_CONTACT
from civicdesk.cases.models import Case
from civicdesk.cases.selectors import (
    case_by_reference,
    case_by_status_token_digest,
    case_reference_from_payloads,
    references_opened_by,
)
from civicdesk.cases.services import NewAttachment, open_case, record_citizen_message
from civicdesk.cases.services.acknowledgement import (
    acknowledge,
    acknowledgement_route,
    acknowledgement_token,
)
from civicdesk.cases.services.bounces import confirm_senders
from civicdesk.cases.services.links import link_follow_up
from civicdesk.cases.services.opening import NewCase
from civicdesk.cases.services.participants import add_participants
from civicdesk.cases.text_language import language_of
from civicdesk.catalogue.selectors import active_service_by_code, service_with_attributes
from civicdesk.catalogue.services import clean_answers
from civicdesk.channels.contracts import InboundMessage
from civicdesk.channels.selectors import (
    ThreadMatch,
    own_identities,
    provider_ids_name_the_message,
    same_message_payloads,
    sender_identity,
    senders_are_authenticated,
    thread_of_reply,
    threads_by_sender,
)
from civicdesk.channels.services import InboundOutcome
from civicdesk.citizens.selectors import citizen_has_contact_point
from civicdesk.citizens.services import ContactInput, add_contact_points, identify_citizen
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError, NotFound
from civicdesk.core.tokens import digest
from civicdesk.routing.services import classify_text

if TYPE_CHECKING:
    from civicdesk.catalogue.models import Service
    from civicdesk.citizens.models import Citizen

logger = logging.getLogger(__name__)


def handle_inbound_message(
    message: InboundMessage,
    payload_id: int | None = None,
    *,
    account_id: int | None = None,
    reference: str = "",
) -> InboundOutcome:
    """Turn one inbound message into case work; says which case, and whether it is new.

    `account_id`: the channel account the message came to. It and the sender's address on the
    channel are recorded on the message's entry and on the case, so replies go back the same
    way. `reference`: the one the sender was given on acknowledgement; a message that names no
    case opens its own case under it (never joins another), and a case already opened under it
    (the same payload processed twice) is answered as it stands.
    """
    if (
        payload_id is not None
        and provider_ids_name_the_message(message.channel)
        and (earlier := _case_of_copy(payload_id))
    ):
        # The same message came to another of our accounts (or over IMAP and SMTP) and is
        # case work already: one contact, answered as it stands, nothing written twice.
        return InboundOutcome(case_reference=earlier, opened=False, joined=False)
    names_case = bool(message.case_reference or message.reply_token_digest)
    reserved = bool(reference)
    if reference and not names_case and Case.objects.filter(reference=reference).exists():
        if payload_id is None or references_opened_by([(reference, payload_id)]):
            return InboundOutcome(case_reference=reference, opened=False, joined=False)
        # Another contact's case has it (a reference handed out twice): this message still
        # becomes a case, under a new reference, rather than vanish as "processed".
        logger.error(
            "Reference %s reserved for payload %s belongs to another case; opening the "
            "payload's case under a new reference",
            reference,
            payload_id,
        )
        reference = ""
    # No savepoint of its own: the caller's transaction (and the framework's savepoint per
    # payload) rolls everything back on an error.
    with transaction.atomic(savepoint=False):
        # One instant for the case's opening and the message's entry (and so no second write).
        at = message.received_at or now()
        contacts = [ContactInput(kind=c.kind, value=c.value) for c in message.sender]
        # A message from an address marked undeliverable proves it works again.
        confirm_senders([message])
        identity = sender_identity(message.channel, [(c.kind, c.value) for c in message.sender])
        opened = False
        ack_route = acknowledgement_route(message, account_id=account_id)
        token = ""
        case, follows = _case_named_by(message, contacts)
        if case is None:
            citizen = identify_citizen(
                contacts=contacts,
                full_name=message.sender_name,
                # A new citizen's language, when the channel did not say: the text's. A
                # known citizen keeps the language they chose (or were given).
                language=message.language or language_of(f"{message.subject}\n{message.body}"),
                channel=message.channel,
            )
            # A message about a closed case opens a case of its own, linked to that one.
            threads = may_thread(message) and not reserved and follows is None
            case = _open_case_of_sender(citizen, message) if threads else None
            if case is None:
                token = acknowledgement_token(ack_route)
                case = _open_new_case(
                    citizen,
                    message,
                    at=at,
                    reference=reference,
                    account_id=account_id,
                    identity=identity,
                    token_digest=digest(token) if token else "",
                )
                opened = True
                if follows is not None:
                    link_follow_up(case=case, follows=follows, at=at)
        elif contacts and _proven(message):
            # Whoever holds the private link, or staff, may tell us new ways to reach them.
            add_contact_points(citizen=case.citizen, contacts=contacts)
        # The people a message was copied to receive the case's replies: taken from a message
        # that opens the case or proves its sender, never from one anybody could have written
        # in the citizen's name (a guessed reference and a forged From would copy a stranger).
        # Another of our own addresses copied (the same mail to two of our accounts) is us,
        # not someone to copy replies to.
        ours = own_identities(message.channel) if message.participants else frozenset()
        copied = [(c.kind, c.value) for c in message.participants if c.value.casefold() not in ours]
        notes = message.notes
        if copied and not (opened or _proven(message) or _answers_our_message(message, case)):
            names = ", ".join(value for _, value in copied)
            notes = (
                *notes,
                f"Also sent to {names}: not added to the case, as nothing proves who sent it.",
            )
            copied = []
        record_citizen_message(
            case=case,
            body=message.body,
            channel=message.channel,
            author_label=message.sender_name or str(case.citizen),
            attachments=[
                NewAttachment(
                    filename=a.filename,
                    content_type=a.content_type,
                    content=a.content,
                    content_id=a.content_id,
                )
                for a in message.attachments
            ],
            payload_id=payload_id,
            at=at,
            account_id=account_id,
            identity=identity,
            lock=not opened,  # a case opened in this transaction is ours already
            quoted=message.quoted_text,
            notes=notes,
            body_html=message.body_html,
        )
        if copied:
            add_participants(case=case, contacts=copied, at=at)
        if opened and token and ack_route is not None:
            acknowledge(case, token=token, route=ack_route, sender_name=message.sender_name)
        return InboundOutcome(case_reference=case.reference, opened=opened, joined=not opened)


def _case_of_copy(payload_id: int) -> str:
    """The case another copy of the payload's message opened or joined, or "". On PostgreSQL
    this holds the message's lock until the caller's transaction ends (see
    `same_message_payloads`), so that two copies processed at once make one case."""
    copies = same_message_payloads(payload_ids=[payload_id]).get(payload_id, [])
    return case_reference_from_payloads(copies)


def may_thread(message: InboundMessage) -> bool:
    """Without a reserved reference, the message joins its sender's open case on the channel if
    there is one (a channel that threads by sender, a message asking for no service)."""
    return not message.service_code and threads_by_sender(message.channel)


def _proven(message: InboundMessage) -> bool:
    """The sender holds the case's private link, or is authenticated staff or an integration."""
    return bool(message.reply_token_digest) or senders_are_authenticated(message.channel)


def _answers_our_message(message: InboundMessage, case: Case) -> bool:
    """The message answers one of our own messages on `case` (by our Message-ID or the reply
    token it carried back, which only that message's recipients saw). One query, asked only of
    a message copied to others that joins a case."""
    if not (message.in_reply_to_ids or message.reply_address_token):
        return False
    thread = thread_of_reply(
        channel=message.channel,
        message_ids=message.in_reply_to_ids,
        reply_token=message.reply_address_token,
    )
    return thread is not None and thread.proven and thread.reference == case.reference


# What a message names: the case it joins, else the closed case it follows up (one past the
# reopen window, which a new case is linked to), else neither.
Named = tuple[Case | None, Case | None]


def _case_named_by(message: InboundMessage, contacts: list[ContactInput]) -> Named:
    """The case the message answers, when it names one it may answer (see `Named`).

    In order: the private status link's token; a reply to one of our own messages (its
    In-Reply-To/References, or the reply token it carried back: only the message's recipients
    saw those); the reference it quotes; a reply to an earlier message of the same
    conversation (ids its sender chose). References are short and sequential, so anyone could
    type one: a reference, or an id of the sender's own choosing, from an unauthenticated
    channel is honoured only when the sender is already one of the ways to reach that case's
    citizen; otherwise the message is treated as new contact, and says nothing about whether
    the case exists.
    """
    thread = None
    if message.in_reply_to_ids or message.reply_address_token:
        thread = thread_of_reply(
            channel=message.channel,
            message_ids=message.in_reply_to_ids,
            reply_token=message.reply_address_token,
        )
    if message.reply_token_digest:
        case = case_by_status_token_digest(message.reply_token_digest)
        if case is None:
            raise NotFound("The status link is not valid.")
        if case.status not in ACCEPTS_CONTACT:
            # The status page of a closed case offers a new request instead.
            raise DomainError(f"Case {case.reference} is closed; please start a new request.")
    elif thread is not None and thread.proven and (case := case_by_reference(thread.reference)):
        pass
    elif message.case_reference:
        case = case_by_reference(message.case_reference)
        if not _proven(message):
            if case is None or not _known_sender(case, contacts):
                return _case_of_conversation(thread, contacts)
        elif case is None:
            raise NotFound(f"No case {message.case_reference}.")
    else:
        return _case_of_conversation(thread, contacts)
    return _accepting_contact(case)


def _known_sender(case: Case, contacts: list[ContactInput]) -> bool:
    return citizen_has_contact_point(citizen_id=case.citizen_id, contacts=contacts)


def _case_of_conversation(thread: ThreadMatch | None, contacts: list[ContactInput]) -> Named:
    """The case of the earlier message a reply answers, if its sender is known on it."""
    if thread is None:
        return None, None
    case = case_by_reference(thread.reference)
    if case is None or not (thread.proven or _known_sender(case, contacts)):
        return None, None
    return _accepting_contact(case)


def _accepting_contact(case: Case) -> Named:
    """The case, if new contact may join it. A reply in a conversation (an email) to a closed
    case reopens it within CIVICDESK_REOPEN_WINDOW_DAYS of its closing; past it, the contact
    opens a new case for the same citizen, linked to this one as its follow-up."""
    if case.status in ACCEPTS_CONTACT:
        return case, None
    finished = case.resolved_at or case.last_activity_at
    window = timedelta(days=settings.CIVICDESK_REOPEN_WINDOW_DAYS)
    if finished is not None and now() - finished <= window:
        return case, None
    return None, case


def _open_case_of_sender(citizen: Citizen, message: InboundMessage) -> Case | None:
    window = timedelta(days=settings.CIVICDESK_THREAD_WINDOW_DAYS)
    return (
        Case.objects.filter(
            citizen=citizen,
            channel=message.channel,
            status__in=list(ACCEPTS_CONTACT),
            last_activity_at__gte=now() - window,
        )
        .order_by("-last_activity_at")
        .first()
    )


def _open_new_case(
    citizen: Citizen,
    message: InboundMessage,
    *,
    at: datetime,
    reference: str = "",
    account_id: int | None = None,
    identity: str = "",
    token_digest: str = "",
) -> Case:
    new = new_case_for(
        message, at=at, reference=reference, account_id=account_id, identity=identity
    )
    if token_digest:
        new = replace(new, status_token_digest=token_digest)
    return open_case(citizen=citizen, **{f.name: getattr(new, f.name) for f in fields(new)})


def new_case_for(
    message: InboundMessage,
    *,
    at: datetime,
    reference: str = "",
    account_id: int | None = None,
    identity: str = "",
) -> NewCase:
    """The case a message asks for: its service (named, with answers checked, or classified
    from the text), priority and subject. Raises DomainError for an unknown service or answers
    that do not fit."""
    service: Service | None = None
    priority = ""
    classified_by = ""
    answers: dict[str, object] = {}
    if message.service_code:
        service = service_with_attributes(code=message.service_code)
        if service is None:
            raise DomainError(f"Unknown service {message.service_code!r}.")
        answers = clean_answers(service=service, answers=message.answers)
    else:
        if message.answers:
            raise DomainError("Answers need a service_code to say which questions they answer.")
        classification = classify_text(text=f"{message.subject}\n{message.body}")
        if classification is not None:
            service = active_service_by_code(code=classification.service_code)
            priority = classification.priority
            if service is not None:
                classified_by = f"rule: {classification.rule_name}"
    subject = message.subject or _subject_from(message.body) or (service.name if service else "")
    return NewCase(
        channel=message.channel,
        subject=subject,
        service=service,
        answers=answers,
        priority=priority,
        status_token_digest=message.new_case_token_digest,
        language=message.language,
        opened_at=at,
        classified_by=classified_by,
        reference=reference,
        channel_account_id=account_id,
        channel_identity=identity,
    )


def _subject_from(body: str) -> str:
    first_line = body.strip().splitlines()[0] if body.strip() else ""
    return first_line[:80] + ("…" if len(first_line) > 80 else "")
