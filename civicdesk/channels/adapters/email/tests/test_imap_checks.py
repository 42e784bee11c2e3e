"""The IMAP "test connection" steps, each failure against a real server (or a real absence
of one) on loopback, said in plain words; never an exception."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.imap_checks import imap_connection_checks
from civicdesk.channels.adapters.email.imap_session import xoauth2_response
from civicdesk.channels.adapters.email.tests.dovecot import Dovecot
from civicdesk.channels.adapters.email.tests.tls_sink import free_port


def config(server: Dovecot, **values: Any) -> EmailConfig:
    settings: dict[str, Any] = {
        "address": "help@riverton.example",
        "imap_host": "127.0.0.1",
        "imap_port": server.port,
        "imap_security": "starttls",
        "imap_ca_file": str(server.cert),
        "imap_username": server.username,
        "imap_password": server.password,
        "imap_timeout_seconds": 3,
        **values,
    }
    return EmailConfig.model_validate(settings)


def steps(checks: tuple[Any, ...]) -> list[tuple[str, bool]]:
    return [(check.step, check.ok) for check in checks]


def test_every_step_passes_on_a_good_account(dovecot_server: Dovecot) -> None:
    dovecot_server.append(b"From: a@example.org\r\nSubject: x\r\n\r\nx\r\n")
    checks = imap_connection_checks(config(dovecot_server))
    assert steps(checks) == [
        ("DNS lookup", True),
        ("TCP connection", True),
        ("TLS handshake", True),
        ("Sign-in", True),
        ("Folder", True),
    ]
    assert checks[0].detail == "127.0.0.1 is 127.0.0.1."
    assert checks[2].detail.startswith("Encrypted (TLSv1.")
    assert checks[4].detail == "INBOX holds 1 message(s)."


def test_a_name_that_cannot_exist_fails_the_lookup(dovecot_server: Dovecot) -> None:
    # An empty label: refused before any query leaves the machine.
    checks = imap_connection_checks(config(dovecot_server, imap_host="imap..riverton.example"))
    assert steps(checks) == [("DNS lookup", False)]
    assert checks[0].detail == (
        "'imap..riverton.example' is not a valid server name: check its spelling."
    )


def test_a_port_nobody_listens_on_fails_the_connection(dovecot_server: Dovecot) -> None:
    port = free_port()
    checks = imap_connection_checks(config(dovecot_server, imap_port=port))
    assert steps(checks) == [("DNS lookup", True), ("TCP connection", False)]
    assert checks[1].detail.startswith(f"Nothing accepts connections on port {port} of 127.0.0.1")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        yield int(server.getsockname()[1])


def test_a_server_that_never_greets_fails_the_handshake(
    dovecot_server: Dovecot, silent_port: int
) -> None:
    checks = imap_connection_checks(
        config(dovecot_server, imap_port=silent_port, imap_timeout_seconds=0.5)
    )
    assert steps(checks)[-1] == ("TLS handshake", False)
    assert "did not greet within 0.5 s" in checks[-1].detail


def test_an_untrusted_certificate_is_said_plainly(dovecot_server: Dovecot) -> None:
    checks = imap_connection_checks(
        config(
            dovecot_server, imap_security="tls", imap_port=dovecot_server.tls_port, imap_ca_file=""
        )
    )
    assert steps(checks)[-1] == ("TLS handshake", False)
    assert checks[-1].detail.startswith(
        "The server's certificate is not trusted: it is self-signed"
    )


def test_tls_on_a_plain_port_suggests_the_other_security(dovecot_server: Dovecot) -> None:
    checks = imap_connection_checks(config(dovecot_server, imap_security="tls"))
    assert steps(checks)[-1] == ("TLS handshake", False)
    assert "try starttls (port 143)" in checks[-1].detail


def test_a_wrong_password_is_said_plainly(dovecot_server: Dovecot) -> None:
    checks = imap_connection_checks(config(dovecot_server, imap_password="not-it"))
    assert steps(checks)[-1] == ("Sign-in", False)
    assert checks[-1].detail == (
        "The server refused the sign-in for help@riverton.example ([AUTHENTICATIONFAILED] "
        "Authentication failed.): the username or the password is wrong (some providers "
        "want an app password)."
    )


def test_a_missing_folder_names_the_ones_there(dovecot_server: Dovecot) -> None:
    checks = imap_connection_checks(config(dovecot_server, imap_folder="Citizens"))
    assert steps(checks)[-1] == ("Folder", False)
    assert checks[-1].detail == "There is no folder 'Citizens' on the server; it has: INBOX."


def test_an_account_without_imap_says_so() -> None:
    checks = imap_connection_checks(EmailConfig(address="help@riverton.example"))
    assert steps(checks) == [("IMAP", False)]


def test_the_xoauth2_message_is_exactly_as_specified() -> None:
    assert xoauth2_response("help@riverton.example", "ya29.token") == (
        b"user=help@riverton.example\x01auth=Bearer ya29.token\x01\x01"
    )
