"""A signed-in IMAP session for an email account, and IMAP's faults said in plain words.

The standard library's imaplib: maintained with Python itself, it speaks IMAPS, STARTTLS,
UID commands and SASL (`authenticate`, for XOAUTH2), which is all polling needs. imaplib does
not parse FETCH answers, though: IMAPClient's response parser (maintained, written for
imaplib's raw pieces) does that (`imap_polling._fetch`). IMAPClient's client itself, a
friendlier layer over this same imaplib, would change nothing the few commands here need.
"""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from civicdesk.channels.adapters.email.config import EmailConfig


class ImapError(Exception):
    """The mailbox could not be read; the message says why, for the administrator. Every
    such fault is temporary as far as polling goes: the next poll tries again."""


def tls_context(config: EmailConfig) -> ssl.SSLContext:
    """The system's trusted certificates, plus the account's own CA file when it has one."""
    context = ssl.create_default_context()
    if config.imap_ca_file:
        context.load_verify_locations(cafile=config.imap_ca_file)
    return context


def xoauth2_response(username: str, token: str) -> bytes:
    """The client's XOAUTH2 SASL message (before base64, which imaplib adds): the account
    and its bearer token, as Google and Microsoft specify it."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01".encode()


def _xoauth2(username: str, token: str) -> Callable[[bytes], bytes]:
    """The SASL exchange: our message first; to the server's error challenge (a JSON report
    that precedes its NO) an empty answer, as the mechanism requires."""
    sent: list[bool] = []

    def answer(challenge: bytes) -> bytes:
        if sent:
            return b""
        sent.append(True)
        return xoauth2_response(username, token)

    return answer


def connect(config: EmailConfig, *, context: ssl.SSLContext | None = None) -> imaplib.IMAP4:
    """An IMAP connection to the account's server, encrypted as configured; not signed in."""
    host, port = config.imap_host, config.imap_port_or_default
    timeout = config.imap_timeout_seconds
    context = context or tls_context(config)
    if config.imap_security == "tls":
        return imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
    session = imaplib.IMAP4(host, port, timeout=timeout)
    if config.imap_security == "starttls":
        try:
            session.starttls(ssl_context=context)
        except BaseException:
            session.shutdown()
            raise
    return session


def sign_in(session: imaplib.IMAP4, config: EmailConfig) -> None:
    """Sign in with the account's OAuth2 token (XOAUTH2) or password; imaplib.IMAP4.error
    when the server refuses."""
    if config.imap_oauth2_token is not None:
        token = config.imap_oauth2_token.get_secret_value()
        session.authenticate("XOAUTH2", _xoauth2(config.imap_username, token))
    else:
        password = config.imap_password.get_secret_value() if config.imap_password else ""
        session.login(config.imap_username, password)


def _refresh_capabilities(session: imaplib.IMAP4) -> None:
    """What the server offers once signed in (MOVE, UIDPLUS), which many servers say only
    then; imaplib keeps the list from before the sign-in."""
    status, data = session.capability()
    if status == "OK" and data and isinstance(data[-1], bytes):
        session.capabilities = tuple(data[-1].decode().upper().split())


def quoted(folder: str) -> str:
    """A folder name as an IMAP quoted string."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def imap_session(config: EmailConfig) -> Iterator[imaplib.IMAP4]:
    """A signed-in session, logged out (or dropped) afterwards. Faults become ImapError."""
    try:
        session = connect(config)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(describe(exc, config)) from exc
    try:
        try:
            sign_in(session, config)
        except imaplib.IMAP4.abort as exc:
            raise ImapError(describe(exc, config)) from exc
        except imaplib.IMAP4.error as exc:
            raise ImapError(
                f"the server refused the sign-in of {config.imap_username}: {server_text(exc)}"
            ) from exc
        _refresh_capabilities(session)
        yield session
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise ImapError(describe(exc, config)) from exc
    finally:
        close(session)


def close(session: imaplib.IMAP4) -> None:
    """Log out, and close the socket even when LOGOUT cannot be sent (a lost connection:
    imaplib then leaves it open)."""
    with suppress(OSError, imaplib.IMAP4.error):
        session.logout()
    with suppress(OSError):
        session.shutdown()


def server_text(exc: BaseException) -> str:
    """What the server said, without the bytes' b'' wrapping."""
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return str(text)


def describe(exc: BaseException, config: EmailConfig) -> str:  # noqa: PLR0911 - a sentence each
    """A connection fault in plain words, naming the server."""
    where = f"{config.imap_host}:{config.imap_port_or_default}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the certificate of {where} is not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake with {where} failed: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"the name {config.imap_host} could not be looked up ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection (is the server running, is the port right?)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{where} did not answer within {config.imap_timeout_seconds:g} s"
    if isinstance(exc, imaplib.IMAP4.abort | ConnectionError):
        return f"the connection to {where} was lost ({server_text(exc)})"
    if isinstance(exc, imaplib.IMAP4.error):
        return f"{where} answered with an error: {server_text(exc)}"
    return f"{where}: {exc}"
