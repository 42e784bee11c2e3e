"""A real IMAP server for tests: Debian's Dovecot, configured from files written into a
temporary folder, listening on free loopback ports.

`Dovecot()` is a context manager (and `dovecot_server` a pytest fixture around it): one user
(`USERNAME` / `PASSWORD`, from a passwd-file), mail in a maildir under a temporary folder, plain
sign-in allowed (loopback only), IMAP with STARTTLS on `port` and IMAPS on `tls_port`, both on
a self-signed certificate for 127.0.0.1 (`cert`, made by the test). With `oauth2_url` the
server also accepts XOAUTH2 / OAUTHBEARER, checking each token at that introspection URL
(`TokenEndpoint` is one, on loopback).

It runs unprivileged where it can: started by an ordinary user, every Dovecot process runs as
that user; started by root (CI), the login processes run as Debian's `dovenull` and the mail
is owned by `nobody` (Dovecot refuses root for both).

Where Dovecot is missing, `scripts/ensure-dovecot` installs it (`make test` runs it); tests
needing it are skipped with that reason outside CI and fail in CI (CI=true), where they must
run.
"""

from __future__ import annotations

import getpass
import imaplib
import json
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from civicdesk.channels.adapters.email.tests.tls_sink import free_port, self_signed_certificate

DOVECOT = Path(os.environ.get("CIVICDESK_DOVECOT", "/usr/sbin/dovecot"))
DOVEADM = Path(os.environ.get("CIVICDESK_DOVEADM", "/usr/bin/doveadm"))
USERNAME = "help@riverton.example"
PASSWORD = "imap-secret"
START_TIMEOUT_SECONDS = 15.0


def dovecot_missing_reason() -> str:
    """Why Dovecot cannot be started here ("" when it can)."""
    if not DOVECOT.exists():
        return (
            f"Dovecot is not installed ({DOVECOT} is missing; scripts/ensure-dovecot installs it)"
        )
    return ""


def require_dovecot() -> None:
    """Skip the calling test without Dovecot; in CI, fail it instead (the tests must run)."""
    reason = dovecot_missing_reason()
    if not reason:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: in CI the IMAP tests must run")
    pytest.skip(reason)


