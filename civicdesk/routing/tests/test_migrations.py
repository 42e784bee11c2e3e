"""The keyword-rule migration's reverse gives back the code it kept in an unmatched rule's name."""

from __future__ import annotations

import importlib

import pytest

migration = importlib.import_module(
    "civicdesk.routing.migrations.0002_keyword_rule_links_its_service"
)


@pytest.mark.parametrize("code", ["bins", "o'neil", 'say "hi"', ""])
def test_the_code_marked_in_an_unmatched_rules_name_is_restored(code: str) -> None:
    marked = "Bin complaints" + migration.UNMATCHED_MARK.format(code=code)

    assert migration._unmark(marked) == ("Bin complaints", code)


def test_an_unmarked_name_is_left_alone_with_no_code() -> None:
    assert migration._unmark("Bin complaints") == ("Bin complaints", "")
