"""What the README promises a new user, read from the README itself for tests to check."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _table_after(heading_line: str) -> list[list[str]]:
    """The cells of the first Markdown table after the line that starts with `heading_line`."""
    lines = README.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading_line))
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    _header, rule, *body = rows
    assert set("".join(rule)) <= {"-", ":"}, rule
    return body


def demo_logins() -> list[tuple[str, str]]:
    """(who, email) for every row of the README's table of demo logins."""
    return [(who, email.strip("`")) for who, email in _table_after("Demo logins")]


def operator_commands() -> list[str]:
    """The commands the README's command-line table lists, as written (without backquotes)."""
    commands = []
    for row in _table_after("`.venv/bin/civicdesk`"):
        match = re.fullmatch(r"`([^`]+)`", row[0])
        assert match is not None, row
        commands.append(match.group(1))
    return commands
