"""What kubeplay needs from a minion: run a program, talk to its Docker, reach an address from it.

Connectors are built once per run by the CLI and passed in (as httpx passes its transport), so tests can swap
in their own. A minion's Docker is seen through ``DockerOps`` and the plain records below: no SDK object and no
SDK error crosses this boundary (``connectors/docker.py`` is the one implementation over docker-py).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Protocol

from kubeplay.dataclass import dataclass, field
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


@dataclass(frozen=True)
class ContainerSummary:
    """One container as Docker lists it (GET /containers/json)."""

    id: str
    name: str
    """Without Docker's leading "/"."""
    image: str
    state: str
    """Docker's state: created, running, restarting, exited, dead, ..."""
    status: str
    """Docker's status text, e.g. "Exited (1) 2 minutes ago", "Up 3 hours (healthy)"."""
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str = ""
    """The first network's IP address, or "" (a container in another one's network namespace has none)."""
    created: int = 0
    """Seconds since the epoch; 0 when unknown."""


@dataclass(frozen=True)
class DaemonFacts:
    """What the daemon tells about the minion: capacity, the bridge's subnet, the images it holds."""

    cpus: int
    memory: int
    """Bytes."""
    bridge_subnet: str
    """The IPv4 subnet of Docker's default bridge network, or ""."""
    images: frozenset[str]
    """Every RepoTag and RepoDigest of the images present ("redis:latest", "redis@sha256:...")."""


@dataclass(frozen=True)
class PortBinding:
    """A container port published on the minion."""

    container_port: int
    protocol: str
    """"tcp" or "udp", as Docker writes it."""
    host_port: int
    host_ip: str = ""
    """"" for every address of the minion."""


@dataclass(frozen=True)
class ContainerConfig:
    """Everything kubeplay sets when it creates a container (empty values mean Docker's default)."""

    name: str
    image: str
    labels: Mapping[str, str]
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str = ""
    hostname: str = ""
    exposed_ports: tuple[tuple[int, str], ...] = ()
    """(port, "tcp" or "udp"), each once."""
    port_bindings: tuple[PortBinding, ...] = ()
    """At most one per (container_port, protocol)."""
    restart_policy: str = "no"
    """Docker's name: "always", "on-failure" or "no"."""
    extra_hosts: Mapping[str, str] = field(default_factory=dict)
    """Name -> IP address, written to the container's /etc/hosts."""
    network_mode: str = ""
    """"container:<id>" to join another container's network namespace; "" for Docker's default."""
    privileged: bool = False
    binds: tuple[str, ...] = ()
    """"source:target:rw|ro", source a host path or a volume name."""
    memory_limit: int = 0
    """Bytes; 0 for no limit."""
    nano_cpus: int = 0
    """CPU quota in billionths of a CPU; 0 for no limit."""


@dataclass(frozen=True)
class PullProgress:
    """One line of the progress Docker streams while it pulls an image: a layer's status ("Pulling fs layer",
    "Downloading", "Download complete", "Pull complete", "Already exists", ...) and, while it downloads or
    extracts, its bytes so far of ``total`` (0 when Docker does not say)."""

    layer: str
    status: str
    current: int = 0
    total: int = 0


PullListener = Callable[[PullProgress], None]
"""Told each line of a pull's progress, as Docker streams it."""


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str


@dataclass(frozen=True)
class ContainerState:
    """What Docker keeps of a container's runs (GET /containers/{id}/json: State, RestartCount)."""

    status: str
    """created, running, paused, restarting, removing, exited, dead."""
    exit_code: int
    """Of its last run; Docker resets it to 0 when the container starts again."""
    started_at: str
    """RFC 3339; "" when it never started."""
    finished_at: str
    """RFC 3339; "" when it never stopped."""
    restart_count: int
    """How often Docker's restart policy restarted it."""
    error: str = ""
    oom_killed: bool = False


@dataclass(frozen=True)
class Terminal:
    """A pseudo-terminal for a program run by MinionConnection.attach: its type and its size, asked again while the
    program runs (a resized window is passed on)."""

    term: str
    size: Callable[[], tuple[int, int]]
    """(columns, rows) now."""


@dataclass(frozen=True)
class LocalStreams:
    """The file descriptors of this process a program on a minion is attached to."""

    stdin: int | None
    """None: the program's input is closed."""
    stdout: int = 1
    stderr: int = 2


