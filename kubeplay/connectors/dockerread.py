"""What a run reads from a minion's Docker, without docker-py: a few GETs of Docker's HTTP API over one
`docker system dial-stdio` program on the run's SSH connection.

A no-op apply only reads (the container list, the labelled volumes, the daemon's facts), and importing docker-py
(with requests and urllib3) cost more CPU than all of that reading: ``ReadingDocker`` answers the reads itself
and hands every other call (create, start, remove, pull, exec, ...) to docker-py's client (connectors/docker.py),
made on the first such call. Both speak API version 1.41 over channels of the same SSH connection.

The HTTP client is the least Docker's API needs: HTTP/1.1 GET with keep-alive on one byte stream, a body of known
length or chunked, JSON in and out; an answer that is not 2xx raises ``DockerError`` with Docker's message
(``DockerNotFound`` for 404).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote

from kubeplay.connectors.base import (
    ContainerConfig,
    ContainerState,
    ContainerSummary,
    DaemonFacts,
    DockerOps,
    ExecResult,
    HeldProcess,
    PullListener,
)
from kubeplay.errors import DockerError, DockerNotFound

API_VERSION = "1.41"
"""Docker Engine 20.10; every later engine still speaks it (as connectors/docker.py)."""
DIAL_STDIO = ("docker", "system", "dial-stdio")
TIMEOUT = 120
"""Seconds a read may wait for the daemon."""
MAX_HEADER_BYTES = 64 * 1024


class Stream(Protocol):
    """A byte stream to the daemon (a paramiko channel, a socket)."""

    def sendall(self, data: bytes) -> None: ...

    def recv(self, size: int) -> bytes: ...

    def close(self) -> None: ...


Read = tuple[str, Mapping[str, object] | None]
"""A GET: the path under /v1.41 and its query."""


class DockerHTTP:
    """HTTP/1.1 requests of Docker's API, one after another on one stream, opened on the first request. GETs may
    be sent ahead, several at once (``send_ahead``: pipelining, which Docker's server answers in order), so that a
    minion's reads cost one round trip instead of one each."""

    def __init__(self, open_stream: Callable[[], Stream]) -> None:
        self._open = open_stream
        self._stream: Stream | None = None
        self._buffer = b""
        self._sent: deque[str] = deque()
        """The targets of the GETs sent ahead whose answers are not read yet, in the order sent."""
        self._answers: dict[str, tuple[int, bytes]] = {}
        """Answers read (to reach a later one) before their own get asked for them."""

    def send_ahead(self, reads: Sequence[Read]) -> None:
        """Send these GETs now, all at once: a ``get`` of one of them later reads its answer instead of asking."""
        targets = [_target(path, query) for path, query in reads]
        try:
            self._send(b"".join(_head("GET", target) + b"\r\n" for target in targets))
        except (OSError, EOFError) as exc:
            raise DockerError(f"GET {reads[0][0] if reads else ''}: {exc or type(exc).__name__}") from exc
        self._sent.extend(targets)

    def get(self, path: str, query: Mapping[str, object] | None = None) -> Any:
        """The JSON Docker answers to GET /v1.41``path``; raises DockerError (DockerNotFound for 404)."""
        try:
            status, body = self._exchange("GET", path, query)
        except (OSError, EOFError) as exc:
            raise DockerError(f"GET {path}: {exc or type(exc).__name__}") from exc
        if not 200 <= status < 300:
            raise (DockerNotFound if status == 404 else DockerError)(_message(body, status))
        return json.loads(body) if body else None

    def _exchange(
        self, method: str, path: str, query: Mapping[str, object] | None = None, body: object = None
    ) -> tuple[int, bytes]:
        """Send ``method /v1.41path`` (with ``body`` as JSON, when given) on the stream, opened when there is none,
        and return the answer's status and body (a GET sent ahead is not sent again: its answer is read); raises
        OSError or EOFError when the stream fails."""
        target = _target(path, query)
        if method == "GET" and body is None and (target in self._answers or target in self._sent):
            self._read_sent(until=target)
            return self._answers.pop(target)
        self._read_sent()  # the answers still owed come first on the stream: kept for their gets
        data = b"" if body is None else json.dumps(body).encode()
        head = _head(method, target)
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n".encode()
        self._send(head + b"\r\n" + data)
        return self._response()

    def _read_sent(self, until: str | None = None) -> None:
        """Read the answers of the GETs sent ahead, in order, into ``_answers``: all of them, or up to ``until``'s."""
        while self._sent and until not in self._answers:
            sent = self._sent.popleft()
            self._answers[sent] = self._response()

    def _send(self, data: bytes) -> None:
        if self._stream is None:
            self._stream = self._open()
        self._stream.sendall(data)

    def use(self, stream: Stream) -> None:
        """Talk over ``stream`` from now on (the one before, if any, is closed)."""
        self.close()
        self._stream = stream

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self._buffer, self._answers = b"", {}
        self._sent.clear()

    def _response(self) -> tuple[int, bytes]:
        head = self._until(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise EOFError(f"not an HTTP answer: {status_line[:80]!r}")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return int(parts[1]), self._chunked()
        return int(parts[1]), self._exactly(int(headers.get("content-length", "0")))

    def _chunked(self) -> bytes:
        body = b""
        while True:
            size = int(self._until(b"\r\n").split(b";")[0], 16)
            body += self._exactly(size)
            self._until(b"\r\n")
            if size == 0:
                return body

    def _fill(self) -> None:
        assert self._stream is not None
        chunk = self._stream.recv(65536)
        if not chunk:
            raise EOFError("the daemon closed the connection")
        self._buffer += chunk

    def _until(self, marker: bytes) -> bytes:
        while (end := self._buffer.find(marker)) < 0:
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise EOFError("an HTTP header line too long")
            self._fill()
        found, self._buffer = self._buffer[:end], self._buffer[end + len(marker) :]
        return found

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        found, self._buffer = self._buffer[:size], self._buffer[size:]
        return found


def _target(path: str, query: Mapping[str, object] | None) -> str:
    target = f"/v{API_VERSION}{path}"
    if query:
        target += "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items())
    return target


def _head(method: str, target: str) -> bytes:
    """The request line and the header every request has (the blank line that ends the head not included)."""
    return f"{method} {target} HTTP/1.1\r\nHost: docker\r\n".encode()


class ProgramStream:
    """A held program (``HeldProcess``) as the byte stream to the daemon: its stdin and what it writes."""

    def __init__(self, program: HeldProcess) -> None:
        self.program = program

    def sendall(self, data: bytes) -> None:
        self.program.write(data)

    def recv(self, size: int) -> bytes:
        return self.program.read(TIMEOUT)

    def close(self) -> None:
        self.program.close()


def _message(body: bytes, status: int) -> str:
    try:
        message = json.loads(body).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else f"HTTP {status}: {body[:200].decode(errors='replace')}"


def container_summary(entry: dict[str, Any]) -> ContainerSummary:
    """One entry of Docker's container list (GET /containers/json), tolerant of missing fields."""
    networks = (entry.get("NetworkSettings") or {}).get("Networks") or {}
    names = entry.get("Names") or [""]
    return ContainerSummary(
        id=str(entry.get("Id", "")),
        name=str(names[0]).lstrip("/"),
        image=str(entry.get("Image", "")),
        state=str(entry.get("State", "")),
        status=str(entry.get("Status") or ""),
        labels={str(k): str(v) for k, v in (entry.get("Labels") or {}).items()},
        ip=next((str(n.get("IPAddress")) for n in networks.values() if n.get("IPAddress")), ""),
        created=int(entry.get("Created") or 0),
    )


def daemon_facts(
    info: Mapping[str, Any], bridge: Mapping[str, Any], images: Sequence[Mapping[str, Any]]
) -> DaemonFacts:
    """The facts of GET /info, /networks/bridge and /images/json."""
    subnets = [c.get("Subnet", "") for c in ((bridge.get("IPAM") or {}).get("Config") or [])]
    return DaemonFacts(
        cpus=int(info.get("NCPU", 0)),
        memory=int(info.get("MemTotal", 0)),
        bridge_subnet=next((s for s in subnets if s and ":" not in s), ""),
        images=frozenset(
            ref
            for image in images
            for ref in [*(image.get("RepoTags") or []), *(image.get("RepoDigests") or [])]
            if not ref.startswith("<none>")
        ),
    )


def labelled(volumes: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """Volume name -> its labels, from GET /volumes."""
    return {
        str(v.get("Name", "")): {str(k): str(val) for k, val in (v.get("Labels") or {}).items()}
        for v in (volumes or {}).get("Volumes") or []
    }


def _filters(**filters: str) -> dict[str, str]:
    return {"filters": json.dumps({k: [v] for k, v in filters.items()})}


def _containers(label: str) -> Read:
    return "/containers/json", {"all": 1, **_filters(label=label)}


def _labelled_volumes(label: str) -> Read:
    return "/volumes", _filters(label=label)


_FACTS: tuple[Read, ...] = (("/info", None), ("/networks/bridge", None), ("/images/json", None))
"""The daemon's facts: its CPUs and memory, the bridge's subnet, the images it holds."""


class ReadingDocker:
    """``DockerOps``: the reads over ``DockerHTTP``, everything else through the full client ``full()`` makes (once,
    on the first call that is not a read)."""

    def __init__(self, http: DockerHTTP, full: Callable[[], DockerOps]) -> None:
        self._http = http
        self._make_full = full
        self._full: DockerOps | None = None

    def _client(self) -> DockerOps:
        if self._full is None:
            self._full = self._make_full()
        return self._full

    def read_over(self, program: HeldProcess) -> None:
        """Read over ``program`` from now on (see MinionConnection.read_docker_over)."""
        self._http.use(ProgramStream(program))

    def read_ahead(self, label: str) -> None:
        """Send an observation's reads (``label``'s containers and volumes, the facts) at once: their answers come
        back in one round trip, and the calls that follow read them."""
        self._http.send_ahead([_containers(label), _labelled_volumes(label), *_FACTS])

    def containers(self, label: str) -> list[ContainerSummary]:
        listed = self._http.get(*_containers(label))
        return [container_summary(c) for c in listed or []]

    def facts(self) -> DaemonFacts:
        info, bridge, images = (self._http.get(*read) for read in _FACTS)
        return daemon_facts(info or {}, bridge or {}, images or [])

    def labelled_volumes(self, label: str) -> dict[str, dict[str, str]]:
        return labelled(self._http.get(*_labelled_volumes(label)))

    def volumes(self, prefix: str) -> list[str]:
        names = labelled(self._http.get("/volumes", _filters(name=prefix)))
        return [n for n in names if n.startswith(prefix)]  # Docker's name filter matches anywhere in the name

    def create(self, config: ContainerConfig) -> str:
        return self._client().create(config)

    def start(self, container_id: str) -> None:
        self._client().start(container_id)

    def remove(self, container_id: str) -> None:
        self._client().remove(container_id)

    def remove_volume(self, name: str) -> None:
        self._client().remove_volume(name)

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        self._client().create_volume(name, labels)

    def pull(self, reference: str, progress: PullListener | None = None) -> None:
        self._client().pull(reference, progress)

    def import_image(self, rootfs: bytes, repository: str, tag: str, changes: Sequence[str]) -> None:
        self._client().import_image(rootfs, repository, tag, changes)

    def exec(self, container_id: str, command: Sequence[str]) -> ExecResult:
        return self._client().exec(container_id, command)

    def logs(self, container_id: str, tail: int) -> str:
        return self._client().logs(container_id, tail)

    def log_stream(
        self, container_id: str, tail: int | None, since: float | None, follow: bool
    ) -> Generator[bytes, None, None]:
        return self._client().log_stream(container_id, tail, since, follow)

    def container_state(self, container_id: str) -> ContainerState:
        return self._client().container_state(container_id)

    def close(self) -> None:
        try:
            self._http.close()
        finally:
            if self._full is not None:
                self._full.close()
