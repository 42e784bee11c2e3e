"""The Romanian catalogue is complete and its compiled form matches it."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

LC_MESSAGES = Path(__file__).resolve().parent.parent / "locale" / "ro" / "LC_MESSAGES"


def _po_entries(path: Path) -> dict[str, str]:
    """msgid (prefixed by its context and \\x04, as gettext keys it) -> msgstr."""
    entries: dict[str, str] = {}
    fields: dict[str, str] = {}
    current = ""
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if fields.get("msgid"):
                key = fields["msgid"]
                if "msgctxt" in fields:
                    key = f"{fields['msgctxt']}\x04{key}"
                entries[key] = fields.get("msgstr", "")
            fields, current = {}, ""
        elif line.startswith(("msgctxt ", "msgid ", "msgstr ")):
            current, _, literal = line.partition(" ")
            fields[current] = ast.literal_eval(literal)
        elif line.startswith('"'):
            fields[current] += ast.literal_eval(line)
        assert not line.startswith("#, fuzzy"), "fuzzy entries are not used by gettext"
    return entries


def test_every_portal_string_has_a_romanian_translation() -> None:
    entries = _po_entries(LC_MESSAGES / "django.po")

    assert len(entries) > 80
    assert [msgid for msgid, msgstr in entries.items() if not msgstr] == []
    # Romanian is written with comma-below ș and ț, never the cedilla look-alikes.
    assert [s for s in entries.values() if set(s) & set("şţŞŢ")] == []


def test_the_compiled_catalogue_matches_the_source() -> None:
    entries = _po_entries(LC_MESSAGES / "django.po")
    with (LC_MESSAGES / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)

    assert {key: catalogue._catalog.get(key) for key in entries} == entries  # type: ignore[attr-defined]
