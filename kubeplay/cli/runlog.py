"""`--log-file PATH`: one JSON object per line, appended, for cron and CI (the lines' JSON Schema is
kubeplay/schemas/log.schema.json).

A run writes ``run-start`` (run id, project, user, host, command line, kubeplay's version), then an ``action``
line for each pod action (minion, verb, subject, ok or failed, error, seconds) and a ``network`` line for each
write of a minion's proxy rules or a route, and last ``run-end`` (exit code, counts, seconds), also when the run
stops on an error. `apply --every` adds ``round-start`` and ``round-end`` around each round, and every line of a
round carries its number. Each line is written and flushed at once: a killed run leaves every line before it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from kubeplay import __version__
from kubeplay.cli.exitcodes import exit_code_for
from kubeplay.errors import InputError, KubeplayError
from kubeplay.model import DEFAULT_PROJECT
from kubeplay.reconcile import Event, Outcome, resolve_project

LOG_SCHEMA = 1
"""The version of the log lines' layout (run-start's ``schema``); it changes when a field changes meaning or
goes away, not when one is added."""


def project_name(args: argparse.Namespace) -> str:
    """The run's project as far as the command line and the environment tell, before the inventory is read (its
    ``kubeplay_project`` shows in the run's end); ``default`` where that name is invalid (the run then says why)."""
    try:
        return resolve_project(getattr(args, "project", None), {}, os.environ, getattr(args, "filename", []))
    except InputError:
        return DEFAULT_PROJECT


def counts(outcome: Outcome) -> dict[str, int]:
    """What an apply did, for run-end and round-end: changes made, changes failed, pods that fit nowhere, minions
    not reached."""
    done = [r.ok for r in outcome.results] + [n.ok for n in outcome.network]
    pods = outcome.plan.pods
    return {
        "changed": sum(done),
        "failed": done.count(False) + len(pods.failures),
        "unschedulable": len(pods.unschedulable),
        "unreachable": len(pods.unreachable),
    }


class RunLog:
    """Where a run's events go as JSON lines; a log without a file writes nothing. Thread-safe. run-end is the last
    line a run writes: what a worker still at work writes after it (Ctrl-C ended the run while a thread still pulled
    or read) is left out, and so is what it writes once the file is closed."""

    def __init__(self, file: TextIO | None, run_id: str = "") -> None:
        self.file = file
        self.run_id = run_id or os.urandom(6).hex()  # 12 random hex digits (uuid, with platform, is 4 ms to import)
        self.round: int | None = None
        """The loop's round in progress (apply --every), written on each line while set."""
        self.began = time.monotonic()
        self._lock = threading.Lock()
        self._ended = False

    def write(self, event: str, **fields: object) -> None:
        if self.file is None:
            return
        from datetime import UTC, datetime  # (only a run with a log file needs it)

        line: dict[str, object] = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "run": self.run_id,
            "event": event,
        }
        if self.round is not None:
            line["round"] = self.round
        line.update(fields)
        text = json.dumps(line, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            if self._ended:
                return
            self.file.write(text)
            self.file.flush()
            self._ended = event == "run-end"

    def close(self) -> None:
        """Close the file; nothing is written after this."""
        with self._lock:
            self._ended = True
            if self.file is not None:
                self.file.close()

    def start(self, command: Sequence[str], project: str) -> None:
        self.write(
            "run-start",
            schema=LOG_SCHEMA,
            version=__version__,
            project=project,
            user=getpass.getuser(),
            host=socket.gethostname(),
            pid=os.getpid(),
            command=list(command),
        )

    def event(self, event: Event) -> None:
        """One event of the pipeline (reconcile.EventSink); a pull's progress is not logged."""
        from kubeplay.kubelet.execute import Pulling, Result  # (the executor's: loaded once the pods change)

        if isinstance(event, Pulling):
            return
        result = {"result": "ok" if event.ok else "failed", "error": event.error, "seconds": round(event.seconds, 3)}
        if isinstance(event, Result):
            a = event.action
            self.write("action", minion=a.minion, verb=a.verb, subject=a.subject, **result)
        else:
            self.write("network", minion=event.minion, what=event.what, **result)

    def end(self, code: int, seconds: float, tally: dict[str, int] | None = None, error: str = "", **more: int) -> None:
        """run-end or, during a round, round-end."""
        fields: dict[str, object] = {"exit": code, "seconds": round(seconds, 3), "counts": {**(tally or {}), **more}}
        if error:
            fields["error"] = error
        self.write("round-end" if self.round is not None else "run-end", **fields)


@contextmanager
def opened(path: str | None, command: Sequence[str], project: str) -> Iterator[RunLog]:
    """The run's log (nothing written without a path), its run-start written; when the block ends with an
    exception, run-end is written with the exit code that exception gives, and the exception goes on."""
    try:
        file = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise KubeplayError(f"--log-file {path}: {exc.strerror or exc}") from exc
    log = RunLog(file)
    try:
        log.start(command, project)
        yield log
    except BaseException as exc:
        log.round = None
        log.end(exit_code_for(exc), time.monotonic() - log.began, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        log.close()
