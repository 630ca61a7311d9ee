"""A minion over SSH (paramiko): one connection per minion per run, shared by Docker and by commands.

Host keys are checked against ~/.ssh/known_hosts and the inventory's kubeplay_known_hosts; an unknown key is
rejected unless the user opted in to accept new keys, and a changed key is always rejected.
~/.ssh/config (HostName, Port, User, IdentityFile, ProxyCommand) and ssh-agent are honoured; inventory
variables win over ~/.ssh/config, as in Ansible.
"""

from __future__ import annotations

import contextlib
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko

from kubeplay.connectors.base import HELD_EXIT_WAIT, CommandResult, DockerOps, HeldProcess
from kubeplay.errors import ConnectionFailed
from kubeplay.model import Minion

if TYPE_CHECKING:
    from kubeplay.connectors.docker import DockerClient

CONNECT_TIMEOUT = 10.0


class _AcceptNewPolicy(paramiko.MissingHostKeyPolicy):
    """Accept a host key never seen before and remember it; paramiko itself rejects a changed key."""

    def __init__(self, save_to: Path) -> None:
        self.save_to = save_to

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        self.save_to.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self.save_to.open("a") as f:
            f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


@dataclass(frozen=True)
class SSHOptions:
    known_hosts: tuple[str, ...] = ()
    """Extra known_hosts files besides ~/.ssh/known_hosts."""
    accept_new_host_keys: bool = False
    ssh_config: str = "~/.ssh/config"
    timeout: float = CONNECT_TIMEOUT


def _connect_params(minion: Minion, options: SSHOptions) -> dict[str, Any]:
    params: dict[str, Any] = {
        "hostname": minion.host,
        "port": minion.port,
        "timeout": options.timeout,
        "banner_timeout": options.timeout,
        "auth_timeout": options.timeout,
    }
    config_path = Path(options.ssh_config).expanduser()
    if config_path.exists():
        config = paramiko.SSHConfig.from_path(str(config_path)).lookup(minion.host)
        params["hostname"] = config.get("hostname", minion.host)
        if "port" in config and minion.port == 22:
            params["port"] = int(config["port"])
        if "user" in config:
            params["username"] = config["user"]
        if "identityfile" in config:
            params["key_filename"] = [str(Path(p).expanduser()) for p in config["identityfile"]]
        if "proxycommand" in config:
            params["sock"] = paramiko.ProxyCommand(config["proxycommand"])
    if minion.user:
        params["username"] = minion.user
    if minion.key_file:
        params["key_filename"] = [str(Path(minion.key_file).expanduser())]
    params.setdefault("username", "root")
    return params


class SSHConnection:
    def __init__(self, minion: Minion, options: SSHOptions) -> None:
        self.minion = minion
        self._client = paramiko.SSHClient()
        self._docker: DockerClient | None = None
        known = Path("~/.ssh/known_hosts").expanduser()
        if known.exists():
            self._client.load_host_keys(str(known))
        for path in options.known_hosts:
            if Path(path).exists():
                self._client.load_host_keys(path)
        if options.accept_new_host_keys:
            self._client.set_missing_host_key_policy(_AcceptNewPolicy(known))
        else:
            self._client.set_missing_host_key_policy(paramiko.RejectPolicy())
        params = _connect_params(minion, options)
        try:
            self._client.connect(**params)
        except paramiko.BadHostKeyException as exc:
            raise ConnectionFailed(minion.name, f"host key of {exc.hostname} CHANGED: refusing to connect") from exc
        except paramiko.SSHException as exc:
            hint = (
                " (add it to known_hosts, or pass --accept-new-host-keys)"
                if "not found in known_hosts" in str(exc)
                else ""
            )
            raise ConnectionFailed(minion.name, f"ssh {params['hostname']}:{params['port']}: {exc}{hint}") from exc
        except (OSError, EOFError) as exc:
            raise ConnectionFailed(minion.name, f"ssh {params['hostname']}:{params['port']}: {exc}") from exc
        transport = self._client.get_transport()
        assert transport is not None
        transport.set_keepalive(15)
        self._transport = transport

    @property
    def address(self) -> str:
        peer = self._transport.getpeername()
        return str(peer[0]) if peer else ""

    def run(self, argv: Sequence[str], stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        command = shlex.join(argv)
        try:
            chan = self._transport.open_session(timeout=timeout)
            chan.settimeout(timeout)
            chan.exec_command(command)
            if stdin is not None:
                chan.sendall(stdin)
            chan.shutdown_write()
            out, err = _drain(chan)
            code = chan.recv_exit_status()
            chan.close()
        except (paramiko.SSHException, OSError) as exc:
            raise ConnectionFailed(self.minion.name, f"{command}: {exc}") from exc
        return CommandResult(tuple(argv), code, out.decode(errors="replace"), err.decode(errors="replace"))

    def docker(self) -> DockerOps:
        if self._docker is None:
            from kubeplay.connectors.docker import docker_over_ssh  # docker-py only once a daemon is talked to

            self._docker = docker_over_ssh(self._client)
        return self._docker

    def tcp_exchange(self, address: str, port: int, send: bytes, timeout: float) -> bytes:
        try:
            chan = self._transport.open_channel("direct-tcpip", (address, port), ("127.0.0.1", 0), timeout=timeout)
        except paramiko.ChannelException as exc:
            raise ConnectionRefusedError(f"{address}:{port}: {exc}") from exc
        except paramiko.SSHException as exc:
            raise OSError(f"{address}:{port}: {exc}") from exc
        chan.settimeout(timeout)
        try:
            if send:
                chan.sendall(send)
            data = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                chunk = chan.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data
        except TimeoutError:
            return data
        finally:
            chan.close()

    def close(self) -> None:
        if self._docker is not None:
            self._docker.close()
        self._client.close()

    def spawn(self, argv: Sequence[str]) -> HeldProcess:
        command = shlex.join(argv)
        try:
            chan = self._transport.open_session(timeout=CONNECT_TIMEOUT)
            chan.set_combine_stderr(True)
            chan.exec_command(command)
        except (paramiko.SSHException, OSError) as exc:
            raise ConnectionFailed(self.minion.name, f"{command}: {exc}") from exc
        return _ChannelProcess(chan)


def _drain(chan: paramiko.Channel) -> tuple[bytes, bytes]:
    """Read a channel's stdout to its end, then its stderr (paramiko buffers stderr meanwhile)."""
    return chan.makefile("rb").read(), chan.makefile_stderr("rb").read()


class _ChannelProcess:
    """A held program on its own SSH channel: sshd closes its stdin when the channel or the connection closes."""

    def __init__(self, chan: paramiko.Channel) -> None:
        self._chan = chan

    def read(self, timeout: float) -> bytes:
        self._chan.settimeout(timeout)
        return bytes(self._chan.recv(4096))  # raises TimeoutError (socket.timeout) when nothing came

    def write(self, data: bytes) -> None:
        self._chan.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(paramiko.SSHException, OSError):
            self._chan.shutdown_write()
            self._chan.status_event.wait(HELD_EXIT_WAIT)
        self._chan.close()