def _users() -> tuple[str, str, str, str]:
    """(internal user, login user, mail uid, mail gid) for the processes Dovecot starts."""
    if os.geteuid() != 0:
        me = getpass.getuser()
        return me, me, str(os.getuid()), str(os.getgid())
    nobody = pwd.getpwnam("nobody")
    internal = "dovecot" if _user_exists("dovecot") else "nobody"
    login = "dovenull" if _user_exists("dovenull") else "nobody"
    return internal, login, str(nobody.pw_uid), str(nobody.pw_gid)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class Dovecot:
    """One Dovecot master process; `start`/`stop` may be called again (a server that goes
    away and comes back keeps its mail and its UIDVALIDITY)."""

    def __init__(self, *, oauth2_url: str = "") -> None:
        # A folder of its own, which Dovecot's unprivileged processes may enter (pytest's
        # tmp folders are private to the user running the tests); removed on exit.
        self.folder = Path(tempfile.mkdtemp(prefix="civicdesk-dovecot-"))
        self.folder.chmod(0o755)
        self.port = free_port()
        self.tls_port = free_port()
        self.cert, self.key = self_signed_certificate(self.folder)
        self.oauth2_url = oauth2_url
        self.username = USERNAME
        self.password = PASSWORD
        self.mail_dir = self.folder / "mail"
        self.config = self.folder / "dovecot.conf"
        self.log = self.folder / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._write_config()

    # --- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def start(self) -> None:
        if self._process is not None:
            return
        self._process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own config
            [str(DOVECOT), "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = self.log.read_text() if self.log.exists() else ""
                self._process = None
                raise RuntimeError(f"Dovecot exited at start:\n{log}")
            if self._answers(self.port) and self._answers(self.tls_port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Dovecot did not listen within {START_TIMEOUT_SECONDS} s")

    def stop(self) -> None:
        """Stop the server (and every session it serves) and wait until it has gone."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        # The master is gone; its children leave on their own within moments.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self._answers(self.port):
            time.sleep(0.05)

    @staticmethod
    def _answers(port: int) -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            return probe.connect_ex(("127.0.0.1", port)) == 0

    # --- the far side, as a mail client sees it ---------------------------------------------

    def client(self) -> imaplib.IMAP4:
        """A signed-in plain IMAP session (the test's own look at the mailbox)."""
        session = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        session.login(self.username, self.password)
        return session

    def tls_context(self) -> ssl.SSLContext:
        """A client context trusting this server's certificate only."""
        return ssl.create_default_context(cafile=str(self.cert))

    def append(self, raw: bytes, *, folder: str = "INBOX", flags: str = "") -> int:
        """Deliver `raw` into `folder` (created if missing); its UID."""
        session = self.client()
        try:
            session.create(folder)  # "already exists" for INBOX: harmless
            # typeshed has append returning str; imaplib returns (status, data).
            answer: Any = session.append(folder, flags, "", raw)
            status, data = answer
            if status != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
            answer = (data[0] or b"").decode()
            # "[APPENDUID <uidvalidity> <uid>] Append completed."
            return int(answer.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])
        finally:
            session.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """Each message's UID in `folder` and its flags (without \\Recent)."""
        session = self.client()
        try:
            status, _ = session.select(f'"{folder}"', readonly=True)
            if status != "OK":
                raise RuntimeError(f"No folder {folder!r}")
            _, data = session.uid("FETCH", "1:*", "(FLAGS)")
        finally:
            session.logout()
        found: dict[int, set[str]] = {}
        for item in data:
            if not isinstance(item, bytes) or b"UID" not in item:
                continue
            text = item.decode()
            uid = int(text.split("UID ", 1)[1].split()[0].rstrip(")"))
            flag_text = text.split("FLAGS (", 1)[1].split(")", 1)[0]
            found[uid] = {flag for flag in flag_text.split() if flag != "\\Recent"}
        return found

    def uidvalidity(self, folder: str = "INBOX") -> int:
        session = self.client()
        try:
            _, data = session.status(f'"{folder}"', "(UIDVALIDITY)")
        finally:
            session.logout()
        return int((data[0] or b"").decode().rsplit("UIDVALIDITY", 1)[1].strip(" )"))

    def set_uidvalidity(self, value: int, *, folder: str = "INBOX") -> None:
        """Renumber `folder` as a server does after a rebuild: a new UIDVALIDITY, so every UID
        a client remembers is void (the messages stay)."""
        subprocess.run(  # noqa: S603 - a fixed binary and our own config
            [
                str(DOVEADM),
                "-c",
                str(self.config),
                "mailbox",
                "update",
                "--uid-validity",
                str(value),
                "-u",
                self.username,
                folder,
            ],
            check=True,
            capture_output=True,
        )

    # --- configuration ----------------------------------------------------------------------

    def _write_config(self) -> None:
        internal, login, uid, gid = _users()
        self.mail_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            os.chown(self.mail_dir, int(uid), int(gid))
        passwd = self.folder / "passwd"
        passwd.write_text(f"{self.username}:{{PLAIN}}{self.password}::::::\n")
        mechanisms = "plain login"
        oauth2 = ""
        if self.oauth2_url:
            mechanisms += " xoauth2 oauthbearer"
            oauth2_conf = self.folder / "oauth2.conf"
            oauth2_conf.write_text(
                f"introspection_url = {self.oauth2_url}\n"
                "introspection_mode = post\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
                "force_introspection = yes\n"
            )
            oauth2 = (
                "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {oauth2_conf}\n}}\n"
            )
        self.config.write_text(
            f"""# Written by the tests: one user, loopback only, files under {self.folder}.
base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.log}
instance_name = civicdesk-test-{self.port}
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 1
mail_fsync = never
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.key}
ssl_min_protocol = TLSv1.2
mail_location = maildir:{self.mail_dir}/%u
{oauth2}passdb {{
  driver = passwd-file
  args = scheme=PLAIN {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
  default_fields = uid={uid} gid={gid} home={self.mail_dir}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
        )


class TokenEndpoint:
    """An OAuth2 token introspection endpoint on loopback (RFC 7662, as Dovecot's oauth2
    passdb asks it): a token in `tokens` is active for `username`, any other is not. `url` is
    for `Dovecot(oauth2_url=...)`; `asked` lists the tokens Dovecot brought, in order."""

    def __init__(self, *, tokens: set[str], username: str = USERNAME) -> None:
        self.tokens = tokens
        self.asked: list[str] = []
        endpoint = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                token = (form.get("token") or [""])[0]
                endpoint.asked.append(token)
                active = token in endpoint.tokens
                body = json.dumps(
                    {"active": "true" if active else "false", "username": username}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/introspect"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TokenEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def dovecot_server() -> Iterator[Dovecot]:
    """A running Dovecot with an empty mailbox (see `Dovecot`)."""
    require_dovecot()
    with Dovecot() as server:
        yield server
