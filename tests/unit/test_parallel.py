"""kubeplay.parallel: work on many minions at once, on plain threads."""

from __future__ import annotations

import threading

import pytest

from kubeplay.parallel import in_background, in_parallel


def test_results_come_in_the_order_of_the_items_at_most_forks_at_a_time() -> None:
    running, most, lock = 0, 0, threading.Lock()
    release = threading.Barrier(2)

    def work(item: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if item < 2:
            release.wait(timeout=10)  # (the first two run side by side, or this times out)
        with lock:
            running -= 1
        return item * 10

    assert in_parallel(work, list(range(7)), forks=2) == [0, 10, 20, 30, 40, 50, 60]
    assert most == 2


def test_every_item_is_worked_on_then_the_first_failure_in_item_order_is_raised() -> None:
    done: list[int] = []

    def work(item: int) -> int:
        if item in (1, 3):
            raise ValueError(f"item {item}")
        done.append(item)
        return item

    with pytest.raises(ValueError, match="item 1"):
        in_parallel(work, list(range(5)), forks=3)
    assert sorted(done) == [0, 2, 4]


def test_work_in_the_background_gives_what_it_returned_or_raises_what_it_raised() -> None:
    assert in_background(lambda x: x + 1, 41).result() == 42
    failing = in_background(lambda x: 1 // x, 0)
    failing.wait()
    assert failing.done() and failing.failed()
    with pytest.raises(ZeroDivisionError):
        failing.result()
    assert in_parallel(lambda x: x, [], forks=4) == []
