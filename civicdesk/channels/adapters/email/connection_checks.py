"""The admin's "test connection" for sending: each step of reaching the account's SMTP server,
said in plain words (name lookup, connection, greeting, TLS, sign-in), or, without a server,
whether the outbox folder takes files.

Steps run in the order a real send takes them and stop at the first that fails, so the last
check says what to fix. Every step uses the account's own timeout; nothing is sent (the
session ends with QUIT after the sign-in). Costs: one name lookup and two TCP connections.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Callable

from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.sending import outbox_folder
from civicdesk.channels.contracts import ConnectionCheck

logger = logging.getLogger(__name__)

NAME_LOOKUP = "Name lookup"
CONNECTION = "Connection"
GREETING = "SMTP greeting"
TLS = "Encryption (TLS)"
SIGN_IN = "Sign-in"
OUTBOX = "Outbox folder"

# OpenSSL's verify codes for the failures an administrator can act on.
_SELF_SIGNED = {18, 19}
_UNKNOWN_ISSUER = {2, 20, 21}
_EXPIRED = {10}
_NOT_YET_VALID = {9}
_WRONG_NAME = {62, 64}  # host name mismatch, IP address mismatch


class _Stop(Exception):
    """A step failed; its check is the last one."""

    def __init__(self, check: ConnectionCheck) -> None:
        super().__init__(check.detail)
        self.check = check


def smtp_connection_checks(config: EmailConfig) -> tuple[ConnectionCheck, ...]:
    """The sending side's checks, in order; the last one failed if any did. Never raises."""
    if not config.smtp_host:
        return (_outbox_check(config),)
    checks: list[ConnectionCheck] = []
    try:
        _run(config, checks.append)
    except _Stop as stop:
        checks.append(stop.check)
    except Exception as exc:  # a bug here must not take the admin page down
        logger.exception("SMTP connection check of %s failed unexpectedly", config.smtp_host)
        checks.append(ConnectionCheck("SMTP", ok=False, detail=f"Unexpected error: {exc!r}"))
    return tuple(checks)


def _where(config: EmailConfig) -> str:
    return f"{config.smtp_host}:{config.smtp_port}"


