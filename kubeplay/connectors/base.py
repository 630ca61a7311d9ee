"""What kubeplay needs from a minion: run a program, talk to its Docker, reach an address from it.

Connectors are built once per run by the CLI and passed in (as httpx passes its transport), so tests can swap
in their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kubeplay.model import Minion


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class MinionConnection(Protocol):
    """One open connection to a minion, reused for everything during a run."""

    minion: Minion

    @property
    def address(self) -> str:
        """The minion's own address as its peers reach it (for the pod network), or "" when unknown."""
        ...

    def run(self, argv: Sequence[str], stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        """Run a program on the minion. argv is quoted, never interpreted by a shell."""
        ...

    def docker_api(self) -> Any:
        """A docker.APIClient talking to the minion's own Docker daemon over this connection."""
        ...

    def tcp_exchange(self, address: str, port: int, send: bytes, timeout: float) -> bytes:
        """Open a TCP connection from the minion to address:port, send bytes, return what came back until close
        or timeout (raises OSError when the connection is refused)."""
        ...

    def close(self) -> None: ...


class Connector(Protocol):
    def __call__(self, minion: Minion) -> MinionConnection: ...
