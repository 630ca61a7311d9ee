"""render's screens write a line off a terminal themselves only when rich would write the same bytes: each case is
written by both and compared; kubeplay's own lines of a no-op apply are written without rich."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence

import pytest
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from kubeplay.cli.screen import Screen, escape


class File(io.StringIO):
    def __init__(self, terminal: bool = False) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def screen_on(file: File, monkeypatch: pytest.MonkeyPatch) -> Screen:
    monkeypatch.setattr("sys.stdout", file)
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    return Screen(stderr=False)


def by_rich(text: str, markup: bool, end: str) -> str:
    """What rich writes of ``text``, or the name of the error it raises (a closing tag that closes nothing)."""
    file = File()
    try:
        Console(file=file, highlight=False, soft_wrap=True, width=1_000_000).print(text, markup=markup, end=end)
    except Exception as exc:
        return type(exc).__name__
    return file.getvalue()


PIECES = [*"ab :[]/\\=@#\n\t-x", "[bold]", "[/bold]", "[/]", "[dim]", ":smile:", "\\[", "é", "\x1b", "\r", "[link=x]"]
PIECES += ["[red]", "[/red]", "[bold red]", "[/red bold]", "  "]


def random_texts(n: int) -> list[str]:
    pick = random.Random(13)
    return ["".join(pick.choice(PIECES) for _ in range(pick.randint(0, 12))) for _ in range(n)]


NO_OP_LINES = [
    "[bold]PLAN[/bold] for project shop: nothing to change, the cluster matches the manifests",
    "[dim]kubeplay:[/dim] observing 3 minions",
    f"[dim]kubeplay:[/dim] {escape('minion-1: [x] route replace 10.0.0.0/16 via 10.77.1.12: ok')}",
]


@pytest.mark.parametrize("markup", [True, False])
def test_a_line_written_without_rich_is_what_rich_writes(markup: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = 0
    for text in [*NO_OP_LINES, *random_texts(3000)]:
        assert escape(text) == rich_escape(text)
        for end in ("\n", ""):
            file = File()
            screen = screen_on(file, monkeypatch)
            try:
                screen.print(text, markup=markup, end=end)
            except Exception as exc:
                assert type(exc).__name__ == by_rich(text, markup, end)
                continue
            assert file.getvalue() == by_rich(text, markup, end), repr(text)
            plain += "rich" not in vars(screen)
    assert plain > 1000  # (a good part of them: rich is made only for the others)


def test_kubeplays_lines_and_recap_of_a_no_op_are_written_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    file = File()
    screen = screen_on(file, monkeypatch)
    for line in NO_OP_LINES:
        screen.print(line)
    rows = [["minion-1", "1", "0", "[red]0[/red]", "0"], ["minion-22", "0", "[yellow]3[/yellow]", "0", "0"]]
    assert screen.print_table("RECAP", ["MINION", "OK", "CHANGED", "FAILED", "UNREACHABLE"], rows)
    assert "rich" not in vars(screen)
    assert file.getvalue().splitlines()[-3:] == [
        "MINION     OK  CHANGED  FAILED  UNREACHABLE",
        "minion-1   1   0        0       0          ",
        "minion-22  0   3        0       0          ",
    ]


def by_rich_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    file = File()
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(file=file, highlight=False, soft_wrap=True, width=1_000_000).print(table)
    return file.getvalue()


def test_a_table_written_without_rich_is_what_rich_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    pick = random.Random(7)
    cells = [*"ab-x1 []/", "[yellow]1[/yellow]", "", "minion-1", "UNREACHABLE", "é", ":smile:"]

    def cell() -> str:
        return "".join(pick.choice(cells) for _ in range(pick.randint(0, 3)))

    written = 0
    for _ in range(1000):
        width = pick.randint(1, 5)
        columns = [cell() for _ in range(width)]
        rows = [[cell() for _ in range(width)] for _ in range(pick.randint(0, 4))]
        title = pick.choice(["RECAP", "x" * pick.randint(1, 30)])
        file = File()
        if screen_on(file, monkeypatch).print_table(title, columns, rows):
            written += 1
            assert file.getvalue() == by_rich_table(title, columns, rows), (title, columns, rows)
        else:
            assert file.getvalue() == ""
    assert written > 50


def test_a_terminal_and_a_forced_colour_go_through_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = screen_on(File(terminal=True), monkeypatch)
    assert not terminal.plain and terminal.is_terminal
    monkeypatch.setenv("FORCE_COLOR", "1")
    forced = Screen(stderr=False)
    assert not forced.plain and forced.is_terminal
    assert not forced.print_table("RECAP", ["A"], [["1"]])
