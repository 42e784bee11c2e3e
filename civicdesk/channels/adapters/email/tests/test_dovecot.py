"""The test IMAP server itself: mail in, flags read back, renumbered, stopped and started."""

from __future__ import annotations

import imaplib

from civicdesk.channels.adapters.email.tests.dovecot import Dovecot, TokenEndpoint

LETTER = b"From: ann@example.org\r\nSubject: Lamp\r\nMessage-ID: <l1@example.org>\r\n\r\nOut.\r\n"


def test_the_server_keeps_mail_and_flags_across_a_restart(dovecot_server: Dovecot) -> None:
    assert dovecot_server.append(LETTER) == 1
    assert dovecot_server.append(LETTER, flags="(\\Seen)") == 2
    assert dovecot_server.flags() == {1: set(), 2: {"\\Seen"}}
    dovecot_server.set_uidvalidity(42)
    dovecot_server.stop()
    dovecot_server.start()
    assert dovecot_server.uidvalidity() == 42
    assert dovecot_server.flags() == {1: set(), 2: {"\\Seen"}}


def test_imaps_and_starttls_present_the_test_certificate(dovecot_server: Dovecot) -> None:
    context = dovecot_server.tls_context()
    with imaplib.IMAP4_SSL("127.0.0.1", dovecot_server.tls_port, ssl_context=context) as imaps:
        assert imaps.login(dovecot_server.username, dovecot_server.password)[0] == "OK"
    with imaplib.IMAP4("127.0.0.1", dovecot_server.port) as plain:
        assert plain.starttls(ssl_context=context)[0] == "OK"
        assert plain.login(dovecot_server.username, dovecot_server.password)[0] == "OK"


def test_a_bearer_token_is_checked_at_the_token_endpoint() -> None:
    from civicdesk.channels.adapters.email.tests.dovecot import require_dovecot

    require_dovecot()
    with TokenEndpoint(tokens={"good"}) as endpoint, Dovecot(oauth2_url=endpoint.url) as server:
        for token, expected in (("good", "OK"), ("bad", "NO")):
            with imaplib.IMAP4("127.0.0.1", server.port) as session:
                sasl = f"user={server.username}\x01auth=Bearer {token}\x01\x01".encode()

                def answer(challenge: bytes, sasl: bytes = sasl) -> bytes:
                    return sasl

                try:
                    status = session.authenticate("XOAUTH2", answer)[0]
                except imaplib.IMAP4.error:
                    status = "NO"
                assert status == expected
        assert endpoint.asked == ["good", "bad"]
