"""In-memory stand-ins for a minion: ``FakeDocker`` (DockerOps) and ``FakeConnection`` (MinionConnection).

FakeDocker holds containers, volumes and images as Docker would (a named volume in a bind is made on create, a
removed container takes nothing else with it), records every call, and fails a call it was told to fail with
``DockerError``, as the real client does. ``FakeIptables`` keeps a minion's tables across runs as
``iptables-restore --noflush`` changes them and ``iptables-save`` prints them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterable, Mapping, Sequence

from kubeplay.connectors.base import (
    CommandResult,
    ContainerConfig,
    ContainerState,
    ContainerSummary,
    DaemonFacts,
    ExecResult,
    HeldProcess,
    LocalStreams,
    PullListener,
    PullProgress,
    Terminal,
)
from kubeplay.dataclass import dataclass, field
from kubeplay.errors import DockerConflict, DockerError, DockerNotFound
from kubeplay.model import Minion
from kubeplay.proxy.routes import SHOW_ROUTES
from kubeplay.proxy.rules import SAVE
from kubeplay.proxy.sync import READ_NETWORK


@dataclass
class FakeContainer:
    id: str
    config: ContainerConfig
    state: str = "created"
    ip: str = ""
    created: int = 0


Call = tuple[str, str]
"""(method, subject): the container's name, the volume's name, the image reference."""

CHANGES = ("create", "start", "remove", "create_volume", "remove_volume", "pull", "import_image")
"""The calls that change a minion."""


class Killed(BaseException):
    """The run was killed (kill -9): nothing after it happens. A BaseException, so no ``except Exception`` in
    kubeplay catches it, as nothing catches a SIGKILL."""


@dataclass
class Fuse:
    """Shared by several fakes: the run is killed just before the change that would come after ``changes``
    changes (counted over every minion), so a test can stop a run at each of its steps in turn."""

    changes: int
    done: int = 0

    def change(self) -> None:
        if self.done >= self.changes:
            raise Killed(f"killed after {self.done} changes")
        self.done += 1


_CREATING = threading.Lock()


@dataclass
class FakeDocker:
    images: set[str] = field(default_factory=set)
    journal: list[tuple[str, str, str]] | None = None
    """When given (shared by several fakes), every call is also appended here as (minion, method, subject)."""
    minion: str = "m1"
    started_state: str = "running"
    """The state a started container is in (e.g. "exited": it dies at once)."""
    created_at: int = field(default_factory=lambda: int(time.time()))
    """Creation time given to new containers, in seconds since the epoch."""
    exit_codes: dict[tuple[str, ...], int] = field(default_factory=dict)
    """Exec command -> its exit code (0 when not listed)."""
    held: dict[str, FakeContainer] = field(default_factory=dict)
    volume_names: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    failing: dict[Call, str] = field(default_factory=dict)
    volume_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    """Labels of the volumes created with labels (a volume made by a bind has none)."""
    fuse: Fuse | None = None
    ip_prefix: str = "172.17.0."
    """Containers' IPs are this and a number."""
    ips_given: list[str] = field(default_factory=list)
    """Every IP given to a container so far: none is given twice."""
    pull_progress: tuple[PullProgress, ...] = ()
    """What a pull streams to its progress listener, line by line."""
    written: dict[str, list[str]] = field(default_factory=dict)
    log_requests: list[tuple[str, int | None, float | None, bool]] = field(default_factory=list)
    """(container name, tail, since, follow) of every log_stream call."""
    """Container name -> the lines it wrote, oldest first (what log_stream returns)."""
    states: dict[str, ContainerState] = field(default_factory=dict)
    """Container name -> what container_state answers (else its state with nothing run yet)."""

    def fail(self, method: str, subject: str = "", message: str = "") -> None:
        """Make every later call of method (on subject, or on anything when "") raise DockerError."""
        self.failing[(method, subject)] = message or f"{method} {subject} refused".strip()

    def _call(self, method: str, subject: str) -> None:
        if self.fuse is not None and method in CHANGES:
            self.fuse.change()
        self.calls.append((method, subject))
        if self.journal is not None:
            self.journal.append((self.minion, method, subject))
        why = self.failing.get((method, subject)) or self.failing.get((method, ""))
        if why:
            raise DockerError(why)

    def _container(self, container_id: str) -> FakeContainer:
        found = self.held.get(container_id)
        if found is None:
            raise DockerNotFound(f"No such container: {container_id}")
        return found

    def named(self, name: str) -> FakeContainer:
        """The container of that name (a test's look-up, not a call)."""
        return next(c for c in self.held.values() if c.config.name == name)

    # --- DockerOps ---

    def containers(self, label: str) -> list[ContainerSummary]:
        self._call("containers", label)
        key, _, value = label.partition("=")
        return [
            ContainerSummary(
                c.id,
                c.config.name,
                c.config.image,
                c.state,
                c.state.capitalize(),
                dict(c.config.labels),
                c.ip,
                c.created,
            )
            for c in self.held.values()
            if key in c.config.labels and (not value or c.config.labels[key] == value)
        ]

    def read_ahead(self, label: str) -> None:
        """Each read is answered when it is called."""

    def facts(self) -> DaemonFacts:
        self._call("facts", "")
        return DaemonFacts(2, 4 << 30, "172.17.0.0/16", frozenset(self.images))

    def create(self, config: ContainerConfig) -> str:
        with _CREATING:  # an executor makes a minion's new pods side by side: no IP or id is given twice
            return self._create(config)

    def _create(self, config: ContainerConfig) -> str:
        self._call("create", config.name)
        if any(c.config.name == config.name for c in self.held.values()):
            raise DockerConflict(f'Conflict. The container name "/{config.name}" is already in use')
        container_id = f"{config.name}@{len(self.calls)}"
        ip = "" if config.network_mode else f"{self.ip_prefix}{len(self.ips_given) + 2}"
        self.ips_given += [ip] if ip else []
        self.held[container_id] = FakeContainer(container_id, config, ip=ip, created=self.created_at)
        self.volume_names.update(b.split(":")[0] for b in config.binds if not b.startswith("/"))
        return container_id

    def start(self, container_id: str) -> None:
        self._call("start", self.held[container_id].config.name if container_id in self.held else container_id)
        self._container(container_id).state = self.started_state

    def remove(self, container_id: str) -> None:
        self._call("remove", self.held[container_id].config.name if container_id in self.held else container_id)
        self.held.pop(container_id, None)

    def volumes(self, prefix: str) -> list[str]:
        self._call("volumes", prefix)
        return sorted(v for v in self.volume_names if v.startswith(prefix))

    def remove_volume(self, name: str) -> None:
        self._call("remove_volume", name)
        self.volume_names.discard(name)
        self.volume_labels.pop(name, None)

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        self._call("create_volume", name)
        if name not in self.volume_names:
            self.volume_names.add(name)
            self.volume_labels[name] = dict(labels)

    def labelled_volumes(self, label: str) -> dict[str, dict[str, str]]:
        self._call("volumes", label)
        key, _, value = label.partition("=")
        return {
            name: dict(labels)
            for name, labels in self.volume_labels.items()
            if key in labels and (not value or labels[key] == value)
        }

    def pull(self, reference: str, progress: PullListener | None = None) -> None:
        self._call("pull", reference)
        if progress is not None:
            for line in self.pull_progress:
                progress(line)
        self.images.add(reference)

    def import_image(self, rootfs: bytes, repository: str, tag: str, changes: Sequence[str]) -> None:
        self._call("import_image", f"{repository}:{tag}")
        self.images.add(f"{repository}:{tag}")

    def exec(self, container_id: str, command: Sequence[str]) -> ExecResult:
        self._call("exec", self._container(container_id).config.name)
        return ExecResult(self.exit_codes.get(tuple(command), 0), "")

    def logs(self, container_id: str, tail: int) -> str:
        self._call("logs", self._container(container_id).config.name)
        return ""

    def log_stream(
        self, container_id: str, tail: int | None, since: float | None, follow: bool
    ) -> Generator[bytes, None, None]:
        """The container's ``written`` lines (``since`` and ``follow`` are recorded, not simulated)."""
        name = self._container(container_id).config.name
        self._call("log_stream", name)
        self.log_requests.append((name, tail, since, follow))
        lines = self.written.get(name, [])
        return (f"{line}\n".encode() for line in (lines if tail is None else lines[len(lines) - tail :]))

    def container_state(self, container_id: str) -> ContainerState:
        found = self._container(container_id)
        self._call("container_state", found.config.name)
        return self.states.get(found.config.name, ContainerState(found.state, 0, "", "", 0))

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Answer:
    """What one scripted run() returns."""

    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""


