"""A message whose channel did not say its language is answered in the language it is written in."""

from __future__ import annotations

from typing import Any

import pytest

from civicdesk.cases.models import Case
from civicdesk.cases.text_language import language_of
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.models import OutboundDelivery
from civicdesk.channels.services import accept_inbound, ensure_account, process_waiting
from civicdesk.citizens.models import Citizen, ContactPoint

HELP = "help@riverton.example"
ANN = "ann.lee@example.org"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bin not emptied.", "en"),
        ("Lamp out on Elm Avenue\nThe lamp on Elm Avenue is out.", "en"),
        ("My bin was not collected.", "en"),
        ("Thanks", "en"),
        ("Bec stricat pe strada Ulmilor\nBecul nu mai funcționează. Mulțumesc!", "ro"),
        ("Bec stricat pe strada Ulmilor\nBecul nu mai functioneaza. Multumesc!", "ro"),
        ("Nu merge lumina", "ro"),
        ("Gunoiul nu a fost ridicat", "ro"),
        ("Groapa in asfalt", "ro"),
        ("Mulțumesc", "ro"),
        ("Multumesc", "ro"),
        ("", ""),
        ("  \n ", ""),
        ("12345", ""),
    ],
)
def test_the_language_of_a_short_text_among_ours(text: str, expected: str) -> None:
    assert language_of(text) == expected


def test_only_the_languages_we_serve_are_detected(settings: Any) -> None:
    # German text, and German not served: never answered in German, never guessed from it.
    assert language_of("Die Straßenlaterne ist kaputt, bitte reparieren.") in ("en", "ro", "")
    settings.LANGUAGES = [("en", "English")]
    assert language_of("Becul nu mai functioneaza") == ""  # one language: nothing to choose


def _mail(body: str, *, subject: str, message_id: str, **headers: str) -> RawPayload:
    extra = [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    lines = [f"From: Ann Lee <{ANN}>", f"To: {HELP}", f"Subject: {subject}",
             f"Message-ID: <{message_id}>", "Content-Type: text/plain; charset=utf-8",
             *extra]  # fmt: skip
    raw = ("\r\n".join(lines) + f"\r\n\r\n{body}\r\n").encode()
    return RawPayload(
        body=raw, content_type="message/rfc822", headers={"x-civicdesk-envelope-to": HELP}
    )


ROMANIAN = ("Bec stricat", "Buna ziua, becul de pe strada Ulmilor nu mai functioneaza. Multumesc!")


def _receive(*, message_id: str, text: tuple[str, str] = ROMANIAN, **headers: str) -> Case:
    account = ensure_account(kind="email", name="Help desk", values={"address": HELP})
    subject, body = text
    raw = _mail(body, subject=subject, message_id=message_id, **headers)
    accept_inbound(channel="email", raw=raw, account=account, verified=True)
    while process_waiting(limit=50):
        pass
    return Case.objects.get(subject=subject)


def _acknowledgement(case: Case) -> str:
    return OutboundDelivery.objects.get(thread_reference=case.reference, is_automatic=True).subject


@pytest.mark.django_db
def test_a_new_citizen_writing_romanian_without_content_language_is_answered_in_romanian(
    riverton: Any, settings: Any
) -> None:
    settings.TASK_BACKEND = "database"  # the batch path
    case = _receive(message_id="ro-1@example.ro")
    assert case.language == "ro"
    assert case.citizen.preferred_language == "ro"
    assert _acknowledgement(case).startswith("Am primit solicitarea dumneavoastră")


@pytest.mark.django_db
def test_a_new_citizen_writing_english_is_answered_in_english(riverton: Any, settings: Any) -> None:
    settings.TASK_BACKEND = "database"
    case = _receive(
        message_id="en-1@example.org", text=("Lamp out", "The lamp on Elm Avenue is out.")
    )
    assert (case.language, case.citizen.preferred_language) == ("en", "en")
    assert _acknowledgement(case).startswith("We have received your request")


@pytest.mark.django_db
def test_the_one_by_one_path_detects_too(riverton: Any, settings: Any) -> None:
    """A copied participant sends the message through the one-by-one handler."""
    settings.TASK_BACKEND = "database"
    case = _receive(message_id="ro-2@example.ro", Cc="vecin@example.ro")
    assert (case.language, case.citizen.preferred_language) == ("ro", "ro")
    assert _acknowledgement(case).startswith("Am primit solicitarea dumneavoastră")


@pytest.mark.django_db
def test_a_known_citizens_chosen_language_wins_over_the_texts(riverton: Any, settings: Any) -> None:
    settings.TASK_BACKEND = "database"
    ann = Citizen.objects.create(full_name="Ann Lee", preferred_language="en")
    ContactPoint.objects.create(citizen=ann, kind="email", value=ANN)
    case = _receive(message_id="ro-3@example.ro")
    assert case.citizen == ann
    assert case.language == "en"
    assert Citizen.objects.get(pk=ann.pk).preferred_language == "en"
    assert _acknowledgement(case).startswith("We have received your request")


@pytest.mark.django_db
def test_the_channels_word_wins_over_the_texts(riverton: Any, settings: Any) -> None:
    settings.TASK_BACKEND = "database"
    case = _receive(message_id="ro-4@example.ro", Content_Language="en-GB")
    assert (case.language, case.citizen.preferred_language) == ("en", "en")
