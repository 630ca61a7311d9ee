"""The command line's one error boundary: usage errors, bugs and hostile text as scripts and terminals need them."""

from __future__ import annotations

import argparse

import pytest

from kubeplay.cli import commands, ending, main
from kubeplay.cli.exitcodes import EXIT_CHANGED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE
from kubeplay.cli.render import printable
from kubeplay.errors import MinionError


@pytest.mark.parametrize(
    "argv",
    [["bogus"], ["apply"], ["apply", "-f", "x", "--forks", "many"], ["get", "widgets"], ["--no-such-option"], []],
)
def test_a_usage_error_has_its_own_exit_code(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == EXIT_USAGE != EXIT_CHANGED
    assert "usage: kubeplay" in capsys.readouterr().err


def test_a_bug_is_one_line_and_its_own_exit_code_and_with_vv_its_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(commands, "validate", broken)
    assert main(["validate"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = (
        "error: internal error: ZeroDivisionError: division by zero; "
        "this is a bug in kubeplay: please report it with the output of -vv"
    )
    assert err.strip().splitlines() == [line]

    assert main(["validate", "-vv"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.splitlines()[0] == line
    assert "Traceback (most recent call last)" in err
    assert 'raise ZeroDivisionError("division by zero")' in err


def test_control_characters_never_reach_the_terminal() -> None:
    hostile = "web\x1b]0;owned\x07\x1b[2J\rpod\x7f"
    shown = printable(hostile)
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in shown)
    assert shown == "web\\x1b]0;owned\\x07\\x1b[2J\\x0dpod\\x7f"
    assert printable("two\nlines\tand a tab") == "two\nlines\tand a tab"


def test_problems_in_the_input_are_printed_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["validate", "-f", "/nonexistent/\x1b[31mred.json", "-i", "tests/unit/data/inventory/cluster-ini/hosts.ini"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "\x1b" not in err and "\\x1b[31mred.json" in err


def test_the_process_entry_point_exits_with_mains_code_and_leaves_the_run_to_the_end_uncollected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc
    import importlib

    cli_main = importlib.import_module("kubeplay.cli.main")  # (the package's ``main`` is the function)
    monkeypatch.setattr(cli_main, "main", lambda argv: EXIT_CHANGED)
    monkeypatch.setattr(ending, "threads_left", lambda wait: [])  # (this process's threads are pytest's)
    threshold = gc.get_threshold()
    try:
        with pytest.raises(SystemExit) as exited:
            cli_main.entry_point()
        assert exited.value.code == EXIT_CHANGED
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == cli_main.YOUNG_OBJECTS_PER_COLLECTION  # (start-up is not collected)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_after_ctrl_c_the_interrupted_line_stays_last_whatever_threads_still_at_work_say(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kubeplay.cli import render

    def interrupted(args: argparse.Namespace) -> int:
        render.progress("minion-1: creating")
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "validate", interrupted)
    assert main(["validate"]) == 130
    render.progress("minion-2: proxy rules: FAILED: iptables-restore: exit -1")  # (a thread the run left at work)
    assert capsys.readouterr().err.splitlines() == ["kubeplay: minion-1: creating", "error: interrupted"]

    def said(args: argparse.Namespace) -> int:
        render.progress("next run")
        return 0

    monkeypatch.setattr(commands, "validate", said)
    assert main(["validate"]) == 0  # (a next run in the same process says what it says)
    assert capsys.readouterr().err.splitlines() == ["kubeplay: next run"]


def test_a_progress_line_being_printed_when_the_run_ends_is_finished_before_the_last_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from kubeplay.cli import render

    printing, release, lines = threading.Event(), threading.Event(), []

    class SlowConsole:  # (a thread's line takes its time to print)
        def print(self, text: str, **options: object) -> None:
            printing.set()
            release.wait(5)
            lines.append(text)

    monkeypatch.setattr(render, "err", SlowConsole())
    monkeypatch.setattr(render, "ended", False)
    worker = threading.Thread(target=render.progress, args=("minion-1: proxy rules: FAILED",))
    worker.start()
    assert printing.wait(5)
    ending = threading.Thread(target=render.end)
    ending.start()
    ending.join(0.3)
    assert ending.is_alive()  # the run's end waits for the line in flight...
    release.set()
    ending.join(5)
    worker.join(5)
    render.progress("minion-2: proxy rules: FAILED")  # ...and no line comes after it
    assert lines == ["[dim]kubeplay:[/dim] minion-1: proxy rules: FAILED"]


def test_an_error_raised_as_ctrl_c_unwinds_the_run_is_still_an_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # (a cleanup on the way out fails, e.g. a connection Ctrl-C left half-used: scripts still see 130)
    def interrupted(args: argparse.Namespace) -> int:
        try:
            raise KeyboardInterrupt
        finally:
            raise MinionError("minion-1", "lock: the lock program ended without an answer")

    monkeypatch.setattr(commands, "validate", interrupted)
    assert main(["validate"]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err.splitlines() == ["error: interrupted"]
