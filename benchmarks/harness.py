"""What every benchmark shares: a throw-away database, Django set up on it, and timing.

`prepared_django()` must run before anything imports Django models. It points CivicDesk at a
fresh temporary folder (so the development database is never touched), runs tasks immediately
and migrates. With DATABASE_URL set to a PostgreSQL server it creates a dedicated database
(`civicdesk_bench`) on that server, and drops it again when the benchmark ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "civicdesk_bench"


def _postgres_admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


def _bench_database_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


@contextlib.contextmanager
def prepared_django() -> Iterator[str]:
    """Set up Django on a fresh database; yields a label such as 'SQLite 3.40.1'."""
    sys.path.insert(0, str(REPO))  # for `tests.factories`
    server_url = os.environ.get("DATABASE_URL", "")
    if server_url:  # fails, creating nothing, while another run uses the database
        with _postgres_admin(server_url) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
            admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
        os.environ["DATABASE_URL"] = _bench_database_url(server_url)
    var_dir = tempfile.mkdtemp(prefix="civicdesk-bench-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["CIVICDESK_VAR_DIR"] = var_dir
    os.environ["CIVICDESK_TASK_BACKEND"] = "immediate"
    os.environ.setdefault("CIVICDESK_LOG_LEVEL", "ERROR")
    try:
        import django

        django.setup()
        # A server error in the benchmark's server thread must show, whatever the settings say.
        logging.getLogger("django.request").addHandler(logging.StreamHandler())
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0, interactive=False)
        yield database_label(connection)
    finally:
        from django.db import connections

        connections.close_all()
        if server_url:
            with _postgres_admin(server_url) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        with contextlib.suppress(OSError):
            import shutil

            shutil.rmtree(var_dir)


def database_label(connection: Any) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]} (WAL)"


def machine_label() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def load_note() -> str:
    """Other work on the machine skews timings; every report says how busy it was."""
    one, five, _ = os.getloadavg()
    return (
        f"load average at the end: {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
    )


def median_ms(run: Callable[[], object], *, repeat: int, warmup: int = 3) -> float:
    """Median wall time of `run` in milliseconds, after a few unmeasured warm-up calls."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


@contextlib.contextmanager
def explicit_timestamps(*models: Any) -> Iterator[None]:
    """Let bulk_create keep the `created_at`/`updated_at` values it is given (benchmark data)."""
    saved = []
    for model in models:
        for field in model._meta.concrete_fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                saved.append((field, field.auto_now, field.auto_now_add))
                field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add
