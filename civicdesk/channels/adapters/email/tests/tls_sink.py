"""A local SMTP server for sending tests: aiosmtpd with STARTTLS or TLS on a self-signed
certificate made for 127.0.0.1, optional login, and answers the test can script."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USERNAME = "civicdesk"
PASSWORD = "relay-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) files for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "sink.crt", folder / "sink.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    # An answer to give RCPT TO instead of accepting (e.g. "451 4.2.0 Try later").
    rcpt_answer: str = ""

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 2.0.0 Queued"


def _login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


class _Controller(Controller):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transports: list[asyncio.BaseTransport] = []

    def factory(self) -> SMTP:
        # A server per connection. aiosmtpd warns about AUTH without STARTTLS: over SMTPS the
        # whole session is encrypted, so that warning does not apply.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            server: SMTP = super().factory()  # type: ignore[no-untyped-call]
        made = server.connection_made

        def connection_made(transport: asyncio.BaseTransport) -> None:
            self.transports.append(transport)  # the plain one too, which STARTTLS replaces
            made(transport)

        server.connection_made = connection_made  # type: ignore[method-assign]
        return server

    def stop(self, *args: Any, **kwargs: Any) -> None:
        """Close the connections still open first (a client that gave up in the middle of a
        TLS handshake leaves its server side open), so that no socket outlives the sink."""

        async def close_transports() -> None:
            for transport in self.transports:
                transport.close()
            await asyncio.sleep(0.05)  # the transports' connection_lost callbacks run

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(close_transports(), self.loop).result(timeout=5)
        super().stop(*args, **kwargs)


class TlsSink:
    """`mode`: "starttls" (plain, upgraded; login required after it) or "tls" (SMTPS)."""

    def __init__(self, folder: Path, *, mode: str) -> None:
        self.cert, key = self_signed_certificate(folder)
        self.handler = SinkHandler()
        self.port = free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        options: dict[str, Any] = {"authenticator": _login, "auth_required": True}
        if mode == "starttls":
            options |= {"tls_context": context, "require_starttls": True}
        else:
            # aiosmtpd counts only STARTTLS as TLS for AUTH; over SMTPS the whole session is.
            options |= {"ssl_context": context, "auth_require_tls": False}
        self.controller = _Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **options
        )

    def __enter__(self) -> TlsSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
