import pytest

from switchboard.engine.errors import InvalidTransition
from switchboard.engine.state import (
    TRANSITIONS,
    AccountState,
    StateMachine,
    worst_state,
)

S = AccountState


def test_happy_cycle():
    machine = StateMachine()
    for state in (S.AUTHENTICATING, S.SYNCING, S.IDLE, S.SYNCING, S.IDLE, S.STOPPED):
        machine.move(state)
        assert machine.state is state


def test_failure_paths_return_through_connecting():
    machine = StateMachine()
    machine.move(S.AUTHENTICATING)
    machine.move(S.AUTH_FAILED)
    machine.move(S.CONNECTING)
    machine.move(S.BACKOFF)
    machine.move(S.CONNECTING)
    assert machine.state is S.CONNECTING


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.CONNECTING, S.IDLE),
        (S.BACKOFF, S.IDLE),
        (S.AUTH_FAILED, S.SYNCING),
        (S.STOPPED, S.CONNECTING),
        (S.IDLE, S.AUTHENTICATING),
    ],
)
def test_illegal_moves_raise_naming_both_states(start, target):
    machine = StateMachine(start)
    with pytest.raises(InvalidTransition, match=f"{start.value}.*{target.value}"):
        machine.move(target)
    assert machine.state is start
    assert not machine.can_move(target)


def test_staying_put_is_allowed():
    machine = StateMachine(S.IDLE)
    machine.move(S.IDLE)
    assert machine.can_move(S.IDLE)


def test_table_covers_every_state_and_stopped_is_final():
    assert set(TRANSITIONS) == set(S)
    assert TRANSITIONS[S.STOPPED] == frozenset()
    assert all(S.STOPPED in TRANSITIONS[s] for s in S if s is not S.STOPPED)


def test_invalid_transition_is_an_assertion_error():
    assert issubclass(InvalidTransition, AssertionError)


def test_worst_state():
    assert worst_state([S.IDLE, S.BACKOFF, S.SYNCING], S.IDLE) is S.BACKOFF
    assert worst_state([S.IDLE, S.AUTH_FAILED, S.ERROR], S.IDLE) is S.AUTH_FAILED
    assert worst_state([], S.IDLE) is S.IDLE
    assert S.AUTH_FAILED.value == "authFailed"
