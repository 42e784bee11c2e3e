"""django-helpdesk, the Python peer, as `email_vs_helpdesk.py` runs it: installed from PyPI in
a throw-away virtualenv, a minimal Django project on SQLite written for it, one Queue that reads
a mailbox over IMAP, and its own `get_email` command doing the import.

Nothing of django-helpdesk is imported here: it runs in its own interpreter, and reports what
it made of the mailbox as JSON (`report`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

# The release checked to install and run with the Django it pins (5.2) on Python 3.11.
HELPDESK_REQUIREMENT = "django-helpdesk==2.6.1"
QUEUE_SLUG = "help"

SETTINGS = """
from pathlib import Path

BASE = Path(__file__).resolve().parent
SECRET_KEY = "benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
SITE_ID = 1
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "hdproject.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": BASE.parent / "helpdesk.sqlite3",
    "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
}}
STATIC_URL = "/static/"
MEDIA_ROOT = BASE.parent / "media"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# Its acknowledgements and notifications are written to files, as CivicDesk's outbox does.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = BASE.parent / "sent-mail"
DEFAULT_FROM_EMAIL = "help@riverton.example"
SERVER_EMAIL = "help@riverton.example"
# Teams need pinax-teams, which nothing here uses.
HELPDESK_TEAMS_MODE_ENABLED = False
LOGGING = {"version": 1, "disable_existing_loggers": False}
"""

URLS = """
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
"""

# Run inside the project: {message_id: ticket id} of every FollowUp, the tickets' count.
REPORT = """
import json
import os
from helpdesk.models import FollowUp, Ticket
followups = {f.message_id: f.ticket_id for f in FollowUp.objects.exclude(message_id=None)}
print(json.dumps({"followups": followups, "tickets": Ticket.objects.count()}))
"""


def clean_env() -> dict[str, str]:
    """This process's environment without CivicDesk's settings (it may have set up Django)."""
    dropped = {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DATABASE_URL", "REDIS_URL"}
    return {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith("CIVICDESK_")
    }


@dataclass
class Peer:
    folder: Path
    python: Path
    version: str = ""

    @property
    def project(self) -> Path:
        return self.folder / "hdproject"

    @property
    def sent_mail(self) -> Path:
        return self.folder / "sent-mail"

    def manage(self, *args: str, timeout: float = 1800) -> str:
        done = subprocess.run(  # noqa: S603 - our own virtualenv and project
            [str(self.python), "manage.py", *args],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=clean_env(),
        )
        if done.returncode != 0:
            raise SystemExit(f"django-helpdesk `{' '.join(args)}` failed:\n{done.stderr[-3000:]}")
        return done.stdout


def install(folder: Path, *, requirement: str = HELPDESK_REQUIREMENT) -> Peer:
    """A virtualenv in `folder` with django-helpdesk from PyPI (kept between runs: the
    install is done once), and a fresh project beside it."""
    venv = folder / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # noqa: S603
    pip = subprocess.run(  # noqa: S603 - pip from the virtualenv just made
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         requirement],
        capture_output=True, text=True, check=False, env=clean_env(),
    )  # fmt: skip
    if pip.returncode != 0:
        raise SystemExit(f"pip install {requirement} failed:\n{pip.stderr[-3000:]}")
    version = subprocess.run(  # noqa: S603
        [str(python), "-c", "import importlib.metadata as m; print(m.version('django-helpdesk'),"
         " m.version('django'))"],
        check=True, capture_output=True, text=True, env=clean_env(),
    ).stdout.split()  # fmt: skip
    peer = Peer(folder=folder, python=python, version=f"{version[0]} on Django {version[1]}")
    write_project(peer)
    return peer


def write_project(peer: Peer) -> None:
    peer.project.mkdir(parents=True, exist_ok=True)
    (peer.project / "__init__.py").write_text("")
    (peer.project / "settings.py").write_text(SETTINGS)
    (peer.project / "urls.py").write_text(URLS)
    (peer.folder / "manage.py").write_text(
        textwrap.dedent("""
        import os, sys
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproject.settings")
        from django.core.management import execute_from_command_line
        execute_from_command_line(sys.argv)
        """)
    )
    for stale in (peer.folder / "helpdesk.sqlite3", peer.sent_mail):
        if stale.is_file():
            stale.unlink()
        elif stale.is_dir():
            for file in stale.iterdir():
                file.unlink()
    peer.manage("migrate", "--verbosity", "0")


def configure_queue(peer: Peer, *, host: str, port: int, user: str, password: str) -> None:
    """One Queue importing the INBOX over IMAP (STARTTLS, as its import tries first)."""
    code = f"""
from helpdesk.models import Queue
Queue.objects.update_or_create(slug={QUEUE_SLUG!r}, defaults=dict(
    title="Help desk", email_address="help@riverton.example", allow_email_submission=True,
    email_box_type="imap", email_box_host={host!r}, email_box_port={port}, email_box_ssl=False,
    email_box_user={user!r}, email_box_pass={password!r}, email_box_imap_folder="INBOX",
    email_box_interval=0, logging_type="none"))
"""
    peer.manage("shell", "-c", code)


def get_email(peer: Peer) -> float:
    """Run django-helpdesk's own import once; its wall time in seconds (process start-up
    included: that is how it is run, from cron)."""
    started = time.perf_counter()
    peer.manage("get_email", "--quiet")
    return time.perf_counter() - started


def startup_seconds(peer: Peer) -> float:
    """What a `manage.py` command costs with nothing to do (`check`), to set beside it."""
    started = time.perf_counter()
    peer.manage("check")
    return time.perf_counter() - started


def report(peer: Peer) -> tuple[dict[str, int], int]:
    """({Message-ID with brackets: ticket id}, tickets)."""
    data = json.loads(peer.manage("shell", "-c", REPORT).strip().splitlines()[-1])
    return {k: int(v) for k, v in data["followups"].items()}, int(data["tickets"])


def sent_messages(peer: Peer) -> list[bytes]:
    """The mail it sent: Django's file backend writes each message followed by a line of
    79 dashes."""
    found: list[bytes] = []
    if not peer.sent_mail.exists():
        return found
    for file in sorted(peer.sent_mail.iterdir()):
        for chunk in file.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found.append(chunk)
    return found