TcpAnswer = bytes | OSError


@dataclass
class FakeIptables:
    """A minion's iptables: table -> chain -> rules ("-A CHAIN ..."); chains in upper case with no "-" are the
    built-in ones. Understands what kubeplay's restore texts say (declare, append, insert, delete, delete chain)."""

    tables: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def save(self) -> str:
        lines = []
        for table, chains in sorted(self.tables.items()):
            lines.append(f"*{table}")
            lines += [f":{c} {'ACCEPT' if _builtin(c) else '-'} [0:0]" for c in chains]
            lines += [rule for rules in chains.values() for rule in rules]
            lines.append("COMMIT")
        return "".join(f"{line}\n" for line in lines)

    def restore(self, text: str) -> None:
        chains: dict[str, list[str]] = {}
        for line in text.splitlines():
            op, _, rest = line.partition(" ")
            chain, _, spec = rest.partition(" ")
            if line.startswith("*"):
                chains = self.tables.setdefault(line[1:], {})
            elif line.startswith(":"):
                chains[line[1:].split()[0]] = []
            elif op == "-A":
                chains.setdefault(chain, []).append(line)
            elif op == "-I":
                position, _, spec = spec.partition(" ")
                chains.setdefault(chain, []).insert(int(position) - 1, f"-A {chain} {spec}")
            elif op == "-D":
                chains[chain].remove(f"-A {chain} {spec}")
            elif op == "-X":
                del chains[chain]


