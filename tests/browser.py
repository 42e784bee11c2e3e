"""Real-browser testing: a live CivicDesk over ASGI, Debian's Chromium, and axe-core."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_asgi() -> Iterator[str]:
    """CivicDesk's ASGI application (pages, API, WebSockets) on a free loopback port."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        "config.asgi:application",
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, for one test.

    Playwright's sync API runs an event loop in this thread while it lives, so it is stopped
    before the test's database is flushed; meanwhile the test's own ORM calls are synchronous.
    """
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is missing: `make test` installs it")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def sign_in_to_workspace(page: Any, email: str, password: str) -> None:
    """Sign in on the workspace login page and wait until the inbox's live updates are on."""
    import re

    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/workspace/$"))
    page.wait_for_function("document.getElementById('live-status').textContent === 'on'")


def _axe_script() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def axe_violations(page: Any, *, impacts: frozenset[str] | None = BLOCKING_IMPACTS) -> list[str]:
    """axe-core's WCAG 2.x A/AA and best-practice violations on the page, one line each.

    `impacts=None` reports every violation, whatever its impact.
    """
    page.evaluate(_axe_script())
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if impacts is None or v.get("impact") in impacts
    ]


def assert_accessible(page: Any) -> None:
    """No serious or critical axe-core violation on the page as it stands."""
    violations = axe_violations(page)
    assert not violations, f"axe-core on {page.url}:\n" + "\n".join(violations)
