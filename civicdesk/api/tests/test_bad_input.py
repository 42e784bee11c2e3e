"""Bad input is refused with a clear JSON 422 (or 404/405) before anything is stored, alike on
SQLite and PostgreSQL; every API error is JSON."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from django.test import RequestFactory

from civicdesk.api.error_views import server_error
from civicdesk.api.tests.contacts import assert_nothing_stored, contact

pytestmark = pytest.mark.django_db(transaction=True)

FILE = base64.b64encode(b"%PDF-1.4 a photo of the bin").decode()


def attachment(**changes: Any) -> dict[str, Any]:
    return {
        "filename": "bin.pdf",
        "content_type": "application/pdf",
        "content_b64": FILE,
        **changes,
    }


def refused_fields(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return [(error["field"], error["message"]) for error in response.json()["errors"]]


NUL_REFUSAL = "Value error, contains a NUL character (\\u0000), which cannot be stored"


def test_a_nul_in_external_id_is_refused_before_anything_is_stored(api: httpx.Client) -> None:
    response = api.post("/contacts", json=contact(external_id="crm-\u00001"))

    assert refused_fields(response) == [("external_id", NUL_REFUSAL)]
    assert_nothing_stored()


def test_a_nul_in_any_text_of_the_body_is_refused(api: httpx.Client) -> None:
    response = api.post(
        "/contacts",
        json=contact(
            body="bin\u0000",
            citizen={"name": "Jo\u0000", "email": "jo@mail.example"},
            answers={"bin_type": "general", "address": ["1 River\u0000Street"], "k\u0000": 1},
        ),
    )

    assert refused_fields(response) == [
        ("citizen.name", NUL_REFUSAL),
        ("body", NUL_REFUSAL),
        ("answers", "Value error, contains a NUL character (\\u0000) at address.0, k\\u0000"),
    ]
    assert_nothing_stored()


def test_a_nul_in_a_reply_or_a_filter_is_refused(api: httpx.Client) -> None:
    reply = api.post("/cases/RIV-2026-000001/replies", json={"body": "Hello\u0000"})
    listing = api.get("/cases", params={"service": "missed\u0000bin"})
    case = api.get("/cases/RIV%00")

    assert refused_fields(reply) == [("body", NUL_REFUSAL)]
    assert refused_fields(listing) == [("service", NUL_REFUSAL)]
    assert case.status_code == 404
    assert case.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/pdf\r\nX-Injected: yes",
        "application/pdf\n",
        "application/pdf\u0000",
        "pdf",
        "application/pdf; name",
        "appli cation/pdf",
        'application/pdf; charset="a\r\nb"',
    ],
)
def test_an_attachment_type_that_is_not_a_mime_type_is_refused(
    api: httpx.Client, content_type: str
) -> None:
    response = api.post(
        "/contacts", json=contact(attachments=[attachment(content_type=content_type)])
    )

    assert refused_fields(response) == [
        (
            "attachments.0.content_type",
            "Value error, is not a MIME type: expected type/subtype with optional ; name=value "
            "parameters, without control characters",
        )
    ]
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("bin\r\n.pdf", "contains a control character (CR, LF, NUL or another)"),
        ("bin\u0000.pdf", "contains a control character (CR, LF, NUL or another)"),
        ("../etc/passwd", "contains a path separator; give the file's name only"),
        ("C:\\bin.pdf", "contains a path separator; give the file's name only"),
        ("..", "is not a file name"),
    ],
)
def test_an_attachment_name_that_is_unsafe_is_refused(
    api: httpx.Client, filename: str, message: str
) -> None:
    response = api.post("/contacts", json=contact(attachments=[attachment(filename=filename)]))

    assert refused_fields(response) == [("attachments.0.filename", f"Value error, {message}")]
    assert_nothing_stored()


def test_a_well_formed_attachment_type_with_parameters_is_accepted(api: httpx.Client) -> None:
    response = api.post(
        "/contacts",
        json=contact(
            attachments=[attachment(content_type='text/plain; charset="utf-8"', filename="n.txt")]
        ),
    )

    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": "9223372036854775808"}, "offset"),
        ({"offset": "1000000001"}, "offset"),
        ({"offset": "-1"}, "offset"),
        ({"limit": "201"}, "limit"),
        ({"limit": "99999999999999999999999"}, "limit"),
    ],
)
def test_an_out_of_range_offset_or_limit_is_a_json_422(
    api: httpx.Client, params: dict[str, str], field: str
) -> None:
    response = api.get("/cases", params=params)

    assert [name for name, _ in refused_fields(response)] == [field]


def test_unknown_api_addresses_and_wrong_methods_answer_json(
    api: httpx.Client, base_url: str
) -> None:
    unknown = api.get("/no-such-thing")
    wrong_method = api.delete("/contacts")

    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No API endpoint at /api/v1/no-such-thing."}
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"detail": "DELETE is not allowed here; allowed: POST."}
    assert wrong_method.headers["Allow"] == "POST"
    # Outside the API the site's own pages answer, as before.
    page = httpx.get(base_url.removesuffix("/api/v1") + "/no/such/page/", timeout=10)
    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")


def test_a_server_error_under_the_api_is_json() -> None:
    response = server_error(RequestFactory().get("/api/v1/cases"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.content == (
        b'{"detail": "Something went wrong on our side; it was logged. Try again later."}'
    )
    assert server_error(RequestFactory().get("/services/"))["Content-Type"].startswith("text/html")