class DockerOps(Protocol):
    """What kubeplay needs of a minion's Docker daemon. Failures raise ``DockerError`` (``DockerNotFound`` for a
    container, image or volume that does not exist)."""

    def containers(self, label: str) -> list[ContainerSummary]:
        """Every container, in any state, that carries the label ("key" or "key=value")."""
        ...

    def facts(self) -> DaemonFacts: ...

    def read_ahead(self, label: str) -> None:
        """An observation of ``label``'s containers and volumes and of the facts follows: a client may send those
        reads now, at once, for the calls that follow to read (one round trip instead of one each)."""
        ...

    def create(self, config: ContainerConfig) -> str:
        """Create a container (not started); returns its id. A name already in use raises ``DockerConflict``."""
        ...

    def start(self, container_id: str) -> None: ...

    def remove(self, container_id: str) -> None:
        """Remove a container, running or not, with its anonymous volumes; one already gone is no error."""
        ...

    def volumes(self, prefix: str) -> list[str]:
        """Names of the volumes whose name starts with prefix."""
        ...

    def remove_volume(self, name: str) -> None:
        """Remove a volume; one already gone is no error."""
        ...

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        """Create a named local volume with labels; one of that name already there is kept as it is."""
        ...

    def labelled_volumes(self, label: str) -> dict[str, dict[str, str]]:
        """Every volume that carries the label ("key" or "key=value"): name -> its labels."""
        ...

    def pull(self, reference: str, progress: PullListener | None = None) -> None:
        """Pull an image ("repository:tag" or "repository@digest"); an error the registry streams back raises.
        ``progress``, when given, is told each line of Docker's progress as it comes."""
        ...

    def import_image(self, rootfs: bytes, repository: str, tag: str, changes: Sequence[str]) -> None:
        """Import a tar of a root filesystem as an image, with Dockerfile instructions (``changes``) applied."""
        ...

    def exec(self, container_id: str, command: Sequence[str]) -> ExecResult:
        """Run a command in a running container and wait for it to finish."""
        ...

    def logs(self, container_id: str, tail: int) -> str:
        """The last ``tail`` lines the container wrote, stdout and stderr."""
        ...

    def log_stream(
        self, container_id: str, tail: int | None, since: float | None, follow: bool
    ) -> Generator[bytes, None, None]:
        """What the container wrote, stdout and stderr as Docker interleaves them, as it comes: its last ``tail``
        lines (None: all), written after ``since`` (seconds since the epoch; None: from the start); with ``follow``,
        then what it writes until it stops or the generator is closed (no read timeout)."""
        ...

    def container_state(self, container_id: str) -> ContainerState:
        """How the container runs and ran: state, last exit code and when, restarts."""
        ...

    def close(self) -> None: ...


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

    def docker(self) -> DockerOps:
        """The minion's own Docker daemon, over this connection (made on first use, closed with it)."""
        ...

    def tcp_exchange(self, address: str, port: int, send: bytes, timeout: float) -> bytes:
        """Open a TCP connection from the minion to address:port, send bytes, return what came back until close
        or timeout (raises OSError when the connection is refused)."""
        ...

    def close(self) -> None: ...

    def attach(self, argv: Sequence[str], streams: LocalStreams, terminal: Terminal | None) -> int:
        """Run a program on the minion wired to this process's ``streams`` until it exits, and return its exit code:
        what is read from ``streams.stdin`` goes to its input (end of file closes it), its output comes back as it
        is written. With ``terminal``, on a pseudo-terminal of that type and size (its output, stderr included, on
        ``streams.stdout``; the caller puts the local terminal in raw mode). argv is quoted, never interpreted by a
        shell. Raises ConnectionFailed when the program cannot be started."""
        ...

    def spawn(self, argv: Sequence[str]) -> HeldProcess:
        """Start a program on the minion that lives as long as the run wants: it reads its stdin, which ends when
        the HeldProcess is closed or when this connection drops (the run was killed). Its stdout and stderr
        come back together."""
        ...

    def docker_dial(self) -> tuple[str, ...]:
        """The program on the minion that speaks Docker's API on its stdin and stdout (`docker system dial-stdio`)
        when this connection reads Docker through one, else () (its Docker is reached otherwise)."""
        ...

    def read_docker_over(self, program: HeldProcess) -> None:
        """Read Docker over ``program`` from now on: a held program whose output so far was read and whose last
        step is ``docker_dial()`` (so one exec session serves a run). Only when ``docker_dial()`` is not ()."""
        ...


class ConnectionWrapper:
    """A MinionConnection that passes everything to the one it wraps; wrappers (tracing, faults, connections kept
    across rounds) override only what they change."""

    def __init__(self, conn: MinionConnection) -> None:
        self.conn = conn
        self.minion: Minion = conn.minion

    @property
    def address(self) -> str:
        return self.conn.address

    def run(self, argv: Sequence[str], stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        return self.conn.run(argv, stdin, timeout)

    def docker(self) -> DockerOps:
        return self.conn.docker()

    def tcp_exchange(self, address: str, port: int, send: bytes, timeout: float) -> bytes:
        return self.conn.tcp_exchange(address, port, send, timeout)

    def spawn(self, argv: Sequence[str]) -> HeldProcess:
        return self.conn.spawn(argv)

    def attach(self, argv: Sequence[str], streams: LocalStreams, terminal: Terminal | None) -> int:
        return self.conn.attach(argv, streams, terminal)

    def docker_dial(self) -> tuple[str, ...]:
        return self.conn.docker_dial()

    def read_docker_over(self, program: HeldProcess) -> None:
        self.conn.read_docker_over(program)

    def close(self) -> None:
        self.conn.close()


class Connector(Protocol):
    def __call__(self, minion: Minion) -> MinionConnection: ...


FAULT_VARIABLE = "KUBEPLAY_FAULT"
"""The environment variable of the fault-injection aid (kubeplay.connectors.faults, imported only when it is set)."""


HELD_EXIT_WAIT = 5.0
"""Seconds a closed HeldProcess is given to exit."""


class HeldProcess(Protocol):
    """A program running on a minion, started by MinionConnection.spawn."""

    def read(self, timeout: float) -> bytes:
        """What the program wrote since the last read, waiting up to ``timeout`` seconds for something; b"" once
        it has exited. Raises TimeoutError when it wrote nothing in time. Over SSH its stderr comes only after all
        of its stdout (nothing a login shell writes to stderr gets into the output read)."""
        ...

    def write(self, data: bytes) -> None:
        """Send bytes to the program's stdin."""
        ...

    def close(self) -> None:
        """Close the program's stdin (it sees end of file) and wait a few seconds for it to exit."""
        ...