def _builtin(chain: str) -> bool:
    return chain.isupper() and "-" not in chain


class FakeConnection:
    """A minion connection whose run() answers from a script (in order; exit 0 and no output once it is used up),
    iptables-save and iptables-restore from ``iptables`` when given, and whose tcp_exchange() answers per
    (address, port): bytes, or an OSError raised."""

    def __init__(
        self,
        name: str = "m1",
        docker: FakeDocker | None = None,
        *,
        answers: Iterable[Answer] = (),
        tcp: Mapping[tuple[str, int], TcpAnswer] | None = None,
        held: str = "locked\n",
        iptables: FakeIptables | None = None,
    ) -> None:
        self.minion = Minion(name, "10.0.0.1")
        self.fake_docker = docker if docker is not None else FakeDocker(minion=name)
        self.answers = list(answers)
        self.iptables = iptables
        self.tcp = dict(tcp or {})
        self.runs: list[tuple[tuple[str, ...], bytes | None]] = []
        self.exchanges: list[tuple[str, int, bytes]] = []
        self.held_answer = held
        """What the lock program answers (kubelet/lock.py), each time it is spawned."""
        self.held = FakeHeld(held)
        """The lock program spawned last."""
        self.spawned: list[tuple[str, ...]] = []
        self.attached: list[tuple[tuple[str, ...], bool]] = []
        """Each program attached to, and whether it had a terminal."""
        self.closed = False

    @property
    def address(self) -> str:
        return self.minion.host

    def run(self, argv: Sequence[str], stdin: bytes | None = None, timeout: float = 60) -> CommandResult:
        self.runs.append((tuple(argv), stdin))
        if self.fake_docker.journal is not None:
            self.fake_docker.journal.append((self.minion.name, "run", argv[0]))
        if tuple(argv) == READ_NETWORK:  # as the minion's sh runs it: iptables-save, then ip route
            saved, routes = self._answer(SAVE, stdin), self._answer(SHOW_ROUTES, stdin)
            output = "\0".join((saved.stdout, str(saved.exit_code), routes.stdout, str(routes.exit_code)))
            return CommandResult(tuple(argv), 0, output, saved.stderr + routes.stderr)
        return self._answer(argv, stdin)

    def _answer(self, argv: Sequence[str], stdin: bytes | None) -> CommandResult:
        if self.iptables is not None and argv[0] == "iptables-save":
            return CommandResult(tuple(argv), 0, self.iptables.save(), "")
        if self.iptables is not None and argv[0] == "iptables-restore":
            self.iptables.restore((stdin or b"").decode())
        answer = self.answers.pop(0) if self.answers else Answer()
        return CommandResult(tuple(argv), answer.exit_code, answer.stdout, answer.stderr)

    def docker(self) -> FakeDocker:
        return self.fake_docker

    def tcp_exchange(self, address: str, port: int, send: bytes, timeout: float) -> bytes:
        self.exchanges.append((address, port, send))
        answer = self.tcp.get((address, port), ConnectionRefusedError(f"{address}:{port}: connection refused"))
        if isinstance(answer, OSError):
            raise answer
        return answer

    def close(self) -> None:
        self.closed = True

    def attach(self, argv: Sequence[str], streams: LocalStreams, terminal: Terminal | None) -> int:
        """Records the program (and whether it had a terminal) and answers the next scripted exit code."""
        self.attached.append((tuple(argv), terminal is not None))
        answer = self.answers.pop(0) if self.answers else Answer()
        return answer.exit_code

    def docker_dial(self) -> tuple[str, ...]:
        """(): the fake Docker is called directly."""
        return ()

    def read_docker_over(self, program: HeldProcess) -> None:
        raise NotImplementedError("the fake Docker is called directly")

    def spawn(self, argv: Sequence[str]) -> HeldProcess:
        self.spawned.append(tuple(argv))
        self.held = FakeHeld(self.held_answer)
        return self.held


class FakeHeld:
    """A held program (MinionConnection.spawn) that answers with the given output, a few bytes at a time (lines
    arrive in pieces), and records what it was sent."""

    def __init__(self, output: str) -> None:
        self.output = output.encode()
        self.written = b""
        self.closed = False

    def read(self, timeout: float) -> bytes:
        out, self.output = self.output[:3], self.output[3:]
        return out

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


def connections(*conns: FakeConnection) -> dict[str, FakeConnection]:
    return {c.minion.name: c for c in conns}
