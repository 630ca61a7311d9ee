"""What a run changes on a minion's Docker, without docker-py: the calls a cold apply makes by the dozen (create,
start and remove a container, create and remove a volume) as HTTP/1.1 requests over `docker system dial-stdio`
channels of the run's SSH connection, as connectors/dockerread.py does the reads.

Measured on a cold apply of 30 pods over 3 minions (issue 13, target 2), docker-py cost kubeplay's process more CPU
than anything else it does while the daemons work: its import (requests, urllib3) and, on each of the 120 calls,
requests' preparation of the request (the proxy variables of the environment read each time). ``WritingDocker``
sends those calls itself, each minion's over a few channels so that pods may be made side by side (one channel per
call in flight, kept for the next); it reads as ``ReadingDocker`` does, and hands everything else (pull, import,
exec, logs, a container's state) to docker-py's client, made on the first such call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from kubeplay.connectors.base import ContainerConfig, DockerOps
from kubeplay.connectors.dockerread import DockerHTTP, ReadingDocker, Stream, _message
from kubeplay.errors import DockerConflict, DockerError, DockerNotFound


class DockerRequests(DockerHTTP):
    """``DockerHTTP`` that also sends requests which change something: any method, a JSON body. A request that
    breaks off (timeout, channel closed) closes the stream: the next one opens a new channel."""

    def request(self, method: str, path: str, query: Mapping[str, object] | None = None, body: object = None) -> Any:
        """Docker's JSON answer to ``method /v1.41path`` (None for an empty one). 404 raises DockerNotFound, 409
        DockerConflict, any other status but 2xx and 304 (Not Modified: e.g. a start of a running container)
        DockerError, each with Docker's message."""
        try:
            status, answer = self._exchange(method, path, query, body)
        except (OSError, EOFError) as exc:
            self.close()
            self._buffer = b""
            raise DockerError(f"{method} {path}: {exc or type(exc).__name__}") from exc
        if status == 404:
            raise DockerNotFound(_message(answer, status))
        if status == 409:
            raise DockerConflict(_message(answer, status))
        if not (200 <= status < 300 or status == 304):
            raise DockerError(_message(answer, status))
        return json.loads(answer) if answer else None


def create_body(c: ContainerConfig) -> dict[str, Any]:
    """POST /containers/create's body for a container config: what docker-py sends for the same config (its
    create_container_config with create_host_config), without its null fields."""
    host: dict[str, Any] = {"NetworkMode": c.network_mode or "default", "RestartPolicy": {"Name": c.restart_policy}}
    if c.port_bindings:
        host["PortBindings"] = {
            f"{b.container_port}/{b.protocol}": [{"HostIp": b.host_ip, "HostPort": str(b.host_port)}]
            for b in c.port_bindings
        }
    if c.extra_hosts:
        host["ExtraHosts"] = [f"{name}:{ip}" for name, ip in sorted(c.extra_hosts.items())]
    if c.privileged:
        host["Privileged"] = True
    if c.binds:
        host["Binds"] = list(c.binds)
    if c.memory_limit:
        host["Memory"] = c.memory_limit
    if c.nano_cpus:
        host["NanoCpus"] = c.nano_cpus
    optional = {
        "Hostname": c.hostname,
        "ExposedPorts": {f"{port}/{protocol}": {} for port, protocol in c.exposed_ports},
        "Cmd": list(c.command),
        "Env": [f"{k}={v}" for k, v in c.env.items()],
        "WorkingDir": c.working_dir,
    }
    return {
        "Image": c.image,
        "Labels": dict(c.labels),
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "AttachStdin": False,
        "AttachStdout": True,
        "AttachStderr": True,
        "NetworkDisabled": False,
        **{k: v for k, v in optional.items() if v},
        "HostConfig": host,
    }


class WritingDocker(ReadingDocker):
    """``DockerOps``: containers and volumes created, started and removed over ``DockerRequests`` channels (one per
    call in flight, so threads may share it), reads as ``ReadingDocker`` does, everything else through the client
    ``full()`` makes (once, on the first other call)."""

    def __init__(self, open_stream: Callable[[], Stream], full: Callable[[], DockerOps]) -> None:
        super().__init__(DockerHTTP(open_stream), full)
        self._open = open_stream
        self._idle: list[DockerRequests] = []
        self._every: list[DockerRequests] = []
        self._lock = threading.Lock()

    @contextmanager
    def _requests(self) -> Iterator[DockerRequests]:
        with self._lock:
            http = self._idle.pop() if self._idle else None
            if http is None:
                http = DockerRequests(self._open)
                self._every.append(http)
        try:
            yield http
        finally:
            with self._lock:
                self._idle.append(http)

    def create(self, config: ContainerConfig) -> str:
        with self._requests() as http:
            created = http.request("POST", "/containers/create", {"name": config.name}, create_body(config))
        return str(created["Id"])

    def start(self, container_id: str) -> None:
        with self._requests() as http:
            http.request("POST", f"/containers/{quote(container_id, safe='')}/start")

    def remove(self, container_id: str) -> None:
        try:
            with self._requests() as http:
                http.request("DELETE", f"/containers/{quote(container_id, safe='')}", {"v": 1, "force": 1})
        except DockerNotFound:  # already gone: converged
            pass

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        with self._requests() as http:
            http.request("POST", "/volumes/create", body={"Name": name, "Driver": "local", "Labels": dict(labels)})

    def remove_volume(self, name: str) -> None:
        try:
            with self._requests() as http:
                http.request("DELETE", f"/volumes/{quote(name, safe='')}", {"force": 1})
        except DockerNotFound:
            pass

    def close(self) -> None:
        with self._lock:
            opened, self._every, self._idle = self._every, [], []
        try:
            for http in opened:
                http.close()
        finally:
            super().close()
