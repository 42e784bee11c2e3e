"""Reading a knowledge-base file (CSV or JSONL) into rows, or refusing it with the reason.

Pure: bytes in, rows out. The whole file is read before anything is stored, so a refusal names
the first bad row (1-based data row; for CSV the header is row 0) and nothing is half-imported.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

TITLE_COLUMNS = ("question", "title")
BODY_COLUMNS = ("answer", "body")
# An optional column may also come under a name common in published FAQ files.
OPTIONAL_COLUMNS = {
    "language": ("language", "lang"),
    "source": ("source",),
    "url": ("url", "link"),
    "tags": ("tags",),
    "visibility": ("visibility",),
}
VISIBILITIES = ("public", "internal")
TITLE_MAX = 500  # the title column of knowledge.models (a question can be long)
FORMATS = ("csv", "jsonl")


class FileRefused(ValueError):
    """The file cannot be imported; `row` is the data row at fault (None: the whole file)."""

    def __init__(self, reason: str, *, row: int | None = None) -> None:
        self.reason = reason
        self.row = row
        super().__init__(f"row {row}: {reason}" if row is not None else reason)


@dataclass(frozen=True)
class FaqRow:
    row: int
    title: str
    body: str
    language: str
    source: str = ""
    url: str = ""
    tags: tuple[str, ...] = ()
    is_public: bool = True
    occurrence: int = 0  # how many rows before it asked the same question with other answers


@dataclass(frozen=True)
class FaqFile:
    rows: list[FaqRow]
    ignored_columns: tuple[str, ...] = field(default=())
    repeated: int = 0


def format_of(name: str) -> str:
    lowered = name.lower()
    for fmt in FORMATS:
        if lowered.endswith(f".{fmt}"):
            return fmt
    raise FileRefused(f"unknown format of {name!r}: the name must end in .csv or .jsonl")


KNOWN_COLUMNS = (*TITLE_COLUMNS, *BODY_COLUMNS, *OPTIONAL_COLUMNS)


def read_faq_file(
    data: bytes,
    *,
    fmt: str,
    languages: Sequence[str],
    default_language: str,
    columns: Mapping[str, str] | None = None,
) -> FaqFile:
    """Every row of the file, checked; FileRefused at the first fault.

    `columns` maps a column of ours to the file's own name for it ({"question": "questionText"}),
    for files made elsewhere; a file column already called by our name is then not imported.
    """
    renames: dict[str, str] = {}
    for ours, theirs in (columns or {}).items():
        if ours.lower() not in KNOWN_COLUMNS:
            raise FileRefused(f"{ours!r} is not a column of ours: use {', '.join(KNOWN_COLUMNS)}")
        renames[theirs.strip().lower()] = ours.lower()
    text = _decode(data)
    if fmt == "csv":
        return _read_csv(text, languages, default_language, renames)
    if fmt == "jsonl":
        return _read_jsonl(text, languages, default_language, renames)
    raise FileRefused(f"unknown format {fmt!r}: use csv or jsonl")


def _renamed(name: str, renames: Mapping[str, str]) -> str:
    key = name.strip().lower()
    if key in renames:
        return renames[key]
    if key in renames.values():
        return f"{key} (replaced)"
    return key


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise FileRefused(
            f"the file is not UTF-8: byte {error.start} (line {line}) cannot be read; "
            "save it as UTF-8 and try again"
        ) from None


def _pick(columns: Iterable[str], names: Sequence[str], what: str) -> str | None:
    present = [name for name in names if name in columns]
    if len(present) > 1:
        raise FileRefused(f"columns {' and '.join(present)} both give the {what}: keep one")
    return present[0] if present else None


def _layout(columns: Sequence[str]) -> tuple[str, str, dict[str, str], tuple[str, ...]]:
    duplicates = sorted({name for name in columns if list(columns).count(name) > 1})
    if duplicates:
        raise FileRefused(f"column {', '.join(duplicates)} appears twice")
    title = _pick(columns, TITLE_COLUMNS, "title")
    body = _pick(columns, BODY_COLUMNS, "answer")
    if title is None or body is None:
        missing = "question (or title)" if title is None else "answer (or body)"
        raise FileRefused(f"no {missing} column; the columns are: {', '.join(columns) or 'none'}")
    optional = {}
    for key, names in OPTIONAL_COLUMNS.items():
        found = _pick(columns, names, key)
        if found is not None:
            optional[key] = found
    used = {title, body, *optional.values()}
    return title, body, optional, tuple(name for name in columns if name not in used)


def _read_csv(
    text: str, languages: Sequence[str], default_language: str, renames: Mapping[str, str]
) -> FaqFile:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused("the file is empty") from None
    except csv.Error as error:
        raise FileRefused(f"the header cannot be read: {error}", row=0) from None
    columns = [_renamed(name, renames) for name in header]
    title, body, optional, ignored = _layout(columns)
    rows = []
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise FileRefused(f"broken CSV ({error})", row=number) from None
        if not any(cell.strip() for cell in cells):
            number -= 1  # a blank line is no row
            continue
        if len(cells) != len(columns):
            raise FileRefused(
                f"{len(cells)} cells where the header has {len(columns)} columns", row=number
            )
        record = dict(zip(columns, cells, strict=True))
        rows.append(_row(record, number, title, body, optional, languages, default_language))
    return _checked(rows, ignored)


def _read_jsonl(
    text: str, languages: Sequence[str], default_language: str, renames: Mapping[str, str]
) -> FaqFile:
    records: list[tuple[int, dict[str, object]]] = []
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise FileRefused(f"not valid JSON ({error.msg})", row=number) from None
        if not isinstance(record, dict):
            raise FileRefused("each line must be a JSON object", row=number)
        records.append((number, {_renamed(str(k), renames): v for k, v in record.items()}))
    if not records:
        raise FileRefused("the file is empty")
    columns: list[str] = []
    for _, record in records:
        columns.extend(key for key in record if key not in columns)
    title, body, optional, ignored = _layout(columns)
    rows = []
    for number, record in records:
        flat = {}
        used = {title, body, *optional.values()}
        for key, given in record.items():
            if key not in used:
                continue  # a column not imported may hold anything
            value = given
            if key == optional.get("tags") and isinstance(value, list):
                value = ";".join(str(tag) for tag in value)
            if value is not None and not isinstance(value, str | int | float):
                raise FileRefused(f"{key} must be text", row=number)
            flat[key] = "" if value is None else str(value)
        rows.append(_row(flat, number, title, body, optional, languages, default_language))
    return _checked(rows, ignored)


def _row(  # noqa: PLR0917 - private, called from the two readers alone
    record: dict[str, str],
    number: int,
    title_column: str,
    body_column: str,
    optional: dict[str, str],
    languages: Sequence[str],
    default_language: str,
) -> FaqRow:
    title = " ".join(record.get(title_column, "").split())
    body = record.get(body_column, "").strip()
    if not title:
        raise FileRefused(f"the {title_column} is empty", row=number)
    if len(title) > TITLE_MAX:
        raise FileRefused(f"the {title_column} is longer than {TITLE_MAX} characters", row=number)
    if not body:
        raise FileRefused(f"the {body_column} is empty", row=number)
    language = record.get(optional.get("language", ""), "").strip().lower() or default_language
    language = language.replace("_", "-").split("-")[0]
    if language not in languages:
        raise FileRefused(f"language {language!r} is not one of {', '.join(languages)}", row=number)
    visibility = record.get(optional.get("visibility", ""), "").strip().lower() or "public"
    if visibility not in VISIBILITIES:
        raise FileRefused(f"visibility must be public or internal, not {visibility!r}", row=number)
    tags = tuple(
        dict.fromkeys(
            tag.strip()
            for tag in record.get(optional.get("tags", ""), "").split(";")
            if tag.strip()
        )
    )
    return FaqRow(
        row=number,
        title=title,
        body=body,
        language=language,
        source=record.get(optional.get("source", ""), "").strip(),
        url=record.get(optional.get("url", ""), "").strip(),
        tags=tags,
        is_public=visibility == "public",
    )


def row_key(row: FaqRow) -> tuple[str, str, str, str]:
    """What names one article across imports: the question in its language, from its source."""
    return (row.language, row.title.casefold(), row.source, row.url)


def _checked(rows: list[FaqRow], ignored: tuple[str, ...]) -> FaqFile:
    """Rows repeated exactly (published FAQ banks have some) count once. A question asked
    again with another answer (one FAQ page, two sections) is an article of its own: its
    `occurrence` (0, 1, …) tells the two apart when the file is imported again."""
    if not rows:
        raise FileRefused("the file has a header but no rows")
    answers: dict[tuple[str, str, str, str], list[str]] = {}
    kept = []
    for row in rows:
        given = answers.setdefault(row_key(row), [])
        if row.body in given:
            continue
        kept.append(replace(row, occurrence=len(given)))
        given.append(row.body)
    return FaqFile(rows=kept, ignored_columns=ignored, repeated=len(rows) - len(kept))
