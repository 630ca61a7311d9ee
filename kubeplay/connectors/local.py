"""The workstation itself as a minion (ansible_connection=local): its own Docker ($DOCKER_HOST, else the default
socket), commands run directly."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kubeplay.connectors.base import CommandResult, DockerOps
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
