"""The "test connection" of sending, against real servers on loopback: an SMTP sink with
STARTTLS or SMTPS on a self-signed certificate and login, a plain sink, a port where nothing
listens, a name that cannot resolve, and the outbox folder when no server is set."""

from __future__ import annotations

import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from civicdesk.channels.adapters.email import EmailAdapter
from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.connection_checks import smtp_connection_checks
from civicdesk.channels.adapters.email.tests.tls_sink import (
    PASSWORD,
    USERNAME,
    SinkHandler,
    TlsSink,
    free_port,
)
from civicdesk.channels.contracts import ConnectionCheck

HELP = "help@riverton.example"


def relay(port: int, **values: Any) -> EmailConfig:
    settings: dict[str, Any] = {
        "address": HELP,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "starttls",
        "smtp_username": USERNAME,
        "smtp_password": SecretStr(PASSWORD),
        "smtp_timeout_seconds": 5,
    }
    settings.update(values)
    return EmailConfig(**settings)


def steps(checks: tuple[ConnectionCheck, ...]) -> list[tuple[str, bool]]:
    return [(check.step, check.ok) for check in checks]


@pytest.fixture
def starttls(tmp_path: Path) -> Iterator[TlsSink]:
    with TlsSink(tmp_path, mode="starttls") as sink:
        yield sink


