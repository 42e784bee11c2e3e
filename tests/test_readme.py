"""The README, read as a new user would: its logins and commands are the real ones."""

from __future__ import annotations

import shlex

import pytest
from django.core.management import CommandError, get_commands, load_command_class

from civicdesk.demo.organisation import DEMO_PASSWORD, FEATURED_LOGINS
from tests.readme import README, demo_logins, operator_commands


def test_the_readme_lists_the_demo_logins_of_the_demo_organisation() -> None:
    assert demo_logins() == [(who, member.address) for who, member in FEATURED_LOGINS]
    assert f"password `{DEMO_PASSWORD}`" in README.read_text()


def _arguments(command: str) -> list[str]:
    """The words of a README command with `[optional]` brackets dropped and each placeholder
    (a word in capitals, such as EMAIL or N) given a value."""
    words = shlex.split(command.replace("[", " ").replace("]", " "))
    return ["1" if word.isupper() else word for word in words]


@pytest.mark.parametrize("command", operator_commands())
def test_every_command_in_the_readme_exists_with_the_options_it_describes(command: str) -> None:
    program, name, *arguments = _arguments(command)
    assert program == "civicdesk"
    assert name in get_commands(), f"{name} is not a command"

    parser = load_command_class(get_commands()[name], name).create_parser("civicdesk", name)

    parser.parse_args(arguments)  # an unknown subcommand or option raises CommandError


def test_an_option_the_commands_do_not_have_is_caught() -> None:
    parser = load_command_class("civicdesk.cases", "cases").create_parser("civicdesk", "cases")

    with pytest.raises(CommandError, match="unrecognized arguments: --no-such-option"):
        parser.parse_args(["list", "--no-such-option"])
