"""The work queue's contract: de-duplication, one worker per key, backoff that success forgets."""

from __future__ import annotations

from reconciler.daemon.queue import BackoffSettings, WorkQueue


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_queue() -> tuple[WorkQueue[str], FakeClock]:
    clock = FakeClock()
    return WorkQueue(clock=clock, backoff=BackoffSettings(base_seconds=1.0, max_seconds=8.0)), clock


def test_a_key_added_twice_is_handed_out_once() -> None:
    queue, _ = make_queue()
    queue.add("a")
    queue.add("a")
    assert queue.take_due() == {"a"}
    assert queue.take_due() == set()


def test_the_earlier_due_time_wins() -> None:
    queue, clock = make_queue()
    queue.add("a", after=60)
    queue.add("a", after=5)
    clock.now += 5
    assert queue.take_due() == {"a"}


def test_a_key_in_flight_is_not_handed_out_again_until_done() -> None:
    queue, _ = make_queue()
    queue.add("a")
    assert queue.take_due() == {"a"}
    queue.add("a")
    assert queue.take_due() == set()
    queue.done("a")
    assert queue.take_due() == {"a"}


def test_backoff_doubles_up_to_the_cap_and_success_forgets_it() -> None:
    queue, _ = make_queue()
    delays = [queue.add_rate_limited("a") for _ in range(5)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert queue.retries_total == 5
    queue.forget("a")
    assert queue.add_rate_limited("a") == 1.0


def test_keys_are_due_only_once_their_time_has_come() -> None:
    queue, clock = make_queue()
    queue.add("slow", after=30)
    queue.add("soon", after=1)
    assert queue.take_due() == set()
    assert queue.next_due() == clock.now + 1
    clock.now += 1
    assert queue.take_due() == {"soon"}
    assert len(queue) == 1


def test_discarded_keys_are_gone() -> None:
    queue, _ = make_queue()
    queue.add("a")
    queue.discard("a")
    assert queue.take_due() == set()
    assert len(queue) == 0
