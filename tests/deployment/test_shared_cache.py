"""The cache the portal's rate limits count in is shared by every process of an instance:
files under var/ on one machine, Redis when REDIS_URL is set (never a per-process memory,
where two web processes would each allow the limit, and a restart would forget it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOW = "import json, config.settings as s; print(json.dumps(s.CACHES['default']))"


def _cache_settings(tmp_path: Path, **env: str) -> dict[str, str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CIVICDESK_TESTING"}
    }
    environment |= {"CIVICDESK_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), **env}
    out = subprocess.run(
        [sys.executable, "-c", SHOW],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({}, "django.core.cache.backends.filebased.FileBasedCache"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/5"}, "django.core.cache.backends.redis.RedisCache"),
    ],
    ids=["one machine", "redis"],
)
def test_the_rate_limits_count_in_a_cache_every_process_shares(
    tmp_path: Path, env: dict[str, str], backend: str
) -> None:
    cache = _cache_settings(tmp_path, **env)
    assert cache["BACKEND"] == backend
    if not env:
        assert cache["LOCATION"] == str(tmp_path / "cache")
