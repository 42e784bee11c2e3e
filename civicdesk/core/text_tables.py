"""Aligned plain-text tables, for management commands that list things."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def text_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as aligned columns under upper-case headers; `*_at` ISO times cut to the minute."""
    cells = [
        [_cell(row[column], is_time=column.endswith("_at")) for column in columns] for row in rows
    ]
    headers = [column.upper() for column in columns]
    widths = [max(len(h), *(len(line[i]) for line in cells)) for i, h in enumerate(headers)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [headers, *cells]
    )


def _cell(value: Any, *, is_time: bool) -> str:
    if value in (None, ""):
        return "-"
    text = str(value).replace("\n", " ")
    return text[:16].replace("T", " ") if is_time else text
