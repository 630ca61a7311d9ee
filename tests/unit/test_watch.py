"""`get -w` (cli/watch.py) ends with exit 0 on Ctrl-C once a round was shown, wherever in the round Ctrl-C lands."""

from __future__ import annotations

import threading

import pytest

from kubeplay.cli.exitcodes import EXIT_OK
from kubeplay.cli.watch import watch
from kubeplay.connectors.base import Connector
from kubeplay.model import Observed
from kubeplay.parallel import in_parallel


def interrupt_the_next_wait_as_it_lets_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next Condition.wait is interrupted as SIGINT arriving just after it let go of its lock interrupts it
    (its handler runs at the eval loop's check after that C call): before the `try` that takes the lock back."""
    release_save = threading.Condition._release_save  # type: ignore[attr-defined]

    def let_go_then_interrupted(self: threading.Condition) -> None:
        release_save(self)
        monkeypatch.setattr(threading.Condition, "_release_save", release_save)
        raise KeyboardInterrupt

    monkeypatch.setattr(threading.Condition, "_release_save", let_go_then_interrupted)


def test_ctrl_c_just_as_a_wait_lets_go_of_its_lock_is_a_runtime_error_from_threading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (what the next test's round meets: the Event.wait of Thread.start raises another exception than Ctrl-C's)
    interrupt_the_next_wait_as_it_lets_go(monkeypatch)
    with pytest.raises(RuntimeError, match="release unlocked lock") as raised:
        threading.Event().wait(5)
    assert isinstance(raised.value.__context__, KeyboardInterrupt)


def test_ctrl_c_that_threading_turns_into_another_error_still_ends_the_watch_with_0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `get pods -w` on the lab, Ctrl-C at hundreds of moments of a round: once it ended 250 ("internal error:
    # RuntimeError: release unlocked lock"), Ctrl-C having come as in_parallel started its threads
    shown: list[int] = []

    def look(connect: Connector) -> Observed:
        shown.append(len(shown) + 1)
        if len(shown) == 2:
            interrupt_the_next_wait_as_it_lets_go(monkeypatch)
        in_parallel(lambda minion: minion, ["minion-1", "minion-2"], 2)  # (Thread.start waits for each thread)
        return Observed({})

    assert watch(look, lambda minion: pytest.fail("not connected here"), 0.0, "kubeplay get pods -w") == EXIT_OK
    assert shown == [1, 2]


def test_an_error_that_is_not_ctrl_cs_still_ends_the_watch_with_it() -> None:
    def look(connect: Connector) -> Observed:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        watch(look, lambda minion: pytest.fail("not connected here"), 0.0, "kubeplay get pods -w")
