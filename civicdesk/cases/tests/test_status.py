import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicdesk.cases.kernels.status import (
    ACCEPTS_CONTACT,
    TRANSITIONS,
    CaseStatus,
    InvalidTransition,
    allowed_targets,
    can_transition,
    check_transition,
    status_after_agent_reply,
    status_after_citizen_contact,
)

statuses = st.sampled_from(list(CaseStatus))


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(CaseStatus)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (CaseStatus.NEW, CaseStatus.OPEN, True),
        (CaseStatus.OPEN, CaseStatus.WAITING, True),
        (CaseStatus.WAITING, CaseStatus.OPEN, True),
        (CaseStatus.OPEN, CaseStatus.RESOLVED, True),
        (CaseStatus.RESOLVED, CaseStatus.REOPENED, True),
        (CaseStatus.CLOSED, CaseStatus.REOPENED, True),
        (CaseStatus.CLOSED, CaseStatus.OPEN, False),
        (CaseStatus.RESOLVED, CaseStatus.OPEN, False),
        (CaseStatus.OPEN, CaseStatus.NEW, False),
        (CaseStatus.REOPENED, CaseStatus.NEW, False),
    ],
)
def test_transition_table(current: CaseStatus, target: CaseStatus, allowed: bool) -> None:
    assert can_transition(current, target) is allowed


def test_a_refused_transition_names_both_statuses() -> None:
    with pytest.raises(InvalidTransition, match="from closed to open"):
        check_transition(CaseStatus.CLOSED, CaseStatus.OPEN)


@given(statuses)
def test_no_status_transitions_to_itself_or_back_to_new(status: CaseStatus) -> None:
    assert status not in allowed_targets(status)
    assert CaseStatus.NEW not in allowed_targets(status)


@given(statuses)
def test_every_status_can_eventually_be_closed(status: CaseStatus) -> None:
    seen, frontier = {status}, [status]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert CaseStatus.CLOSED in seen or status is CaseStatus.CLOSED


@given(statuses)
def test_automatic_changes_follow_the_table(status: CaseStatus) -> None:
    for after in (status_after_citizen_contact(status), status_after_agent_reply(status)):
        assert after == status or can_transition(status, after)


def test_citizen_contact_reopens_resolved_and_wakes_waiting_cases() -> None:
    assert status_after_citizen_contact(CaseStatus.RESOLVED) is CaseStatus.REOPENED
    assert status_after_citizen_contact(CaseStatus.CLOSED) is CaseStatus.REOPENED
    assert status_after_citizen_contact(CaseStatus.WAITING) is CaseStatus.OPEN
    assert status_after_citizen_contact(CaseStatus.NEW) is CaseStatus.NEW
    assert CaseStatus.CLOSED not in ACCEPTS_CONTACT


def test_agent_reply_opens_new_and_reopened_cases_only() -> None:
    assert status_after_agent_reply(CaseStatus.NEW) is CaseStatus.OPEN
    assert status_after_agent_reply(CaseStatus.REOPENED) is CaseStatus.OPEN
    assert status_after_agent_reply(CaseStatus.WAITING) is CaseStatus.WAITING
