"""Every call a run makes on a minion, with its duration, for `-vv`: each program run over the connection and
each ``DockerOps`` call.

The CLI wraps its connector in ``traced`` only when asked, so a run without `-vv` pays nothing for it.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from kubeplay.connectors.base import (
    CommandResult,
    ConnectionWrapper,
    Connector,
    ContainerConfig,
    DockerOps,
    HeldProcess,
    MinionConnection,
)
from kubeplay.model import Minion

Trace = Callable[[str], None]
"""Where trace lines go, one per call (e.g. "m1: docker create kp_redis_POD: 0.031 s")."""


def describe(value: object) -> str:
    """A call argument as a trace line shows it: a container config by its name, bytes by their size, a
    container id short, as `docker ps` does."""
    if isinstance(value, ContainerConfig):
        return value.name
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | tuple):
        return shlex.join(str(v) for v in value)
    text = str(value)
    return text[:12] if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text  # an id


def _timed(trace: Trace, what: str, call: Callable[[], Any]) -> Any:
    began = time.monotonic()
    try:
        value = call()
    except Exception as exc:
        trace(f"{what}: {time.monotonic() - began:.3f} s: {type(exc).__name__}: {exc}")
        raise
    trace(f"{what}: {time.monotonic() - began:.3f} s")
    return value


class _TracedDocker:
    """Any ``DockerOps``, each of its calls traced."""

    def __init__(self, docker: DockerOps, minion: str, trace: Trace) -> None:
        self._docker = docker
        self._minion = minion
        self._trace = trace

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._docker, name)
        if name == "close":
            return method

        def call(*args: object) -> Any:
            what = " ".join([f"{self._minion}: docker {name}", *(describe(a) for a in args[:1])]).rstrip()
            return _timed(self._trace, what, lambda: method(*args))

        return call


class TracedConnection(ConnectionWrapper):
    """A ``MinionConnection`` whose programs, Docker calls and TCP exchanges are traced."""

    def __init__(self, conn: MinionConnection, trace: Trace) -> None:
        super().__init__(conn)
        self._trace = trace
        self._docker: DockerOps | None = None

    def run(self, argv: Sequence[str], stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        result: CommandResult = _timed(
            self._trace, f"{self.minion.name}: run {shlex.join(argv)}", lambda: self.conn.run(argv, stdin, timeout)
        )
        if not result.ok:
            self._trace(f"{self.minion.name}: exit {result.exit_code}: {result.stderr.strip()}")
        return result

    def spawn(self, argv: Sequence[str]) -> HeldProcess:
        self._trace(f"{self.minion.name}: spawn {shlex.join(argv)}")
        return self.conn.spawn(argv)

    def read_docker_over(self, program: HeldProcess) -> None:
        self._trace(f"{self.minion.name}: docker reads over that held program (no channel of their own)")
        self.conn.read_docker_over(program)

    def docker(self) -> DockerOps:
        if self._docker is None:
            self._docker = cast(DockerOps, _TracedDocker(self.conn.docker(), self.minion.name, self._trace))
        return self._docker

    def tcp_exchange(self, address: str, port: int, send: bytes, timeout: float) -> bytes:
        what = f"{self.minion.name}: tcp {address}:{port}"
        data: bytes = _timed(self._trace, what, lambda: self.conn.tcp_exchange(address, port, send, timeout))
        return data


def traced(connect: Connector, trace: Trace) -> Connector:
    """``connect``, with the connecting itself and everything done over each connection traced."""

    def connect_traced(minion: Minion) -> MinionConnection:
        conn = _timed(trace, f"{minion.name}: connect {minion.host}:{minion.port}", lambda: connect(minion))
        return TracedConnection(conn, trace)

    return connect_traced
