"""A testing aid, inert in normal use: ``KUBEPLAY_FAULT`` makes kubeplay kill its own process (SIGKILL) at a chosen
step of a run, so tests and the kill bench can check that the next run recovers from a crash at that very step.

``KUBEPLAY_FAULT=after-<event>:<N>`` kills the process right after the N-th such event of the run (counted over
every minion, from 1), before anything else happens:

    after-create:N    the N-th ``docker create`` returned: the container exists and was never started
    after-start:N     the N-th container start
    after-remove:N    the N-th container removal
    after-restore:N   the N-th ``iptables-restore`` of proxy rules was written (routes not yet)
    after-route:N     the N-th ``ip route`` change was written

Only this environment variable of the process running kubeplay turns it on: no manifest, inventory, variable or
command-line option can. Unset or empty, the connections are used as they are.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any, cast

from kubeplay.connectors.base import FAULT_VARIABLE as VARIABLE
from kubeplay.connectors.base import CommandResult, ConnectionWrapper, Connector, DockerOps, MinionConnection
from kubeplay.errors import InputError, Problem
from kubeplay.model import Minion

DOCKER_EVENTS = ("create", "start", "remove")
COMMAND_EVENTS = {"iptables-restore": "restore", "ip": "route"}
"""The program of a command that changes the minion's network -> the event it is."""
# compiled when a fault is asked for, by re's cache
_SPEC = r"^after-(?P<event>create|start|remove|restore|route):(?P<count>[1-9][0-9]*)$"


class Fault:
    """Counts the events of one kind over the whole run; the N-th one kills the process."""

    def __init__(self, event: str, count: int, kill: Callable[[], None]) -> None:
        self.event = event
        self.count = count
        self.kill = kill
        self.seen = 0
        self.lock = threading.Lock()

    def happened(self, event: str) -> None:
        if event != self.event:
            return
        with self.lock:
            self.seen += 1
            if self.seen == self.count:
                self.kill()


def _kill_self() -> None:
    import signal  # (only when a fault fires: every run that connects imports this module)

    os.kill(os.getpid(), signal.SIGKILL)


def parse_fault(spec: str, kill: Callable[[], None] = _kill_self) -> Fault | None:
    """The fault ``spec`` (KUBEPLAY_FAULT's value) asks for, None when it is empty; raises InputError if invalid."""
    if not spec:
        return None
    match = re.match(_SPEC, spec)
    if match is None:
        message = f"expected after-EVENT:N (EVENT create, start, remove, restore or route), got {spec!r}"
        raise InputError([Problem(VARIABLE, message)])
    return Fault(match["event"], int(match["count"]), kill)


def with_fault(connect: Connector, fault: Fault | None) -> Connector:
    """``connect``, with every connection it makes counting its events towards ``fault`` (as is when None)."""
    if fault is None:
        return connect

    def connect_faulty(minion: Minion) -> MinionConnection:
        return _FaultyConnection(connect(minion), fault)

    return connect_faulty


def _writes(argv: Sequence[str]) -> str:
    """The program of a command that changes the minion's network ("iptables-restore", "ip"), else ""."""
    if argv[0] == "sh" and "iptables-restore" in argv[-1]:  # the gzipped restore pipeline
        return "iptables-restore"
    if argv[0] == "ip" and "show" in argv:
        return ""
    return argv[0]


class _FaultyDocker:
    """A DockerOps whose create, start and remove count towards the fault once they returned."""

    def __init__(self, docker: DockerOps, fault: Fault) -> None:
        self._docker = docker
        self._fault = fault

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._docker, name)
        if name not in DOCKER_EVENTS:
            return method

        def counted(*args: Any) -> Any:
            result = method(*args)
            self._fault.happened(name)
            return result

        return counted


class _FaultyConnection(ConnectionWrapper):
    """A MinionConnection whose Docker calls and iptables-restore / ip route commands count towards the fault."""

    def __init__(self, conn: MinionConnection, fault: Fault) -> None:
        super().__init__(conn)
        self._fault = fault
        self._docker: DockerOps | None = None

    def run(self, argv: Sequence[str], stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        result = self.conn.run(argv, stdin, timeout)
        if result.ok and _writes(argv) in COMMAND_EVENTS:
            self._fault.happened(COMMAND_EVENTS[_writes(argv)])
        return result

    def docker(self) -> DockerOps:
        if self._docker is None:
            self._docker = cast(DockerOps, _FaultyDocker(self.conn.docker(), self._fault))
        return self._docker
