"""The workstation itself as a minion (ansible_connection=local): its own Docker ($DOCKER_HOST, else the default
socket), commands run directly."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kubeplay.connectors.base import HELD_EXIT_WAIT, CommandResult, DockerOps, HeldProcess, LocalStreams, Terminal
from kubeplay.model import Minion

if TYPE_CHECKING:
    from kubeplay.connectors.docker import DockerClient


class LocalConnection:
    def __init__(self, minion: Minion) -> None:
        self.minion = minion
        self._docker_host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        self._docker: DockerClient | None = None

    @property
    def address(self) -> str:
        return ""

    def run(self, argv: Sequence[str], stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        env = {**os.environ, "DOCKER_HOST": self._docker_host}
        proc = subprocess.run(list(argv), input=stdin, capture_output=True, timeout=timeout, check=False, env=env)
        return CommandResult(
            tuple(argv), proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
        )

    def docker(self) -> DockerOps:
        if self._docker is None:
            from kubeplay.connectors.docker import docker_local  # docker-py only once a daemon is talked to

            self._docker = docker_local(self._docker_host)
        return self._docker

    def docker_dial(self) -> tuple[str, ...]:
        """(): this machine's Docker is reached through its socket."""
        return ()

    def read_docker_over(self, program: HeldProcess) -> None:
        raise NotImplementedError("a local minion's Docker is read through its socket")

    def tcp_exchange(self, address: str, port: int, send: bytes, timeout: float) -> bytes:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            if send:
                sock.sendall(send)
            data = b""
            try:
                while chunk := sock.recv(65536):
                    data += chunk
            except TimeoutError:
                pass
            return data

    def close(self) -> None:
        if self._docker is not None:
            self._docker.close()

    def attach(self, argv: Sequence[str], streams: LocalStreams, terminal: Terminal | None) -> int:
        """The program runs on this machine's own streams: with ``terminal`` they are the local terminal itself."""
        env = {**os.environ, "DOCKER_HOST": self._docker_host, **({"TERM": terminal.term} if terminal else {})}
        stdin = subprocess.DEVNULL if streams.stdin is None else streams.stdin
        proc = subprocess.run(
            list(argv), stdin=stdin, stdout=streams.stdout, stderr=streams.stderr, env=env, check=False
        )
        return proc.returncode

    def spawn(self, argv: Sequence[str]) -> HeldProcess:
        env = {**os.environ, "DOCKER_HOST": self._docker_host}
        pipe = subprocess.PIPE
        return _PipeProcess(subprocess.Popen(list(argv), stdin=pipe, stdout=pipe, stderr=subprocess.STDOUT, env=env))


class _PipeProcess:
    """A held program as a child process: its stdin pipe closes when kubeplay closes it or exits, killed or not."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc

    def read(self, timeout: float) -> bytes:
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"nothing from {self._proc.args!r} in {timeout} s")
        return os.read(self._proc.stdout.fileno(), 4096)

    def write(self, data: bytes) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(data)
        self._proc.stdin.flush()

    def close(self) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        try:
            self._proc.wait(HELD_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()
