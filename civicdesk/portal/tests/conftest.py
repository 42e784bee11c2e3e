from __future__ import annotations

from typing import Any

import pytest

from civicdesk.cases.models import Case
from civicdesk.cases.selectors import case_by_reference
from civicdesk.cases.services import issue_status_token
from civicdesk.catalogue.models import AttributeDatatype, Service, ServiceAttribute
from civicdesk.channels.services import accept_inbound
from tests.factories import portal_payload


@pytest.fixture
def portal_case(riverton: Any) -> Case:
    """A missed-bin request made through the portal channel, routed to the waste queue."""
    acceptance = accept_inbound(channel="portal", raw=portal_payload(), process_now=True)
    case = case_by_reference(acceptance.payload.result_reference)
    assert case is not None
    return case


@pytest.fixture
def portal_token(portal_case: Case) -> str:
    """The secret of the portal case's status link, issued afresh: only its digest is kept."""
    return issue_status_token(case=portal_case)


@pytest.fixture
def tree_survey(riverton: Any) -> Service:
    """A service asking one question of every Open311 datatype, declared out of order."""
    service = Service.objects.create(
        code="tree", name="Fallen tree", group=riverton.noise.group, description="A tree fell."
    )
    questions: list[dict[str, Any]] = [
        {
            "code": "seen_at",
            "datatype": AttributeDatatype.DATETIME,
            "order": 4,
            "description": "When did you see it?",
        },
        {
            "code": "girth",
            "datatype": AttributeDatatype.NUMBER,
            "order": 3,
            "description": "How wide is the trunk (cm)?",
            "datatype_description": "Roughly.",
        },
        {
            "code": "street",
            "datatype": AttributeDatatype.STRING,
            "order": 1,
            "required": True,
            "description": "Which street?",
        },
        {
            "code": "blocking",
            "datatype": AttributeDatatype.MULTI_VALUE_LIST,
            "order": 5,
            "description": "What does it block?",
            "values": [{"key": "road", "name": "The road"}, {"key": "path", "name": "The path"}],
        },
        {
            "code": "size",
            "datatype": AttributeDatatype.SINGLE_VALUE_LIST,
            "order": 2,
            "required": True,
            "description": "How big is it?",
            "values": [{"key": "small", "name": "Small"}, {"key": "big", "name": "Big"}],
        },
        {
            "code": "details",
            "datatype": AttributeDatatype.TEXT,
            "order": 6,
            "description": "Anything else?",
        },
        {
            "code": "safety",
            "datatype": AttributeDatatype.STRING,
            "order": 7,
            "variable": False,
            "description": "If it blocks a main road, also call 999.",
        },
    ]
    for question in questions:
        ServiceAttribute.objects.create(service=service, **question)
    return service
