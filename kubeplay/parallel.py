"""Work on many minions at once: the one place that decides how many run side by side (--forks), and how such
work reports progress (``Say``).

Plain threads, not ``concurrent.futures``: its import (with its queue and heap modules) was ~3-4 ms of every
command's start-up, for a pool that only ever ran one batch of items and a future that was only ever waited on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Say = Callable[[str], None]
"""Where work reports progress, one line per event (the CLI prints them to stderr)."""


def workers(forks: int, items: int) -> int:
    return max(1, min(forks, items))


class Pending(Generic[R]):
    """What work done on another thread returns or raises, once it is done: ``result`` waits for it."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: R | None = None
        self._error: BaseException | None = None

    def succeed(self, value: R) -> None:
        self._value = value
        self._done.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    def settle(self, work: Callable[[T], R], item: T) -> None:
        """Do ``work(item)`` here, and keep what it returns or raises."""
        try:
            value = work(item)
        except BaseException as exc:  # (raised again by result, in the thread that waits for it)
            self.fail(exc)
        else:
            self.succeed(value)

    def done(self) -> bool:
        return self._done.is_set()

    def failed(self) -> bool:
        """Whether it is done and raised."""
        return self.done() and self._error is not None

    def wait(self) -> None:
        """Wait until it is done."""
        self._done.wait()

    def result(self) -> R:
        """What the work returned, once it is done; raises what it raised."""
        self.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # (set by succeed: R may be None itself)


def in_background(work: Callable[[T], R], item: T) -> Pending[R]:
    """``work(item)`` started on a thread of its own."""
    pending: Pending[R] = Pending()
    threading.Thread(target=pending.settle, args=(work, item), name="kubeplay-background").start()
    return pending


def in_parallel(work: Callable[[T], R], items: Sequence[T], forks: int) -> list[R]:
    """work(item) for every item, at most ``forks`` at a time; the results in the order of the items. Every item is
    worked on, even when one fails; then the first failure in the order of the items is raised."""
    if not items:
        return []
    pending: list[Pending[R]] = [Pending() for _ in items]
    queue = iter(zip(items, pending, strict=True))
    taking = threading.Lock()

    def work_on() -> None:
        while True:
            with taking:
                taken = next(queue, None)
            if taken is None:
                return
            taken[1].settle(work, taken[0])

    threads = [threading.Thread(target=work_on, name="kubeplay-parallel") for _ in range(workers(forks, len(items)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [p.result() for p in pending]