def _run(config: EmailConfig, done: Callable[[ConnectionCheck], None]) -> None:
    done(_look_up(config))
    done(_connect(config))
    context = _tls_context(config) if config.smtp_security != "none" else None
    client = _open(config, context)
    try:
        if config.smtp_security == "tls":
            done(ConnectionCheck(TLS, ok=True, detail=f"TLS from the start with {_where(config)}."))
        done(_greeted(client, config))
        if config.smtp_security == "starttls":
            assert context is not None
            done(_start_tls(client, config, context))
        elif config.smtp_security == "none":
            done(
                ConnectionCheck(
                    TLS,
                    ok=True,
                    detail="Not encrypted (security is 'none'): use this only for a relay "
                    "on the same machine.",
                )
            )
        done(_sign_in(client, config))
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def _look_up(config: EmailConfig) -> ConnectionCheck:
    host = config.smtp_host
    try:
        infos = socket.getaddrinfo(host, config.smtp_port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _Stop(
            ConnectionCheck(
                NAME_LOOKUP,
                ok=False,
                detail=f"The name {host!r} cannot be found (DNS: {_reason(exc)}). "
                "Check the SMTP host name for typing mistakes.",
            )
        ) from None
    addresses = ", ".join(dict.fromkeys(str(info[4][0]) for info in infos))
    return ConnectionCheck(NAME_LOOKUP, ok=True, detail=f"{host} is {addresses}.")


def _connect(config: EmailConfig) -> ConnectionCheck:
    timeout = config.smtp_timeout_seconds
    try:
        with socket.create_connection((config.smtp_host, config.smtp_port), timeout=timeout):
            pass
    except TimeoutError:
        detail = (
            f"No answer from {_where(config)} within {timeout:g} seconds: a firewall may be "
            "dropping the connection, or the host or port is wrong."
        )
        raise _Stop(ConnectionCheck(CONNECTION, ok=False, detail=detail)) from None
    except ConnectionRefusedError:
        detail = (
            f"Nothing accepts connections on {_where(config)} (refused). Check the port "
            "(587 for STARTTLS, 465 for TLS) and that the mail server is running."
        )
        raise _Stop(ConnectionCheck(CONNECTION, ok=False, detail=detail)) from None
    except OSError as exc:
        detail = f"Cannot connect to {_where(config)}: {_reason(exc)}."
        raise _Stop(ConnectionCheck(CONNECTION, ok=False, detail=detail)) from None
    return ConnectionCheck(CONNECTION, ok=True, detail=f"Connected to {_where(config)}.")


def _tls_context(config: EmailConfig) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=config.smtp_ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        detail = f"The CA file {config.smtp_ca_file!r} cannot be read: {_reason(exc)}."
        raise _Stop(ConnectionCheck(TLS, ok=False, detail=detail)) from None


def _open(config: EmailConfig, context: ssl.SSLContext | None) -> smtplib.SMTP:
    """A client connected and greeted (over SMTPS: after the TLS handshake)."""
    host, port, timeout = config.smtp_host, config.smtp_port, config.smtp_timeout_seconds
    try:
        if config.smtp_security == "tls":
            return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        return smtplib.SMTP(host, port, timeout=timeout)
    except ssl.SSLCertVerificationError as exc:
        raise _Stop(_untrusted(exc, config)) from None
    except ssl.SSLError as exc:
        detail = (
            f"The TLS handshake with {_where(config)} failed ({_reason(exc)}). If the server "
            "expects STARTTLS on this port (usually 587), set security to 'starttls'."
        )
        raise _Stop(ConnectionCheck(TLS, ok=False, detail=detail)) from None
    except smtplib.SMTPConnectError as exc:
        detail = (
            f"{_where(config)} answered {exc.smtp_code} {_text(exc.smtp_error)} instead of "
            "greeting: it is not accepting mail now, or this is not a mail server's port."
        )
        raise _Stop(ConnectionCheck(GREETING, ok=False, detail=detail)) from None
    except (OSError, smtplib.SMTPException) as exc:
        step = TLS if config.smtp_security == "tls" else GREETING
        raise _Stop(_no_greeting(step, config, exc)) from None


def _no_greeting(step: str, config: EmailConfig, exc: Exception) -> ConnectionCheck:
    detail = (
        f"{_where(config)} accepted the connection but did not greet as a mail server "
        f"({_reason(exc)}). Check the port."
    )
    return ConnectionCheck(step, ok=False, detail=detail)


def _greeted(client: smtplib.SMTP, config: EmailConfig) -> ConnectionCheck:
    try:
        client.ehlo_or_helo_if_needed()
    except (OSError, smtplib.SMTPException) as exc:
        raise _Stop(_no_greeting(GREETING, config, exc)) from None
    name = _text(client.ehlo_resp or client.helo_resp or b"").splitlines()[:1]
    return ConnectionCheck(
        GREETING, ok=True, detail=f"A mail server answers: {name[0] if name else 'SMTP'}."
    )


def _start_tls(
    client: smtplib.SMTP, config: EmailConfig, context: ssl.SSLContext
) -> ConnectionCheck:
    if not client.has_extn("starttls"):
        detail = (
            f"The server on {_where(config)} does not offer STARTTLS. If it expects TLS from "
            "the start (usually port 465), set security to 'tls'."
        )
        raise _Stop(ConnectionCheck(TLS, ok=False, detail=detail))
    try:
        client.starttls(context=context)
        client.ehlo()
    except ssl.SSLCertVerificationError as exc:
        raise _Stop(_untrusted(exc, config)) from None
    except (OSError, smtplib.SMTPException) as exc:
        detail = f"The TLS handshake (STARTTLS) with {_where(config)} failed: {_reason(exc)}."
        raise _Stop(ConnectionCheck(TLS, ok=False, detail=detail)) from None
    return ConnectionCheck(TLS, ok=True, detail="STARTTLS: the connection is encrypted.")


def _untrusted(exc: ssl.SSLCertVerificationError, config: EmailConfig) -> ConnectionCheck:
    code, host = exc.verify_code, config.smtp_host
    if code in _WRONG_NAME:
        detail = (
            f"The server's certificate is not for {host!r} (it names another host). Use the "
            "host name the certificate was issued for."
        )
    elif code in _SELF_SIGNED | _UNKNOWN_ISSUER:
        detail = (
            "The server's certificate is not trusted "
            f"({'self-signed' if code in _SELF_SIGNED else 'unknown issuer'}). Set the "
            "account's CA file to the certificate that signed it, or have a trusted one "
            "installed on the server."
        )
    elif code in _EXPIRED:
        detail = "The server's certificate has expired: it must be renewed on the server."
    elif code in _NOT_YET_VALID:
        detail = "The server's certificate is not valid yet: check the clocks of both machines."
    else:
        detail = f"The server's certificate is not accepted: {exc.verify_message}."
    return ConnectionCheck(TLS, ok=False, detail=detail)


def _sign_in(client: smtplib.SMTP, config: EmailConfig) -> ConnectionCheck:
    if not config.smtp_username:
        return ConnectionCheck(
            SIGN_IN,
            ok=True,
            detail="No user name is set: the server must accept mail from this machine "
            "without signing in.",
        )
    if not client.has_extn("auth"):
        detail = (
            "The server does not offer sign-in (AUTH)"
            + (" before STARTTLS" if config.smtp_security == "none" else "")
            + ": clear the user name if it relays without one, or check the security setting."
        )
        raise _Stop(ConnectionCheck(SIGN_IN, ok=False, detail=detail))
    password = config.smtp_password.get_secret_value() if config.smtp_password else ""
    try:
        client.login(config.smtp_username, password)
    except smtplib.SMTPAuthenticationError as exc:
        detail = (
            f"The server refused the user name or password for {config.smtp_username!r} "
            f"({exc.smtp_code} {_text(exc.smtp_error)}). Enter them again."
        )
        raise _Stop(ConnectionCheck(SIGN_IN, ok=False, detail=detail)) from None
    except smtplib.SMTPException as exc:
        detail = f"Signing in as {config.smtp_username!r} failed: {_reason(exc)}."
        raise _Stop(ConnectionCheck(SIGN_IN, ok=False, detail=detail)) from None
    return ConnectionCheck(SIGN_IN, ok=True, detail=f"Signed in as {config.smtp_username!r}.")


def _outbox_check(config: EmailConfig) -> ConnectionCheck:
    folder = outbox_folder(config)
    where = (
        f"No SMTP server is set: replies are written as .eml files to the outbox folder "
        f"{folder}, not sent."
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".check-", suffix=".part"):
            pass
    except OSError as exc:
        detail = f"{where} That folder cannot be written to: {_reason(exc)}."
        return ConnectionCheck(OUTBOX, ok=False, detail=detail)
    return ConnectionCheck(OUTBOX, ok=True, detail=f"{where} The folder can be written to.")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    return str(exc) or type(exc).__name__


def _text(detail: bytes | str) -> str:
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
