"""A thread-safe Promises/A+ style promise with the API of the original client's ``aplus`` module.

``send_cmds()`` of the threaded client returns a :class:`Promise`. It keeps the original's names
and states (``PENDING=-1``, ``REJECTED=0``, ``FULFILLED=1``, ``isPending()``, ``addCallback()``,
``then()``, ``get()`` …) and fixes its bugs:

* ``then(None, f)`` passes a fulfilment value through to the derived promise (and ``then(f)``
  passes a rejection through), also when the promise is still pending;
* a ``then`` callback that raises rejects the derived promise with that exception;
* ``wait()`` cannot miss a settlement made by another thread (one lock and a condition);
* callbacks added with ``addCallback``/``addErrback`` that raise are logged, not silently dropped.

Callbacks run on the thread that settles the promise, or at once on the caller's thread when the
promise is already settled. For the threaded client that is the reader thread: a callback that
blocks stops the delivery of every later frame.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar, overload

__all__ = ["Promise", "dictPromise", "listPromise"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")
K = TypeVar("K")


class Promise(Generic[T]):
    """A value of type ``T`` that will be available later, or a reason why it will not.

    ``send_cmds`` returns a ``Promise[tuple[cmds, resps]]``. A ``then`` handler may return a
    promise-like object, which the derived promise follows; its value type is not checked.

    Attributes:
        value: the fulfilment value (``None`` until fulfilled).
        reason: the rejection reason, usually an exception (``None`` until rejected).
    """

    PENDING = -1
    REJECTED = 0
    FULFILLED = 1

    def __init__(self) -> None:
        self._state = self.PENDING
        self.value: T | None = None
        self.reason: object = None
        # One condition guards the state and the callback lists, so wait() and fulfill() on
        # different threads cannot race (the original checked the state outside any lock).
        self._cond = threading.Condition()
        self._callbacks: list[Callable[[T], object]] = []
        self._errbacks: list[Callable[[object], object]] = []

    # -- settling ---------------------------------------------------------------------------

    def fulfill(self, value: T) -> None:
        """Fulfil the promise with ``value`` and run the success callbacks.

        Raises:
            AssertionError: the promise is already settled (kept from the original).
        """
        with self._cond:
            assert self._state == self.PENDING, "promise already settled"
            self._state = self.FULFILLED
            self.value = value
            callbacks, self._callbacks, self._errbacks = self._callbacks, [], []
            self._cond.notify_all()
        for callback in callbacks:
            _run_logged(callback, value)

    def reject(self, reason: object) -> None:
        """Reject the promise with ``reason`` (normally an exception) and run the errbacks.

        Raises:
            AssertionError: the promise is already settled (kept from the original).
        """
        with self._cond:
            assert self._state == self.PENDING, "promise already settled"
            self._state = self.REJECTED
            self.reason = reason
            errbacks, self._callbacks, self._errbacks = self._errbacks, [], []
            self._cond.notify_all()
        for errback in errbacks:
            _run_logged(errback, reason)

    # -- inspecting -------------------------------------------------------------------------

    @property
    def state(self) -> int:
        """``PENDING``, ``REJECTED`` or ``FULFILLED``."""
        return self._state

    def isPending(self) -> bool:  # noqa: N802 - the original's name
        """Return True while neither fulfilled nor rejected."""
        return self._state == self.PENDING

    def isFulfilled(self) -> bool:  # noqa: N802 - the original's name
        """Return True once fulfilled."""
        return self._state == self.FULFILLED

    def isRejected(self) -> bool:  # noqa: N802 - the original's name
        """Return True once rejected."""
        return self._state == self.REJECTED

    is_pending = isPending
    is_fulfilled = isFulfilled
    is_rejected = isRejected

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the promise settles or ``timeout`` seconds pass.

        Returns:
            True if the promise is settled, False if the timeout passed first.
        """
        with self._cond:
            return self._cond.wait_for(lambda: self._state != self.PENDING, timeout)

    def get(self, timeout: float | None = None) -> T:
        """Wait for the promise and return its value.

        Raises:
            ValueError: the promise was rejected, or is still pending after ``timeout`` seconds
                (the original's contract). When rejected with an exception, that exception is
                the ``__cause__``; the reason is also on the error's ``reason`` attribute.
        """
        self.wait(timeout)
        with self._cond:
            state, value, reason = self._state, self.value, self.reason
        if state == self.FULFILLED:
            return value  # type: ignore[return-value]  # T, set by fulfill()
        if state == self.PENDING:
            error = ValueError(f"promise still pending after {timeout} s")
            error.reason = None  # type: ignore[attr-defined]
            raise error
        error = ValueError(f"promise rejected: {reason!r}")
        error.reason = reason  # type: ignore[attr-defined]
        if isinstance(reason, BaseException):
            raise error from reason
        raise error

    # -- chaining ---------------------------------------------------------------------------

    def addCallback(self, f: Callable[[T], object]) -> None:  # noqa: N802 - the original's name
        """Call ``f(value)`` when fulfilled (at once if already fulfilled)."""
        with self._cond:
            if self._state == self.PENDING:
                self._callbacks.append(f)
                return
            fulfilled, value = self._state == self.FULFILLED, self.value
        if fulfilled:
            _run_logged(f, value)  # type: ignore[arg-type]  # T, set by fulfill()

    def addErrback(self, f: Callable[[object], object]) -> None:  # noqa: N802 - the original's name
        """Call ``f(reason)`` when rejected (at once if already rejected)."""
        with self._cond:
            if self._state == self.PENDING:
                self._errbacks.append(f)
                return
            rejected, reason = self._state == self.REJECTED, self.reason
        if rejected:
            _run_logged(f, reason)

    add_callback = addCallback
    add_errback = addErrback

    @overload
    def then(self, success: Callable[[T], U],
             failure: Callable[[object], U] | None = None) -> Promise[U]: ...

    @overload
    def then(self, success: None = None,
             failure: Callable[[object], U] | None = None) -> Promise[T | U]: ...

    def then(self, success: Callable[[T], U] | None = None,
             failure: Callable[[object], U] | None = None) -> Promise[U] | Promise[T | U]:
        """Return a new promise settled by ``success(value)`` or ``failure(reason)``.

        A missing handler passes the value or the rejection through unchanged. A handler's
        return value fulfils the new promise, unless it is promise-like (has ``then``), in which
        case the new promise follows it. A handler that raises rejects the new promise with the
        exception.
        """
        derived: Promise[T | U] = Promise()

        def on_value(value: T) -> None:
            if success is None:
                derived.fulfill(value)
            else:
                _settle_with(derived, success, value)

        def on_reason(reason: object) -> None:
            if failure is None:
                derived.reject(reason)
            else:
                _settle_with(derived, failure, reason)

        self.addCallback(on_value)
        self.addErrback(on_reason)
        return derived

    def catch(self, failure: Callable[[object], U]) -> Promise[T | U]:
        """Shorthand for ``then(None, failure)``."""
        return self.then(None, failure)

    def __repr__(self) -> str:
        names = {self.PENDING: "pending", self.REJECTED: "rejected", self.FULFILLED: "fulfilled"}
        return f"<Promise {names[self._state]}>"


