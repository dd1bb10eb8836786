import threading

import pytest

from switchboard import aplus
from switchboard.client.promise import Promise, dictPromise, listPromise

WAIT_S = 5.0


def test_states_keep_the_original_numbers() -> None:
    assert (Promise.PENDING, Promise.REJECTED, Promise.FULFILLED) == (-1, 0, 1)
    assert aplus.Promise is Promise


def test_fulfill_then_get() -> None:
    p = Promise()
    assert p.isPending() and p.is_pending()
    p.fulfill(42)
    assert p.isFulfilled() and p.is_fulfilled() and not p.isRejected()
    assert p.value == 42 and p.state == Promise.FULFILLED
    assert p.get() == 42


def test_settling_twice_is_an_assertion_error() -> None:
    p = Promise()
    p.fulfill(1)
    with pytest.raises(AssertionError):
        p.fulfill(2)
    with pytest.raises(AssertionError):
        p.reject(ValueError())
    q = Promise()
    q.reject(ValueError())
    with pytest.raises(AssertionError):
        q.fulfill(1)


def test_get_on_rejected_raises_value_error_chained_to_the_reason() -> None:
    p = Promise()
    reason = KeyError("gone")
    p.reject(reason)
    assert p.isRejected() and p.is_rejected()
    with pytest.raises(ValueError) as info:
        p.get()
    assert info.value.__cause__ is reason
    assert info.value.reason is reason  # type: ignore[attr-defined]


def test_get_with_non_exception_reason() -> None:
    p = Promise()
    p.reject("nope")
    with pytest.raises(ValueError, match="nope") as info:
        p.get()
    assert info.value.reason == "nope"  # type: ignore[attr-defined]


def test_get_times_out_with_value_error() -> None:
    p = Promise()
    assert p.wait(0.01) is False
    with pytest.raises(ValueError, match="pending"):
        p.get(0.01)


def test_wait_sees_fulfilment_from_another_thread() -> None:
    p = Promise()
    go = threading.Event()

    def settle() -> None:
        go.wait(WAIT_S)
        p.fulfill("x")

    t = threading.Thread(target=settle)
    t.start()
    go.set()
    assert p.wait(WAIT_S) is True
    assert p.get() == "x"
    t.join(WAIT_S)


def test_callbacks_before_and_after_settling() -> None:
    seen: list[object] = []
    p = Promise()
    p.addCallback(seen.append)
    p.add_errback(lambda r: seen.append(("err", r)))
    p.fulfill(1)
    p.add_callback(seen.append)
    p.addErrback(lambda r: seen.append(("err", r)))  # never called: fulfilled
    assert seen == [1, 1]
    q = Promise()
    q.reject("r")
    q.addErrback(seen.append)
    q.addCallback(seen.append)
    assert seen == [1, 1, "r"]


def test_a_raising_callback_is_logged_and_others_run(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []
    p = Promise()

    def boom(_: object) -> None:
        raise RuntimeError("callback bug")

    p.addCallback(boom)
    p.addCallback(seen.append)
    p.fulfill(7)
    assert seen == [7]
    assert "callback bug" in caplog.text


def test_then_transforms_and_chains() -> None:
    p = Promise()
    chained = p.then(lambda v: v + 1).then(lambda v: v * 10)
    p.fulfill(1)
    assert chained.get(WAIT_S) == 20


def test_then_with_no_success_handler_passes_the_value_through_when_pending() -> None:
    # The original's bug: then(None, f) on a pending promise never settled.
    p = Promise()
    derived = p.then(None, lambda r: "recovered")
    p.fulfill("value")
    assert derived.get(WAIT_S) == "value"


def test_then_with_no_failure_handler_passes_the_rejection_through() -> None:
    p = Promise()
    derived = p.then(lambda v: v)
    err = RuntimeError("x")
    p.reject(err)
    assert derived.isRejected() and derived.reason is err


def test_failure_handler_recovers_and_catch() -> None:
    p = Promise()
    recovered = p.catch(lambda r: f"handled {r}")
    p.reject("boom")
    assert recovered.get(WAIT_S) == "handled boom"


def test_a_raising_handler_rejects_the_chained_promise() -> None:
    p = Promise()
    err = ZeroDivisionError("div")
    derived = p.then(lambda v: (_ for _ in ()).throw(err))
    p.fulfill(1)
    assert derived.isRejected() and derived.reason is err


def test_then_follows_a_returned_promise() -> None:
    p = Promise()
    inner = Promise()
    derived = p.then(lambda v: inner)
    p.fulfill(1)
    assert derived.isPending()
    inner.fulfill("inner value")
    assert derived.get(WAIT_S) == "inner value"
    q = Promise()
    inner2 = Promise()
    derived2 = q.then(lambda v: inner2)
    q.fulfill(1)
    inner2.reject("inner failed")
    assert derived2.isRejected() and derived2.reason == "inner failed"


def test_then_on_already_settled_promise() -> None:
    p = Promise()
    p.fulfill(2)
    assert p.then(lambda v: v * 2).get() == 4


def test_a_promise_returning_itself_from_then_is_rejected() -> None:
    p = Promise()
    holder: list[Promise] = []
    derived = p.then(lambda v: holder[0])
    holder.append(derived)
    p.fulfill(1)
    assert derived.isRejected() and isinstance(derived.reason, TypeError)


def test_list_promise() -> None:
    a, b = Promise(), Promise()
    both = listPromise(a, b)
    b.fulfill("b")
    assert both.isPending()
    a.fulfill("a")
    assert both.get(WAIT_S) == ["a", "b"]
    assert listPromise().get() == []


def test_list_promise_rejects_once_on_first_rejection() -> None:
    a, b = Promise(), Promise()
    both = listPromise(a, b)
    a.reject("first")
    b.reject("second")
    assert both.isRejected() and both.reason == "first"


def test_dict_promise() -> None:
    a, b = Promise(), Promise()
    combined = dictPromise({"x": a, "y": b})
    a.fulfill(1)
    b.fulfill(2)
    assert combined.get(WAIT_S) == {"x": 1, "y": 2}
    assert aplus.dictPromise is dictPromise and aplus.listPromise is listPromise


def test_repr_names_the_state() -> None:
    p = Promise()
    assert "pending" in repr(p)
    p.fulfill(None)
    assert "fulfilled" in repr(p)
