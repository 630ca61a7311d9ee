"""Work on many minions at once: the one place that decides how many run side by side (--forks), and how such
work reports progress (``Say``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

Say = Callable[[str], None]
"""Where work reports progress, one line per event (the CLI prints them to stderr)."""


def workers(forks: int, items: int) -> int:
    return max(1, min(forks, items))


def in_parallel(work: Callable[[T], R], items: Sequence[T], forks: int) -> list[R]:
    """work(item) for every item, at most ``forks`` at a time; the results in the order of the items."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=workers(forks, len(items))) as pool:
        return list(pool.map(work, items))
