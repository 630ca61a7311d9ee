"""`kubeplay apply --every SECONDS`: the seed's replication controllers without cron.

A foreground loop, for a systemd unit or a terminal: one round per interval, each round the whole apply (the
manifests and the inventory read again, observe, plan, change), with the connections kept open between rounds
and made again when they drop. A round whose input is bad is reported and changes nothing; the loop goes on.

SIGTERM or SIGINT asks the loop to stop between steps: before a round, or once a round has observed and before
it changes anything; a round that is changing the cluster finishes its changes (pods, then proxy rules). Then
the loop prints a summary and exits 0. A second Ctrl-C interrupts at once (exit 130).
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from kubeplay import reconcile
from kubeplay.cli import render, runlog
from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_OK, apply_exit_code, interrupted
from kubeplay.connectors.kept import KeptConnections
from kubeplay.dataclass import dataclass
from kubeplay.errors import InputError, KubeplayError, Problem

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

ApplyOnce = Callable[
    [argparse.Namespace, reconcile.EventSink, KeptConnections, Callable[[], bool]],
    tuple[reconcile.Inputs, reconcile.Outcome | None],
]
"""One apply (commands.apply_once): its arguments, event sink, kept connections and whether to stop; the inputs
read and the outcome (None when it stopped before changing anything)."""


class Stop:
    """Whether SIGTERM or SIGINT asked the loop to stop. A second SIGINT (Ctrl-C again) raises KeyboardInterrupt;
    a second SIGTERM changes nothing (`timeout` and service managers may send it to the process group as well,
    and escalate to SIGKILL themselves)."""

    def __init__(self) -> None:
        self._asked = threading.Event()

    def __call__(self) -> bool:
        return self._asked.is_set()

    def ask(self, signum: int, frame: FrameType | None = None) -> None:
        if self._asked.is_set():
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self._asked.set()
        render.progress(f"{signal.Signals(signum).name}: stopping after the current step")

    def wait(self, seconds: float) -> None:
        """Sleep until the next round, or until asked to stop."""
        self._asked.wait(max(0.0, seconds))


@contextmanager
def _signals_stop() -> Iterator[Stop]:
    stop = Stop()
    before = {s: signal.signal(s, stop.ask) for s in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


@dataclass
class Tally:
    """The loop's rounds so far."""

    rounds: int = 0
    failed: int = 0
    """Rounds that ended with an error (bad input, a failed action, an unschedulable pod)."""
    changed: int = 0
    """Changes made, over every round."""

    def summary(self) -> str:
        return f"stopped after {self.rounds} rounds: {self.changed} changes made, {self.failed} rounds failed"


def every(args: argparse.Namespace, apply_once: ApplyOnce) -> int:
    """Reconcile with ``apply_once`` every ``args.every`` seconds until stopped; 0 after a clean stop."""
    if args.output == "json":
        raise InputError([Problem("-o", "--every prints text; --log-file PATH keeps a machine-readable record")])
    tally = Tally()
    kept = KeptConnections()
    with runlog.opened(args.log_file, args.command_line, runlog.project_name(args)) as log:
        try:
            with _signals_stop() as stop:
                _loop(Round(args, apply_once, log, kept, stop), tally)
        finally:
            kept.close()
        render.progress(tally.summary())
        log.end(EXIT_OK, time.monotonic() - log.began, rounds=tally.rounds, failed=tally.failed, changed=tally.changed)
    return EXIT_OK


@dataclass(frozen=True)
class Round:
    """What every round of the loop works with."""

    args: argparse.Namespace
    apply_once: ApplyOnce
    log: runlog.RunLog
    kept: KeptConnections
    stop: Stop


def _loop(loop: Round, tally: Tally) -> None:
    due = time.monotonic()
    while not loop.stop():
        tally.rounds += 1
        _round(loop, tally)
        due = max(due + loop.args.every, time.monotonic())  # after a round longer than the interval, the next at once
        loop.stop.wait(due - time.monotonic())


def _round(loop: Round, tally: Tally) -> None:
    """One round, logged between round-start and round-end; its errors are reported, never raised."""
    log, kept = loop.log, loop.kept
    log.round = tally.rounds
    began = time.monotonic()
    log.write("round-start")
    render.progress(f"round {tally.rounds}")
    try:
        inputs, outcome = loop.apply_once(loop.args, log.event, kept, loop.stop)
    except KubeplayError as exc:
        if interrupted(exc):  # (a second Ctrl-C, and a cleanup that failed as it unwound the round)
            raise
        if isinstance(exc, InputError):
            render.input_error(exc)
        else:
            render.error(str(exc))
        tally.failed += 1
        log.end(EXIT_ERROR, time.monotonic() - began, error=str(exc))
    else:
        kept.keep_only(inputs.inventory.minions)
        if outcome is not None:
            kept.drop(outcome.plan.pods.unreachable)
            code = apply_exit_code(outcome, detailed=False)
            counts = runlog.counts(outcome)
            tally.failed += code == EXIT_ERROR
            tally.changed += counts["changed"]
            log.end(code, time.monotonic() - began, counts)
        else:
            log.end(EXIT_OK, time.monotonic() - began, stopped=1)  # asked to stop: nothing was changed
    finally:
        log.round = None
