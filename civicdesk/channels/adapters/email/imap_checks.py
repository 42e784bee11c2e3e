"""The IMAP half of an email account's "test connection": each step said in plain words.

DNS lookup, TCP connection, TLS handshake, sign-in, the folder: tried in that order, stopping
at the first that fails, whose detail says what is wrong and what to change. Never raises.
Costs: one name lookup, two connections to the server (one bare, one for the IMAP session),
each bounded by the account's `imap_timeout_seconds`.
"""

from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl

from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.imap_session import (
    close,
    connect,
    quoted,
    server_text,
    sign_in,
    tls_context,
)
from civicdesk.channels.contracts import ConnectionCheck

logger = logging.getLogger(__name__)

DNS = "DNS lookup"
TCP = "TCP connection"
TLS = "TLS handshake"
SIGN_IN = "Sign-in"
FOLDER = "Folder"
# A LIST answer: (\HasNoChildren) "." INBOX  or  (\HasNoChildren) "/" "Sent Items"
_LIST_ITEM = re.compile(r'^\([^)]*\) (?:"(?:[^"\\]|\\.)*"|NIL) (.+)$')


def _lookup(config: EmailConfig) -> ConnectionCheck:
    host, port = config.imap_host, config.imap_port_or_default
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:
        return ConnectionCheck(
            DNS, False, f"{host!r} is not a valid server name: check its spelling."
        )
    except OSError as exc:
        return ConnectionCheck(
            DNS,
            False,
            f"The name {host} could not be found ({exc.strerror or exc}): check its spelling, "
            "or ask the mail provider for the name of its IMAP server.",
        )
    addresses = ", ".join(dict.fromkeys(str(item[4][0]) for item in found))
    return ConnectionCheck(DNS, True, f"{host} is {addresses}.")


def _reach(config: EmailConfig) -> ConnectionCheck:
    host, port = config.imap_host, config.imap_port_or_default
    try:
        with socket.create_connection((host, port), timeout=config.imap_timeout_seconds):
            pass
    except ConnectionRefusedError:
        return ConnectionCheck(
            TCP,
            False,
            f"Nothing accepts connections on port {port} of {host}: check the port (993 for "
            "IMAPS, 143 for STARTTLS) and that the server is running.",
        )
    except TimeoutError:
        return ConnectionCheck(
            TCP,
            False,
            f"{host}:{port} did not answer within {config.imap_timeout_seconds:g} s: a "
            "firewall may be in the way, or the port is wrong.",
        )
    except OSError as exc:
        return ConnectionCheck(TCP, False, f"Could not connect to {host}:{port}: {exc}.")
    return ConnectionCheck(TCP, True, f"{host}:{port} accepts connections.")


def _certificate_problem(exc: ssl.SSLCertVerificationError, config: EmailConfig) -> str:
    reason = exc.verify_message or str(exc)
    if "self-signed" in reason or "self signed" in reason:
        plain = "it is self-signed"
    elif "expired" in reason:
        plain = "it has expired"
    elif "mismatch" in reason or "hostname" in reason.lower():
        plain = f"it was not issued for {config.imap_host}"
    elif "unable to get local issuer" in reason:
        plain = "it was issued by an authority this machine does not know"
    else:
        plain = reason
    return (
        f"The server's certificate is not trusted: {plain} ({reason}). Use the server's "
        "proper name, or give the certificate of the authority that issued it (imap_ca_file)."
    )


