"""The asyncio client's push queue: bounded, resynced after an overflow, emptied on reconnect."""

from __future__ import annotations

from switchboard.client.errors import CommandError
from switchboard.client.pushqueue import END, PushQueue
from switchboard.client.session import Push


def push(n: int) -> Push:
    return Push("newMessage", {"messageId": f"INBOX!1?{n}", "eventId": n})


def test_pushes_come_out_in_order_then_none_until_more_arrive() -> None:
    queue = PushQueue(max_queue=3)
    assert queue.get() is None
    for n in (1, 2):
        assert queue.put(push(n))
    assert [queue.get(), queue.get(), queue.get()] == [push(1), push(2), None]


def test_an_overflow_drops_the_rest_of_the_connection_then_asks_for_one_resync() -> None:
    queue = PushQueue(max_queue=2)
    assert [queue.put(push(n)) for n in (1, 2, 3)] == [True, True, False]
    error = CommandError("cannotCalculateChanges", method="watchAll")
    queue.put_error(error)  # errors are not pushes: never dropped, never counted
    assert queue.get() == push(1)
    assert not queue.put(push(4))  # room again, but after a gap: handing it out would skip 3
    assert queue.dropped == 2
    assert not queue.resync_due()  # push 2 is still waiting
    assert [queue.get(), queue.get()] == [push(2), error]
    assert queue.resync_due() and not queue.resync_due()  # once per overflow


def test_a_lost_connection_drops_queued_pushes_keeps_errors_and_forgets_the_gap() -> None:
    queue = PushQueue(max_queue=1)
    queue.put(push(1))
    queue.put(push(2))  # overflow
    error = CommandError("x")
    queue.put_error(error)
    queue.connection_lost(final=False)
    assert not queue.resync_due()  # the resumed stream has no gap
    assert queue.put(push(1))
    assert [queue.get(), queue.get(), queue.get()] == [error, push(1), None]


def test_the_end_comes_after_what_is_queued_and_stays() -> None:
    queue = PushQueue()
    queue.put(push(1))
    queue.connection_lost(final=True)
    assert [queue.get(), queue.get(), queue.get()] == [push(1), END, END]
