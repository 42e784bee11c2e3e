from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from civicdesk.accounts.models import ApiToken
from civicdesk.accounts.services import authenticate_api_token


def test_token_create_prints_only_a_working_token(riverton: Any) -> None:
    out = StringIO()
    call_command("token", "create", "--user", "ANN@riverton.example", stdout=out)

    key = out.getvalue().removesuffix("\n")
    assert "\n" not in key
    assert key.startswith("cd_")
    assert authenticate_api_token(key=key) == riverton.ann
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.prefix) == (riverton.ann, "cli", key[:8])
    assert token.key_digest != key


def test_token_create_names_the_token(riverton: Any) -> None:
    call_command(
        "token", "create", "--user", riverton.bob.email, "--name", "crm", stdout=StringIO()
    )

    assert list(ApiToken.objects.values_list("user__email", "name")) == [
        ("bob@riverton.example", "crm")
    ]


def test_token_create_for_an_unknown_user_fails_and_issues_nothing(riverton: Any) -> None:
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("token", "create", "--user", "nobody@riverton.example", stdout=out)

    assert str(error.value) == (
        "No active staff user with email 'nobody@riverton.example'. "
        "Create the user first, or check the address."
    )
    assert out.getvalue() == ""
    assert ApiToken.objects.count() == 0
