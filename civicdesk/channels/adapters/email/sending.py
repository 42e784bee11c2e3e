"""Sending a composed email: over SMTP (STARTTLS, SMTPS or plain, with or without login), or
into a folder of .eml files when no server is configured (one machine's default).

The server's answer decides the outcome: 4xx and a lost connection are temporary (the
framework retries with backoff), 5xx permanent (the framework falls back to the citizen's
next channel), said in plain words an administrator can act on.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.contracts import DeliveryResult

logger = logging.getLogger(__name__)


def outbox_folder(config: EmailConfig) -> Path:
    if config.outbox_dir:
        return Path(config.outbox_dir)
    return Path(os.environ.get("CIVICDESK_VAR_DIR") or "var") / "mail-outbox"


def write_to_outbox(email: EmailMessage, *, config: EmailConfig, name: str) -> Path:
    """The message as `<name>.eml` in the outbox folder (written whole, then renamed)."""
    folder = outbox_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.eml"
    partial = folder / f".{name}.eml.part"
    partial.write_bytes(email.as_bytes())
    partial.replace(target)
    return target


def _outcome(code: int, what: str, detail: bytes | str) -> DeliveryResult:
    error = f"{what}: {code} {_text(detail)}".strip()
    if 400 <= code < 500:
        return DeliveryResult.temporary_failure(error)
    return DeliveryResult.permanent_failure(error)


def send_over_smtp(
    email: EmailMessage, *, config: EmailConfig, recipients: list[str], envelope_sender: str = ""
) -> DeliveryResult:
    """Hand `email` for `recipients` (the citizen first, then those copied) to the configured
    server; the outcome (the citizen's), never an exception. A copy refused alone is logged."""
    try:
        refused = _transmit(
            email, config=config, recipients=recipients, sender=envelope_sender or config.address
        )
    except (OSError, smtplib.SMTPException) as exc:
        return _failure(exc, config=config, recipient=recipients[0])
    if recipients[0] in refused:
        code, detail = refused[recipients[0]]
        return _outcome(code, f"the server refused {recipients[0]}", detail)
    for address, (code, detail) in refused.items():
        logger.warning("The server refused the copy to %s: %s %s", address, code, _text(detail))
    return DeliveryResult.sent()


def _transmit(
    email: EmailMessage, *, config: EmailConfig, recipients: list[str], sender: str
) -> dict[str, tuple[int, bytes]]:
    context = ssl.create_default_context(cafile=config.smtp_ca_file or None)
    host, port, timeout = config.smtp_host, config.smtp_port, config.smtp_timeout_seconds
    client = (
        smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        if config.smtp_security == "tls"
        else smtplib.SMTP(host, port, timeout=timeout)
    )
    with client:
        client.ehlo()
        if config.smtp_security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if config.smtp_username:
            password = config.smtp_password.get_secret_value() if config.smtp_password else ""
            client.login(config.smtp_username, password)
        return client.send_message(email, from_addr=sender, to_addrs=recipients)


def _failure(exc: Exception, *, config: EmailConfig, recipient: str) -> DeliveryResult:
    """What a failed exchange means: the server's code decides; a lost connection is temporary."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, detail = next(iter(exc.recipients.values()), (550, b"refused"))
        result = _outcome(code, f"the server refused {recipient}", detail)
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        result = DeliveryResult.permanent_failure(
            f"the server refused the login of {config.smtp_username!r}: {exc.smtp_code} "
            f"{_text(exc.smtp_error)}"
        )
    elif isinstance(exc, smtplib.SMTPResponseException):
        result = _outcome(exc.smtp_code, "the server refused the message", exc.smtp_error)
    elif isinstance(exc, smtplib.SMTPNotSupportedError):
        result = DeliveryResult.permanent_failure(f"the server does not support it: {exc}")
    elif isinstance(exc, ssl.SSLCertVerificationError):
        result = DeliveryResult.permanent_failure(
            f"the server's TLS certificate is not trusted ({exc.verify_message}); set the "
            "account's CA file or fix the certificate"
        )
    else:
        result = DeliveryResult.temporary_failure(
            f"could not reach {config.smtp_host}:{config.smtp_port}: {exc!r}"
        )
    return result


def _text(detail: bytes | str) -> str:
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