def _settle_with(derived: Promise[U], handler: Callable[[T], U], arg: T) -> None:
    try:
        result = handler(arg)
    except Exception as exc:  # the Promises/A+ rule: a throwing handler rejects the chain
        derived.reject(exc)
        return
    _follow(derived, result)


def _follow(derived: Promise[U], result: U) -> None:
    """Settle ``derived`` with ``result``, adopting its outcome when it is promise-like."""
    follows_itself = result is derived  # a flag, so that derived keeps its type below
    if follows_itself:
        derived.reject(TypeError("a promise cannot follow itself"))
        return
    then = getattr(result, "then", None)
    if callable(then):
        then(derived.fulfill, derived.reject)
    else:
        derived.fulfill(result)


def _run_logged(callback: Callable[[T], object], arg: T) -> None:
    try:
        callback(arg)
    except Exception:
        # The original swallowed these silently; a plain callback has no promise to reject, so
        # the traceback goes to the log and the settling thread (the reader) carries on.
        logger.exception("promise callback %r raised", callback)


def listPromise(*promises: Promise[T]) -> Promise[list[T]]:  # noqa: N802 - the original's name
    """Return a promise fulfilled with the list of the values of ``promises``, in order.

    It is rejected with the first rejection reason. No promises give an immediate ``[]``.
    """
    combined: Promise[list[T]] = Promise()
    values: list[T | None] = [None] * len(promises)
    # remaining counts unsettled inputs; settled is set once, under the lock, by whichever
    # input settles the combined promise, so two threads can never both settle it.
    state = {"remaining": len(promises), "settled": False}
    lock = threading.Lock()
    if not promises:
        combined.fulfill([])
        return combined

    def make_callback(index: int) -> Callable[[T], None]:
        def on_value(value: T) -> None:
            with lock:
                values[index] = value
                state["remaining"] -= 1
                done = state["remaining"] == 0 and not state["settled"]
                state["settled"] = state["settled"] or done
            if done:
                combined.fulfill(list(values))  # type: ignore[arg-type]  # all set by now

        return on_value

    def on_reason(reason: object) -> None:
        with lock:
            first = not state["settled"]
            state["settled"] = True
        if first:
            combined.reject(reason)

    for index, promise in enumerate(promises):
        promise.addCallback(make_callback(index))
        promise.addErrback(on_reason)
    return combined


def dictPromise(promises: Mapping[K, Promise[T]]) -> Promise[dict[K, T]]:  # noqa: N802 - original
    """Return a promise fulfilled with a dict mapping each key to its promise's value."""
    keys = list(promises)
    return listPromise(*(promises[k] for k in keys)).then(
        lambda values: dict(zip(keys, values, strict=True))
    )
