"""`kubeplay get KIND -w`: observe and show the table again every --interval seconds until Ctrl-C, which ends
the watch with exit 0. Whatever `get` shows of a kind, -w shows it again: the watch knows nothing of kinds.

On a terminal (stdout is one) the table is redrawn in place (rich.live) under a line naming the command, the
round and its time, with the round's warnings (an unreachable minion) below it. Without a terminal each round
prints the table again, every round whether or not it changed, after a blank line: a script reading the output
sees one table per round. The connections are kept open from one round to the next (connectors/kept.py) and
made again when they drop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from kubeplay.cli import render
from kubeplay.cli.exitcodes import EXIT_OK, interrupted
from kubeplay.connectors.base import Connector
from kubeplay.connectors.kept import KeptConnections
from kubeplay.model import Observed

Look = Callable[[Connector], Observed]
"""One round: observe through the connector, show the table (and the warnings); what was observed."""


class Rounds(Protocol):
    """How the rounds are shown: ``show(n, round_)`` runs round n and shows what it printed."""

    def show(self, n: int, round_: Callable[[], Observed]) -> Observed: ...

    def close(self) -> None: ...


def watch(look: Look, connect: Connector, interval: float, title: str) -> int:
    """Run ``look`` every ``interval`` seconds until Ctrl-C, then exit 0. ``title``: the command, for the heading
    on a terminal."""
    kept = KeptConnections()
    rounds: Rounds = InPlace(title, interval) if render.out.is_terminal else Again()
    n = 0
    due = time.monotonic()
    try:
        while True:
            n += 1
            observed = rounds.show(n, lambda: look(kept.through(connect)))
            kept.drop(observed.unreachable)  # made anew next round
            due = max(due + interval, time.monotonic())
            time.sleep(max(0.0, due - time.monotonic()))
    except (Exception, KeyboardInterrupt) as exc:
        if not interrupted(exc):  # (Ctrl-C, or what failed as it unwound the round)
            raise
        return EXIT_OK
    finally:
        rounds.close()
        kept.close()


class Again:
    """Without a terminal: each round's output as it comes, a blank line between two rounds."""

    def show(self, n: int, round_: Callable[[], Observed]) -> Observed:
        if n > 1:
            render.result("")
        return round_()

    def close(self) -> None:
        pass


class InPlace:
    """On a terminal: each round's table and warnings, captured, then drawn in place of the last round's."""

    def __init__(self, title: str, interval: float) -> None:
        from rich.console import Console
        from rich.live import Live

        self.heading = render.printable(f"every {interval:g} s: {title}")
        # A console of its own: the round's output is captured from render's consoles, which the display's
        # cursor movements must not enter.
        self.live = Live(
            console=Console(highlight=False), auto_refresh=False, redirect_stdout=False, redirect_stderr=False
        )
        self.live.start()

    def show(self, n: int, round_: Callable[[], Observed]) -> Observed:
        from rich.console import Group
        from rich.text import Text

        with render.out.capture() as table, render.err.capture() as said:
            observed = round_()
        when = datetime.now().strftime("%H:%M:%S")
        heading = Text(f"{self.heading}    round {n} at {when}", style="dim")
        parts = [Text.from_ansi(text.rstrip("\n")) for text in (table.get(), said.get()) if text]
        self.live.update(Group(heading, *parts), refresh=True)
        return observed

    def close(self) -> None:
        self.live.stop()