def _open(  # noqa: PLR0911 - one plain answer per way the handshake fails
    config: EmailConfig,
) -> tuple[imaplib.IMAP4 | None, ConnectionCheck]:
    """The IMAP session, encrypted as configured, and the TLS step's result."""
    try:
        context = tls_context(config)
    except (OSError, ssl.SSLError) as exc:
        return None, ConnectionCheck(
            TLS, False, f"The CA file {config.imap_ca_file} cannot be read: {exc}."
        )
    try:
        session = connect(config, context=context)
    except ssl.SSLCertVerificationError as exc:
        return None, ConnectionCheck(TLS, False, _certificate_problem(exc, config))
    except ssl.SSLError as exc:
        other = "starttls (port 143)" if config.imap_security == "tls" else "tls (port 993)"
        return None, ConnectionCheck(
            TLS,
            False,
            f"The TLS handshake failed ({exc.reason or exc}): the server may expect another "
            f"kind of connection on this port; try {other}.",
        )
    except imaplib.IMAP4.error as exc:
        text = server_text(exc)
        if config.imap_security == "starttls":
            text = f"the server does not offer STARTTLS ({text}); try tls (port 993)"
        return None, ConnectionCheck(TLS, False, f"The server did not start TLS: {text}.")
    except TimeoutError:
        return None, ConnectionCheck(
            TLS,
            False,
            f"The server did not greet within {config.imap_timeout_seconds:g} s: is it an "
            "IMAP server on this port?",
        )
    except OSError as exc:
        return None, ConnectionCheck(TLS, False, f"The connection failed: {exc}.")
    if config.imap_security == "none":
        return session, ConnectionCheck(TLS, True, "Not encrypted (a server on this machine).")
    version = session.sock.version() if isinstance(session.sock, ssl.SSLSocket) else "TLS"
    return session, ConnectionCheck(TLS, True, f"Encrypted ({version}); certificate trusted.")


def _sign_in(session: imaplib.IMAP4, config: EmailConfig) -> ConnectionCheck:
    by_token = config.imap_oauth2_token is not None
    try:
        sign_in(session, config)
    except imaplib.IMAP4.abort as exc:
        return ConnectionCheck(SIGN_IN, False, f"The server closed the connection: {exc}.")
    except imaplib.IMAP4.error as exc:
        said = server_text(exc)
        if by_token:
            return ConnectionCheck(
                SIGN_IN,
                False,
                f"The server refused the OAuth2 token for {config.imap_username} ({said}): "
                "it may have expired or lack mail access; get a new one.",
            )
        return ConnectionCheck(
            SIGN_IN,
            False,
            f"The server refused the sign-in for {config.imap_username} ({said}): the "
            "username or the password is wrong (some providers want an app password).",
        )
    how = "an OAuth2 token" if by_token else "a password"
    return ConnectionCheck(SIGN_IN, True, f"Signed in as {config.imap_username} with {how}.")


def _folders(session: imaplib.IMAP4) -> list[str]:
    status, data = session.list()
    names = []
    for item in data if status == "OK" else []:
        match = (
            _LIST_ITEM.match(item.decode("utf-8", "replace")) if isinstance(item, bytes) else None
        )
        if match:
            names.append(match.group(1).strip('"'))
    return names


def _folder(session: imaplib.IMAP4, config: EmailConfig) -> ConnectionCheck:
    folder = config.imap_folder
    status, _ = session.select(quoted(folder), readonly=True)
    if status != "OK":
        known = ", ".join(_folders(session)[:15]) or "none"
        return ConnectionCheck(
            FOLDER, False, f"There is no folder {folder!r} on the server; it has: {known}."
        )
    _, counts = session.response("EXISTS")
    waiting = int(counts[-1]) if counts and counts[-1] else 0
    detail = f"{folder} holds {waiting} message(s)."
    if config.imap_after_import == "move":
        target = config.imap_processed_folder
        status, _ = session.status(quoted(target), "(MESSAGES)")
        detail += (
            f" Imported mail moves to {target}."
            if status == "OK"
            else f" {target} does not exist yet: the first poll creates it."
        )
    return ConnectionCheck(FOLDER, True, detail)


def imap_connection_checks(config: EmailConfig) -> tuple[ConnectionCheck, ...]:
    """Try the account's IMAP server step by step; stop at the first step that fails."""
    if not config.imap_host:
        return (ConnectionCheck("IMAP", False, "No IMAP server is set for this account."),)
    checks: list[ConnectionCheck] = []
    try:
        for step in (_lookup, _reach):
            checks.append(step(config))
            if not checks[-1].ok:
                return tuple(checks)
        session, tls = _open(config)
        checks.append(tls)
        if session is None:
            return tuple(checks)
        try:
            checks.append(_sign_in(session, config))
            if checks[-1].ok:
                checks.append(_folder(session, config))
        finally:
            close(session)
    except Exception as exc:  # never past the boundary: say it as the last step
        logger.exception("IMAP connection check of %s failed unexpectedly", config.imap_host)
        failed = checks[-1].step if checks and not checks[-1].ok else "IMAP"
        checks.append(ConnectionCheck(failed, False, f"Unexpected error: {exc!r}."))
    return tuple(checks)
