"""A held program over SSH (SSHConnection.spawn) against an in-process paramiko server: what its output reads as
when the login shell sshd starts it through writes to stderr first, as root's ~/.bashrc did on the lab when its
`pyenv rehash` lost a race with another session's ("rm: cannot remove '/root/.pyenv/shims/tmp.X'")."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import paramiko
import pytest
from paramiko.common import AUTH_SUCCESSFUL, OPEN_SUCCEEDED

from kubeplay.connectors import ssh
from kubeplay.connectors.base import HeldProcess
from kubeplay.model import Minion

SHELL_NOISE = b"rm: cannot remove '/root/.pyenv/shims/tmp.sfrMywq0z4': No such file or directory\n"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]"


class _Minion(paramiko.ServerInterface):
    """sshd running a program through a login shell that writes ``noise`` to stderr; once told ``go``, the
    program writes ``out`` and, with ``error``, that to its stderr, then exits."""

    def __init__(self, noise: bytes, out: bytes, error: bytes = b"") -> None:
        self.noise, self.out, self.error = noise, out, error

    def get_allowed_auths(self, username: str) -> str:
        return "none"

    def check_auth_none(self, username: str) -> int:
        return AUTH_SUCCESSFUL

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        threading.Thread(target=self._run, args=(channel,), daemon=True).start()
        return True

    def _run(self, channel: paramiko.Channel) -> None:
        channel.sendall_stderr(self.noise)  # the login shell's startup files
        if channel.recv(3) == b"go\n":
            channel.sendall(self.out)
            channel.sendall_stderr(self.error)
        channel.send_exit_status(0)
        channel.close()


def _connected(server: _Minion) -> Iterator[ssh.SSHConnection]:
    near, far = socket.socketpair()
    remote = paramiko.Transport(far)
    remote.add_server_key(paramiko.ECDSAKey.generate())
    remote.start_server(threading.Event(), server)  # (with an event it does not wait for the client)
    local = paramiko.Transport(near)
    local.start_client(timeout=10)
    local.auth_none("root")
    conn = ssh.SSHConnection.__new__(ssh.SSHConnection)  # on this transport, without connecting through _open
    conn.minion, conn._transport = Minion("minion-1", "127.0.0.1"), local
    try:
        yield conn
    finally:
        local.close()
        remote.close()


@pytest.fixture
def noisy() -> Iterator[ssh.SSHConnection]:
    yield from _connected(_Minion(SHELL_NOISE, ANSWER))


@pytest.fixture
def failing() -> Iterator[ssh.SSHConnection]:
    yield from _connected(_Minion(b"", b"", b"docker: command not found\n"))


def everything(program: HeldProcess) -> list[bytes]:
    """The program's reads, to the empty one that says it ended."""
    reads = []
    while read := program.read(10):
        reads.append(read)
    return reads


def test_what_the_login_shell_writes_to_stderr_never_comes_before_the_programs_output(
    noisy: ssh.SSHConnection,
) -> None:
    program = noisy.spawn(["sh", "-c", "docker system dial-stdio"])
    program.write(b"go\n")
    got = b"".join(everything(program))
    assert got.startswith(ANSWER), got  # (Docker's answer read from the first byte: not "not an HTTP answer")
    assert got == ANSWER + SHELL_NOISE  # what went to stderr comes after it: still there for an error message
    program.close()


def test_a_program_that_fails_still_says_why_after_its_output_ended(failing: ssh.SSHConnection) -> None:
    program = failing.spawn(["sh", "-c", "docker system dial-stdio"])
    program.write(b"go\n")
    assert everything(program) == [b"docker: command not found\n"]
    assert program.read(1) == b""
    program.close()
