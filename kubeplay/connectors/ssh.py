"""A minion over SSH (paramiko): one connection per minion per run, shared by Docker and by commands.

Host keys are checked as OpenSSH checks them (kubeplay.connectors.knownhosts): against ~/.ssh/known_hosts (or the
UserKnownHostsFile of the minion's ssh arguments, ``ansible_ssh_common_args``), /etc/ssh/ssh_known_hosts (or their
GlobalKnownHostsFile) and the inventory's kubeplay_known_hosts, hashed entries and ``[host]:port`` names
included. An unknown key is rejected unless the user opted in to accept new keys (--accept-new-host-keys, or
StrictHostKeyChecking=accept-new in the ssh arguments); a changed key
(``HostKeyChanged``) or a revoked one (``HostKeyRevoked``) is always refused, before any credential is sent.
~/.ssh/config (HostName, Port, User, IdentityFile, ProxyCommand, ProxyJump) and ssh-agent are honoured; inventory
variables win over ~/.ssh/config, as in Ansible. A ProxyJump goes through direct-tcpip channels of the jump hosts,
each with its own host key check.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import select
import shlex
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeplay.connectors.base import (
    HELD_EXIT_WAIT,
    CommandResult,
    DockerOps,
    HeldProcess,
    LocalStreams,
    Terminal,
)
from kubeplay.connectors.knownhosts import (
    SYSTEM_KNOWN_HOSTS,
    USER_KNOWN_HOSTS,
    KnownHosts,
    fingerprint,
    host_key_name,
    read_known_hosts,
)
from kubeplay.connectors.sshconfig import (
    Endpoint,
    Jump,
    SSHConfig,
    SSHConfigError,
    minion_ssh_args,
    read_ssh_config,
    resolve,
)
from kubeplay.connectors.sshlib import paramiko
from kubeplay.dataclass import dataclass, field, replace
from kubeplay.errors import ConnectionFailed, HostKeyChanged, HostKeyRevoked, InputError, Problem
from kubeplay.model import Minion

if TYPE_CHECKING:
    from kubeplay.connectors.dockerread import ReadingDocker, Stream

CONNECT_TIMEOUT = 10.0
_RSA_SIGNATURES = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


@dataclass(frozen=True)
class SSHOptions:
    known_hosts: tuple[str, ...] = ()
    """Extra known_hosts files besides ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts."""
    accept_new_host_keys: bool = False
    ssh_config: str = "~/.ssh/config"
    timeout: float = CONNECT_TIMEOUT
    config: SSHConfig = field(default_factory=SSHConfig)
    """The ssh config, once ``files_read``."""
    known: KnownHosts = field(default_factory=KnownHosts)
    """The default known_hosts files, once ``files_read``."""
    files_read: bool = False
    known_for_files: Mapping[tuple[str, ...], KnownHosts] = field(default_factory=dict)
    """Other sets of known_hosts files (a minion's UserKnownHostsFile), read beforehand by ``ssh_options``."""
    remember: Callable[[Path, str], None] | None = None
    """Where a new host key that is accepted goes (the known_hosts file, its line); None: ``remember_host_key``."""

    def with_files_read(self) -> SSHOptions:
        """These options with ~/.ssh/config and the known_hosts files read (``ssh_options`` reads them once for a
        run; a connection made with options that were not read reads them itself). Raises InputError."""
        if self.files_read:
            return self
        try:
            config = read_ssh_config(self.ssh_config)
        except SSHConfigError as exc:
            raise InputError([Problem(exc.file, exc.message, exc.line or None)]) from exc
        known = read_known_hosts(self.known_hosts_files())
        return replace(self, config=config, known=known, files_read=True)

    def endpoint(self, minion: Minion) -> Endpoint:
        """How to reach the minion: the inventory's values over its ssh arguments' over the ssh config's."""
        want = Jump(minion.host, minion.user, minion.port if minion.port != 22 else 0)
        keys = (minion.key_file,) if minion.key_file else ()
        return resolve(self.config, minion.host, want, keys, minion_ssh_args(minion))

    def known_hosts_files(self, endpoint: Endpoint | None = None) -> tuple[str, ...]:
        """The files the endpoint's host key is checked against, as ssh checks them (its UserKnownHostsFile, else
        ~/.ssh/known_hosts; its GlobalKnownHostsFile, else /etc/ssh/ssh_known_hosts), and kubeplay_known_hosts."""
        user = endpoint.known_hosts if endpoint and endpoint.known_hosts is not None else (USER_KNOWN_HOSTS,)
        system: tuple[str, ...] = (SYSTEM_KNOWN_HOSTS,)
        if endpoint and endpoint.global_known_hosts is not None:
            system = endpoint.global_known_hosts
        return (*user, *system, *self.known_hosts)

    def known_for(self, endpoint: Endpoint) -> KnownHosts:
        """The known_hosts entries the endpoint's host key is checked against."""
        files = self.known_hosts_files(endpoint)
        if files == self.known_hosts_files():
            return self.known
        return self.known_for_files.get(files) or read_known_hosts(files)


def ssh_options(
    minions: Sequence[Minion], known_hosts: tuple[str, ...], accept_new_host_keys: bool, timeout: float
) -> tuple[SSHOptions, list[str]]:
    """Read ~/.ssh/config and the known_hosts files once for the run, and work out how to reach every minion
    (jump hosts and proxy programs included) before anything connects. Returns the options and the warnings to
    show. Raises InputError naming the file and line of every problem."""
    options = SSHOptions(
        known_hosts=known_hosts, accept_new_host_keys=accept_new_host_keys, timeout=timeout
    ).with_files_read()
    problems = [problem for minion in minions for problem in _route_problems(options, minion)]
    if problems:
        raise InputError(problems)
    files = {options.known_hosts_files(options.endpoint(minion)) for minion in minions}
    other = {found: read_known_hosts(found) for found in files if found != options.known_hosts_files()}
    warnings = [warning for known in other.values() for warning in known.warnings]
    options = replace(options, known_for_files=other)
    return options, list(dict.fromkeys([*options.config.warnings, *options.known.warnings, *warnings]))


def _route_problems(options: SSHOptions, minion: Minion) -> list[Problem]:
    try:
        endpoint = options.endpoint(minion)
    except SSHConfigError as exc:
        return [Problem(exc.file, exc.message, exc.line or None, f"minion {minion.name}")]
    except ValueError as exc:
        return [Problem("inventory", f"host {minion.host!r} {exc}", None, f"minion {minion.name}", "ansible_host")]
    return [
        Problem(hop.command_at, f"ProxyCommand program {hop.command[0]!r} not found", None, f"minion {minion.name}")
        for hop in _hops(endpoint)
        if hop.command and shutil.which(hop.command[0]) is None
    ]


_LOST = (paramiko.SSHException, OSError, EOFError)
"""What a connection lost may raise: paramiko raises the exception that ended its transport, an EOFError when the
server closed it (e.g. an sshd shedding connections under load), from ``connect``, ``open_channel`` and
``open_session`` alike."""


def _hops(endpoint: Endpoint | None) -> Iterator[Endpoint]:
    while endpoint is not None:
        yield endpoint
        endpoint = endpoint.via


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Every presented key is judged here (paramiko's own host key store stays empty): known passes, changed and
    revoked are refused, unknown is refused unless new keys are accepted (then remembered in the first
    UserKnownHostsFile of the minion's ssh arguments, else in ~/.ssh/known_hosts)."""

    def __init__(self, minion: str, endpoint: Endpoint, options: SSHOptions) -> None:
        self.minion, self.endpoint, self.options = minion, endpoint, options

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        host, port = self.endpoint.host, self.endpoint.port
        name = host_key_name(host, port)
        check = self.options.known_for(self.endpoint).check(host, port, key.get_name(), key.asbytes())
        presented = f"{key.get_name()} {fingerprint(key.asbytes())}"
        if check.verdict == "revoked" and check.entry:
            raise HostKeyRevoked(
                self.minion, f"{name} presents the REVOKED host key {presented} ({check.entry.where}): refusing"
            )
        if check.verdict == "changed" and check.entry:
            raise HostKeyChanged(self.minion, _changed_message(name, presented, check.entry.where, check.entry.key))
        if check.verdict == "unknown":
            self._unknown(name, key, presented)

    def _unknown(self, name: str, key: paramiko.PKey, presented: str) -> None:
        if not (self.options.accept_new_host_keys or self.endpoint.accept_new):
            raise ConnectionFailed(
                self.minion,
                f"host key of {name} ({presented}) not found in known_hosts "
                "(add it to known_hosts, or pass --accept-new-host-keys)",
            )
        save_to = Path(next(iter(self.endpoint.known_hosts or ()), USER_KNOWN_HOSTS)).expanduser()
        (self.options.remember or remember_host_key)(save_to, f"{name} {key.get_name()} {key.get_base64()}\n")


def remember_host_key(known_hosts: Path, line: str) -> None:
    """Append a host key's line to a known_hosts file (its folder made when missing)."""
    known_hosts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with known_hosts.open("a") as f:
        f.write(line)


def _changed_message(name: str, presented: str, where: str, known: bytes) -> str:
    file, _, line = where.rpartition(":")
    return (
        f"host key of {name} CHANGED: it presents {presented}, {where} holds {fingerprint(known)}. "
        "Someone may be intercepting the connection, or the host was reinstalled: refusing to connect. "
        f"If the new key is right, remove line {line} of {file} (ssh-keygen -R {shlex.quote(name)} -f "
        f"{shlex.quote(file)}) and add the new key"
    )


class _Carrier:
    """The socket paramiko talks through when the connection is carried: a jump host's direct-tcpip channel (the
    jump host's connection is closed with it) or a ProxyCommand. Reports the target as the peer."""

    def __init__(self, inner: Any, peer: tuple[str, int], on_close: Callable[[], None] = lambda: None) -> None:
        self.inner, self.peer, self.on_close = inner, peer, on_close

    def send(self, data: bytes) -> int:
        return int(self.inner.send(data))

    def recv(self, size: int) -> bytes:
        return bytes(self.inner.recv(size))

    def settimeout(self, timeout: float | None) -> None:
        self.inner.settimeout(timeout)

    def getpeername(self) -> tuple[str, int]:
        return self.peer

    @property
    def _closed(self) -> bool:
        return bool(self.inner._closed)

    def close(self) -> None:
        """Close the carrier (paramiko's transport closes its socket): a jump host's connection already lost has
        nothing left to close (paramiko's write of the channel's close raises EOFError, an internal error once)."""
        try:
            with contextlib.suppress(*_LOST):
                self.inner.close()
        finally:
            self.on_close()


def _peer(endpoint: Endpoint) -> tuple[str, int]:
    """The target's address when it is one (what ``SSHConnection.address`` reports), else "" (unknown)."""
    try:
        ipaddress.ip_address(endpoint.host.partition("%")[0])
    except ValueError:
        return "", endpoint.port
    return endpoint.host, endpoint.port


def _carrier(minion: str, endpoint: Endpoint, options: SSHOptions) -> _Carrier | None:
    if endpoint.via is not None:
        jump = _open(minion, endpoint.via, options, jump=True)
        transport = jump.get_transport()
        try:
            assert transport is not None
            channel = transport.open_channel(
                "direct-tcpip", (endpoint.host, endpoint.port), ("127.0.0.1", 0), timeout=options.timeout
            )
        except _LOST as exc:
            jump.close()
            where = f"{endpoint.via.name} ({host_key_name(endpoint.via.host, endpoint.via.port)})"
            raise ConnectionFailed(
                minion, f"jump host {where} cannot reach {host_key_name(endpoint.host, endpoint.port)}: {exc}"
            ) from exc
        return _Carrier(channel, _peer(endpoint), jump.close)
    if endpoint.command:
        try:
            return _Carrier(paramiko.ProxyCommand(shlex.join(endpoint.command)), _peer(endpoint))
        except OSError as exc:
            raise ConnectionFailed(minion, f"ProxyCommand ({endpoint.command_at}): {exc}") from exc
    return None


def _transport_factory(key_types: list[str]) -> Callable[..., paramiko.Transport]:
    """Transports that ask the server first for the key types known_hosts holds for it (as OpenSSH does), so a
    host with a known ECDSA key is not met with an unknown Ed25519 one."""
    wanted = [t for known in key_types for t in (_RSA_SIGNATURES if known == "ssh-rsa" else (known,))]

    def make(sock: Any, disabled_algorithms: dict[str, list[str]] | None = None) -> paramiko.Transport:
        transport = paramiko.Transport(sock, disabled_algorithms=disabled_algorithms)
        security = transport.get_security_options()
        offered = list(security.key_types)
        first = [t for t in wanted if t in offered]
        security.key_types = [*first, *(t for t in offered if t not in first)]
        return transport

    return make


def resolver_host(host: str) -> str | bytes:
    """``host`` as socket.getaddrinfo takes it without loading the idna codec (with unicodedata and stringprep,
    ~1.5 ms of a run's start-up): an ASCII name or address as its ASCII bytes, which is exactly what getaddrinfo
    makes of the str with that codec (encodings.idna's ASCII fast path), when the codec would accept it; anything
    else (a non-ASCII name, an empty or over-long label) unchanged, for the codec to encode or refuse as before."""
    if not host.isascii():
        return host
    *labels, last = host.split(".")
    if all(0 < len(label) < 64 for label in labels) and len(last) < 64:
        return host.encode("ascii")
    return host


class _Client(paramiko.SSHClient):
    """paramiko's client, resolving the host it connects to directly with ``resolver_host`` (it passes the str
    to getaddrinfo; the address it then connects to is a numeric str, which needs no codec)."""

    def _families_and_addresses(self, hostname: str, port: int) -> Iterator[tuple[int, Any]]:
        return super()._families_and_addresses(resolver_host(hostname), port)  # type: ignore[misc,no-any-return]  # (not in the stubs)


def _open(minion: str, endpoint: Endpoint, options: SSHOptions, *, jump: bool = False) -> paramiko.SSHClient:
    """A connected, authenticated client for the endpoint (through its jump host or proxy program)."""
    sock = _carrier(minion, endpoint, options)
    client = _Client()
    client.set_missing_host_key_policy(_HostKeyPolicy(minion, endpoint, options))
    where = f"ssh {host_key_name(endpoint.host, endpoint.port)}"
    if jump:
        where = f"jump host {endpoint.name}: {where}"
    timeout = endpoint.timeout or options.timeout
    try:
        client.connect(
            hostname=endpoint.host,
            port=endpoint.port,
            username=endpoint.user or "root",
            key_filename=list(endpoint.key_files) or None,  # type: ignore[arg-type]  # paramiko takes a list too
            sock=sock,  # type: ignore[arg-type]
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            allow_agent=not endpoint.identities_only,
            look_for_keys=not endpoint.identities_only,
            transport_factory=_transport_factory(options.known_for(endpoint).key_types(endpoint.host, endpoint.port)),
        )
    except ConnectionFailed:
        _close(client, sock)
        raise
    except _LOST as exc:
        _close(client, sock)
        raise ConnectionFailed(minion, f"{where}: {exc}") from exc
    return client


def _close(client: paramiko.SSHClient, sock: _Carrier | None) -> None:
    client.close()
    if sock is not None:
        sock.close()


def shut_transports() -> None:
    """Shut every SSH transport of the process still running: its socket shut down, its thread told to stop (it
    ends within paramiko's 0.1 s poll). For the end of the process (cli/ending.py), when every connection is of no
    more use: a handshake still in progress (a connection made ahead that the run did not take) ends at once, and
    so does the thread of a transport its connection closed a moment ago. A transport whose thread was started
    but has yet to run (``is_alive()`` is still False: under load it can be so for a while) is shut as well: its
    thread then ends on its first write."""
    for thread in threading.enumerate():
        if isinstance(thread, paramiko.Transport):
            _shut_down(thread)
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                thread.close()


def _shut_down(transport: paramiko.Transport) -> None:
    """The transport's socket shut down: its thread, waiting for the server, wakes up at once and ends (a socket
    only closed leaves it waiting until paramiko's 0.1 s poll)."""
    with contextlib.suppress(OSError, AttributeError):  # (closed already; a jump host's channel has no shutdown)
        transport.sock.shutdown(socket.SHUT_RDWR)


class SSHConnection:
    def __init__(self, minion: Minion, options: SSHOptions) -> None:
        self.minion = minion
        self._docker: ReadingDocker | None = None
        self._writer: DockerOps | None = None
        self._writer_lock = threading.Lock()
        options = options.with_files_read()
        self._client = _open(minion.name, options.endpoint(minion), options)
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
        except _LOST as exc:
            raise ConnectionFailed(self.minion.name, f"{command}: {exc}") from exc
        return CommandResult(tuple(argv), code, out.decode(errors="replace"), err.decode(errors="replace"))

    def docker(self) -> DockerOps:
        """Reads over one `docker system dial-stdio` channel (or the held program ``read_docker_over`` was given),
        containers and volumes changed over others; docker-py only for the rest (pull, exec, logs, ...)."""
        return self._reading()

    def _reading(self) -> ReadingDocker:
        if self._docker is None:
            from kubeplay.connectors.dockerread import DockerHTTP, ReadingDocker

            self._docker = ReadingDocker(DockerHTTP(self._dial_stdio), self._writing)
        return self._docker

    def _writing(self) -> DockerOps:
        """The client of the calls that change something, made by the first one (a run that changes nothing never
        imports connectors.dockerwrite): threads that change containers at once all get this one."""
        with self._writer_lock:
            if self._writer is None:
                from kubeplay.connectors.dockerwrite import WritingDocker

                self._writer = WritingDocker(self._dial_stdio, self._docker_py)
            return self._writer

    def docker_dial(self) -> tuple[str, ...]:
        from kubeplay.connectors.dockerread import DIAL_STDIO

        return DIAL_STDIO

    def read_docker_over(self, program: HeldProcess) -> None:
        self._reading().read_over(program)

    def _dial_stdio(self) -> Stream:
        from kubeplay.connectors.dockerread import DIAL_STDIO, TIMEOUT

        chan = self._transport.open_session(timeout=CONNECT_TIMEOUT)
        chan.settimeout(TIMEOUT)
        chan.exec_command(shlex.join(DIAL_STDIO))
        return chan

    def _docker_py(self) -> DockerOps:
        from kubeplay.connectors.docker import docker_over_ssh  # docker-py only for a pull, an exec, logs, ...

        return docker_over_ssh(self._client)

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
        _shut_down(self._transport)
        self._client.close()

    def spawn(self, argv: Sequence[str]) -> HeldProcess:
        command = shlex.join(argv)
        try:
            chan = self._transport.open_session(timeout=CONNECT_TIMEOUT)
            chan.exec_command(command)
        except _LOST as exc:
            raise ConnectionFailed(self.minion.name, f"{command}: {exc}") from exc
        return _ChannelProcess(chan)

    def attach(self, argv: Sequence[str], streams: LocalStreams, terminal: Terminal | None) -> int:
        command = shlex.join(argv)
        try:
            chan = self._transport.open_session(timeout=CONNECT_TIMEOUT)
            if terminal is not None:
                columns, rows = terminal.size()
                chan.get_pty(term=terminal.term, width=columns, height=rows)
            chan.exec_command(command)
        except _LOST as exc:
            raise ConnectionFailed(self.minion.name, f"{command}: {exc}") from exc
        try:
            return pump(chan, streams, terminal)
        finally:
            chan.close()


POLL_SECONDS = 0.2
"""How often an attached program's window size is looked at when nothing else happens."""


def pump(chan: paramiko.Channel, streams: LocalStreams, terminal: Terminal | None) -> int:
    """Copy the local input to the channel and its output (stdout, stderr) to the local streams until the program
    has exited and everything it wrote is copied; pass a resized window on. The program's exit code (-1 when it
    ended without one, e.g. killed by a signal)."""
    size = terminal.size() if terminal is not None else None
    stdin = streams.stdin
    if stdin is None:
        chan.shutdown_write()
    while not (chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready()):
        waited_on = [chan.fileno()] if stdin is None else [chan.fileno(), stdin]
        ready, _, _ = select.select(waited_on, [], [], POLL_SECONDS)
        if terminal is not None and (now := terminal.size()) != size:
            size = now
            chan.resize_pty(width=now[0], height=now[1])
        copied = _copy_output(chan, streams)
        if stdin is not None and stdin in ready:
            data = os.read(stdin, 65536)
            if data:
                chan.sendall(data)
            else:  # end of the local input: the program's input ends too
                chan.shutdown_write()
                stdin = None
        elif not copied and chan.eof_received:  # output done, exit status on its way: wait without spinning
            chan.status_event.wait(POLL_SECONDS)
    return chan.recv_exit_status()


def _copy_output(chan: paramiko.Channel, streams: LocalStreams) -> bool:
    """Write what the channel holds of the program's stdout and stderr to the local streams; whether there was any."""
    copied = False
    while chan.recv_ready():
        _write_all(streams.stdout, chan.recv(65536))
        copied = True
    while chan.recv_stderr_ready():
        _write_all(streams.stderr, chan.recv_stderr(65536))
        copied = True
    return copied


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _drain_stderr(chan: paramiko.Channel) -> bytes:
    """What paramiko holds of the program's stderr (all of it, once the channel's end came)."""
    err = b""
    while chan.recv_stderr_ready():
        err += chan.recv_stderr(65536)
    return err


def _drain(chan: paramiko.Channel) -> tuple[bytes, bytes]:
    """Read a channel's stdout to its end, then its stderr (paramiko buffers stderr meanwhile)."""
    return chan.makefile("rb").read(), chan.makefile_stderr("rb").read()


class _ChannelProcess:
    """A held program on its own SSH channel: sshd closes its stdin when the channel or the connection closes.

    Its output is its stdout alone, what it wrote to stderr only after that ended: sshd starts the program through
    the user's login shell, whose startup files may write to stderr before the program runs (a `pyenv rehash`
    that lost a race with another session's said "rm: cannot remove ..."), and mixed into the output that would
    have been read as the lock program's answer or the start of Docker's."""

    def __init__(self, chan: paramiko.Channel) -> None:
        self._chan = chan
        self._stderr_given = False

    def read(self, timeout: float) -> bytes:
        self._chan.settimeout(timeout)
        out = bytes(self._chan.recv(65536))  # raises TimeoutError (socket.timeout) when nothing came
        if out or self._stderr_given:
            return out
        # stdout ended (sshd sends the end after all of stderr): stderr once, for the error a reader reports
        self._stderr_given = True
        return _drain_stderr(self._chan)

    def write(self, data: bytes) -> None:
        self._chan.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(*_LOST):
            self._chan.shutdown_write()
            self._chan.status_event.wait(HELD_EXIT_WAIT)
        with contextlib.suppress(*_LOST):  # (the connection lost: nothing left to close)
            self._chan.close()