@pytest.fixture
def plain_sink() -> Iterator[int]:
    """An SMTP server that offers neither STARTTLS nor AUTH (a local relay)."""
    port = free_port()
    controller = Controller(SinkHandler(), hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def test_starttls_with_the_right_password_passes_every_step(starttls: TlsSink) -> None:
    checks = EmailAdapter().check_connection(relay(starttls.port, smtp_ca_file=str(starttls.cert)))
    assert steps(checks) == [
        ("Name lookup", True),
        ("Connection", True),
        ("SMTP greeting", True),
        ("Encryption (TLS)", True),
        ("Sign-in", True),
    ]
    assert checks[0].detail == "127.0.0.1 is 127.0.0.1."
    assert checks[-1].detail == "Signed in as 'civicdesk'."
    assert starttls.handler.received == []  # nothing was sent


def test_smtps_passes_with_tls_before_the_greeting(tmp_path: Path) -> None:
    with TlsSink(tmp_path, mode="tls") as sink:
        checks = smtp_connection_checks(
            relay(sink.port, smtp_security="tls", smtp_ca_file=str(sink.cert))
        )
    assert steps(checks) == [
        ("Name lookup", True),
        ("Connection", True),
        ("Encryption (TLS)", True),
        ("SMTP greeting", True),
        ("Sign-in", True),
    ]


def test_a_wrong_password_is_said_plainly_and_stops_there(starttls: TlsSink) -> None:
    checks = smtp_connection_checks(
        relay(starttls.port, smtp_ca_file=str(starttls.cert), smtp_password=SecretStr("nope"))
    )
    assert steps(checks)[-1] == ("Sign-in", False)
    assert checks[-1].detail.startswith(
        "The server refused the user name or password for 'civicdesk' (535 "
    )
    assert checks[-1].detail.endswith("Enter them again.")


def test_an_untrusted_certificate_is_said_plainly(starttls: TlsSink) -> None:
    checks = smtp_connection_checks(relay(starttls.port))
    assert steps(checks) == [
        ("Name lookup", True),
        ("Connection", True),
        ("SMTP greeting", True),
        ("Encryption (TLS)", False),
    ]
    assert checks[-1].detail.startswith(
        "The server's certificate is not trusted (self-signed). Set the account's CA file"
    )


def test_a_certificate_for_another_name_is_said_plainly(starttls: TlsSink) -> None:
    # The certificate is for 127.0.0.1; "localhost" reaches the same server by another name.
    checks = smtp_connection_checks(
        relay(starttls.port, smtp_host="localhost", smtp_ca_file=str(starttls.cert))
    )
    assert steps(checks)[-1] == ("Encryption (TLS)", False)
    assert checks[-1].detail.startswith("The server's certificate is not for 'localhost'")


def test_smtps_against_a_starttls_port_says_to_change_the_security(starttls: TlsSink) -> None:
    checks = smtp_connection_checks(relay(starttls.port, smtp_security="tls"))
    assert steps(checks)[-1] == ("Encryption (TLS)", False)
    assert checks[-1].detail.startswith(f"The TLS handshake with 127.0.0.1:{starttls.port} failed")
    assert "set security to 'starttls'" in checks[-1].detail


def test_a_server_without_starttls_or_auth_is_said_plainly(plain_sink: int) -> None:
    no_tls = smtp_connection_checks(relay(plain_sink))
    assert steps(no_tls)[-1] == ("Encryption (TLS)", False)
    assert no_tls[-1].detail.startswith(
        f"The server on 127.0.0.1:{plain_sink} does not offer STARTTLS."
    )
    no_auth = smtp_connection_checks(relay(plain_sink, smtp_security="none"))
    assert steps(no_auth)[-2:] == [("Encryption (TLS)", True), ("Sign-in", False)]
    assert no_auth[-1].detail.startswith("The server does not offer sign-in (AUTH)")
    relay_only = smtp_connection_checks(
        relay(plain_sink, smtp_security="none", smtp_username="", smtp_password=None)
    )
    assert all(check.ok for check in relay_only)
    assert relay_only[-1].detail.startswith("No user name is set")


def test_a_port_where_nothing_listens_is_refused() -> None:
    port = free_port()
    checks = smtp_connection_checks(relay(port))
    assert steps(checks) == [("Name lookup", True), ("Connection", False)]
    assert checks[-1].detail == (
        f"Nothing accepts connections on 127.0.0.1:{port} (refused). Check the port "
        "(587 for STARTTLS, 465 for TLS) and that the mail server is running."
    )


def test_a_name_that_does_not_resolve_fails_the_lookup() -> None:
    checks = smtp_connection_checks(relay(25, smtp_host="smtp.riverton.invalid"))
    assert steps(checks) == [("Name lookup", False)]
    assert checks[0].detail.startswith("The name 'smtp.riverton.invalid' cannot be found (DNS: ")


def test_a_missing_ca_file_is_said_before_any_handshake(starttls: TlsSink, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    checks = smtp_connection_checks(relay(starttls.port, smtp_ca_file=str(missing)))
    assert steps(checks)[-1] == ("Encryption (TLS)", False)
    assert checks[-1].detail.startswith(f"The CA file {str(missing)!r} cannot be read")


def test_without_a_server_the_outbox_folder_is_checked(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    [check] = EmailAdapter().check_connection(EmailConfig(address=HELP, outbox_dir=str(folder)))
    assert check == ConnectionCheck(
        "Outbox folder",
        ok=True,
        detail=f"No SMTP server is set: replies are written as .eml files to the outbox "
        f"folder {folder}, not sent. The folder can be written to.",
    )
    assert folder.is_dir()
    assert list(folder.iterdir()) == []  # the probe file is gone


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_outbox_folder_that_cannot_be_written_fails(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        [check] = smtp_connection_checks(EmailConfig(address=HELP, outbox_dir=str(folder)))
    finally:
        folder.chmod(stat.S_IRWXU)
    assert not check.ok
    assert "That folder cannot be written to: Permission denied." in check.detail


def test_an_outbox_path_that_is_a_file_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("not a folder")
    [check] = smtp_connection_checks(EmailConfig(address=HELP, outbox_dir=str(blocker)))
    assert not check.ok
    assert "That folder cannot be written to: File exists." in check.detail


def test_a_port_that_accepts_but_never_greets_times_out_at_the_greeting() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        started = time.monotonic()
        checks = smtp_connection_checks(relay(port, smtp_timeout_seconds=0.5))
        elapsed = time.monotonic() - started
    assert steps(checks) == [("Name lookup", True), ("Connection", True), ("SMTP greeting", False)]
    assert checks[-1].detail.startswith(
        f"127.0.0.1:{port} accepted the connection but did not greet as a mail server ("
    )
    assert elapsed < 3
