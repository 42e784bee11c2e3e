from typing import Any

from civicdesk.cases.selectors import case_by_reference
from civicdesk.channels.services import accept_inbound
from tests.factories import portal_payload


def test_a_portal_request_becomes_a_routed_case(riverton: Any) -> None:
    acceptance = accept_inbound(channel="portal", raw=portal_payload(), process_now=True)
    case = case_by_reference(acceptance.payload.result_reference)
    assert case is not None
    assert case.queue == riverton.waste_queue
    assert case.assignee in (riverton.ann, riverton.bob)
