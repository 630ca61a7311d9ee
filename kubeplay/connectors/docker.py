"""The one implementation of ``DockerOps`` over docker-py: its APIClient over kubeplay's own SSH connection, or over
a local socket. The only module that imports docker-py; its objects and errors stay here. Over SSH, a run's reads
(connectors/dockerread.py) and its creates, starts and removes (connectors/dockerwrite.py) go without it, and this
client is made for the first other call (a pull, an image import, an exec, logs).

docker-py's own ssh:// support opens a paramiko connection of its own; kubeplay wants one connection per minion
per run, so the SDK's SSH adapter is given kubeplay's already-connected (and host-key-verified) client. Each
HTTP connection is then one `docker system dial-stdio` channel on that same SSH transport.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import docker
import docker.errors
from docker.transport.sshconn import SSHConnectionPool, SSHHTTPAdapter

from kubeplay.connectors.base import (
    ContainerConfig,
    ContainerState,
    ContainerSummary,
    DaemonFacts,
    ExecResult,
    PullListener,
    PullProgress,
)
from kubeplay.connectors.dockerread import API_VERSION, container_summary, daemon_facts, labelled
from kubeplay.errors import DockerConflict, DockerError, DockerNotFound

if TYPE_CHECKING:
    import paramiko

TIMEOUT = 120
_SSH_URL = "http+docker://ssh"
"""docker-py reads an exec or attach stream's socket from the SSH channel when base_url starts with this."""


class _SharedSSHAdapter(SSHHTTPAdapter):  # type: ignore[misc]
    """docker-py's SSH adapter, on a paramiko client that is already connected."""

    def __init__(self, ssh_client: paramiko.SSHClient) -> None:
        # shell_out=True: the parent neither builds nor connects a paramiko client of its own.
        super().__init__("ssh://minion", timeout=TIMEOUT, pool_connections=1, shell_out=True)
        self.ssh_client = ssh_client

    def get_connection(self, url: str, proxies: Any = None) -> SSHConnectionPool:
        """One pool for every URL (docker-py keys pools by URL, so each new endpoint would start another
        `docker system dial-stdio` on the minion, about 0.1 s each). Never reconnects behind kubeplay's back:
        a dropped connection is an unreachable minion. Nor once kubeplay closed its connection (Ctrl-C ended the run
        while a thread still pulled): a pool made then has no transport, and docker-py would run the `ssh` program
        to a host named "minion" instead (which said "Could not resolve hostname minion" after the run's end)."""
        with self.pools.lock:
            pool = self.pools.get("minion")
            if pool is None:
                if self.ssh_client.get_transport() is None:
                    raise ConnectionError("the SSH connection to the minion is closed")
                pool = SSHConnectionPool(
                    ssh_client=self.ssh_client, timeout=self.timeout, maxsize=self.max_pool_size, host=self.ssh_host
                )
                self.pools["minion"] = pool
            return pool

    def close(self) -> None:
        """Close the pools, not the SSH client (kubeplay's connection closes it)."""
        self.pools.clear()


def docker_over_ssh(ssh_client: paramiko.SSHClient) -> DockerClient:
    # No request is sent at construction: with an explicit version the client does not ask the server. The unix
    # socket is never used: the adapter mounted on the same prefix replaces the one the constructor made for it.
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version=API_VERSION, timeout=TIMEOUT)
    api.mount("http+docker://", _SharedSSHAdapter(ssh_client))
    api.base_url = _SSH_URL
    return DockerClient(api)


def docker_local(docker_host: str) -> DockerClient:
    return DockerClient(docker.APIClient(base_url=docker_host, version=API_VERSION, timeout=TIMEOUT))


@contextmanager
def _translated() -> Iterator[None]:
    """docker-py's errors (and the transport's) as kubeplay's: the message is Docker's explanation."""
    try:
        yield
    except docker.errors.NotFound as exc:
        raise DockerNotFound(str(exc.explanation or exc)) from exc
    except docker.errors.APIError as exc:
        if exc.status_code == 409:
            raise DockerConflict(str(exc.explanation or exc)) from exc
        raise DockerError(str(exc.explanation or exc)) from exc
    except (docker.errors.DockerException, OSError) as exc:
        raise DockerError(str(exc) or type(exc).__name__) from exc


_NEVER = "0001-01-01T00:00:00Z"
"""Docker's time for "not yet"."""


def container_state(inspected: dict[str, Any]) -> ContainerState:
    """A container's runs from Docker's inspect document, tolerant of missing fields."""
    state = inspected.get("State") or {}

    def when(key: str) -> str:
        value = str(state.get(key) or "")
        return "" if value.startswith(_NEVER[:10]) else value

    return ContainerState(
        status=str(state.get("Status") or ""),
        exit_code=int(state.get("ExitCode") or 0),
        started_at=when("StartedAt"),
        finished_at=when("FinishedAt"),
        restart_count=int(inspected.get("RestartCount") or 0),
        error=str(state.get("Error") or ""),
        oom_killed=bool(state.get("OOMKilled")),
    )


def pull_progress(line: dict[str, Any]) -> PullProgress:
    """One line of Docker's pull stream ({"status", "id", "progressDetail": {"current", "total"}}), tolerant of
    missing or odd fields."""
    detail = line.get("progressDetail")
    detail = detail if isinstance(detail, dict) else {}

    def number(key: str) -> int:
        value = detail.get(key)
        return value if isinstance(value, int) and value >= 0 else 0

    return PullProgress(str(line.get("id") or ""), str(line.get("status") or ""), number("current"), number("total"))


def host_config_args(c: ContainerConfig) -> dict[str, Any]:
    """docker.APIClient.create_host_config's keyword arguments (None where Docker's default applies)."""
    bindings: dict[str, list[tuple[str, int]] | list[int]] = {
        f"{b.container_port}/{b.protocol}": [(b.host_ip, b.host_port)] if b.host_ip else [b.host_port]
        for b in c.port_bindings
    }
    args: dict[str, Any] = {
        "port_bindings": bindings or None,
        "restart_policy": {"Name": c.restart_policy},
        "extra_hosts": dict(c.extra_hosts) or None,
        "network_mode": c.network_mode or None,
        "privileged": c.privileged,
        "binds": list(c.binds) or None,
    }
    if c.memory_limit:
        args["mem_limit"] = c.memory_limit
    if c.nano_cpus:
        args["nano_cpus"] = c.nano_cpus
    return args


def container_args(c: ContainerConfig) -> dict[str, Any]:
    """docker.APIClient.create_container's keyword arguments besides image, name and host_config."""
    return {
        "hostname": c.hostname or None,
        "labels": dict(c.labels),
        "ports": list(c.exposed_ports) or None,
        "command": list(c.command) or None,
        "environment": dict(c.env) or None,
        "working_dir": c.working_dir or None,
    }


class DockerClient:
    """``DockerOps`` over one docker.APIClient."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api

    def containers(self, label: str) -> list[ContainerSummary]:
        with _translated():
            return [container_summary(c) for c in self.api.containers(all=True, filters={"label": label})]

    def read_ahead(self, label: str) -> None:
        """docker-py sends each read when it is called."""

    def facts(self) -> DaemonFacts:
        with _translated():
            return daemon_facts(self.api.info(), self.api.inspect_network("bridge"), self.api.images())

    def create(self, config: ContainerConfig) -> str:
        with _translated():
            host_config = self.api.create_host_config(**host_config_args(config))
            created = self.api.create_container(
                config.image, name=config.name, host_config=host_config, **container_args(config)
            )
        return str(created["Id"])

    def start(self, container_id: str) -> None:
        with _translated():
            self.api.start(container_id)

    def remove(self, container_id: str) -> None:
        try:
            with _translated():
                self.api.remove_container(container_id, force=True, v=True)
        except DockerNotFound:  # already gone: converged
            pass

    def volumes(self, prefix: str) -> list[str]:
        with _translated():
            listing = self.api.volumes(filters={"name": prefix}) or {}
        names = (str(v.get("Name", "")) for v in listing.get("Volumes") or [])
        return [n for n in names if n.startswith(prefix)]  # Docker's name filter matches anywhere in the name

    def remove_volume(self, name: str) -> None:
        try:
            with _translated():
                self.api.remove_volume(name, force=True)
        except DockerNotFound:
            pass

    def create_volume(self, name: str, labels: Mapping[str, str]) -> None:
        with _translated():
            self.api.create_volume(name, driver="local", labels=dict(labels))

    def labelled_volumes(self, label: str) -> dict[str, dict[str, str]]:
        with _translated():
            return labelled(self.api.volumes(filters={"label": label}))

    def pull(self, reference: str, progress: PullListener | None = None) -> None:
        # Docker takes a digest where the tag goes: redis@sha256:... -> ("redis", "sha256:...")
        repository, tag = reference.split("@", 1) if "@" in reference else reference.rsplit(":", 1)
        with _translated():
            for line in self.api.pull(repository, tag=tag, stream=True, decode=True):
                if isinstance(line, dict) and line.get("error"):
                    raise DockerError(f"pull {reference}: {line['error']}")
                if progress is not None and isinstance(line, dict):
                    progress(pull_progress(line))

    def import_image(self, rootfs: bytes, repository: str, tag: str, changes: Sequence[str]) -> None:
        with _translated():
            self.api.import_image_from_data(rootfs, repository=repository, tag=tag, changes=list(changes))

    def exec(self, container_id: str, command: Sequence[str]) -> ExecResult:
        with _translated():
            exec_id = self.api.exec_create(container_id, list(command))["Id"]
            output = self.api.exec_start(exec_id)
            code = self.api.exec_inspect(exec_id).get("ExitCode")
        text = output.decode(errors="replace") if isinstance(output, bytes) else str(output or "")
        return ExecResult(-1 if code is None else int(code), text)

    def logs(self, container_id: str, tail: int) -> str:
        with _translated():
            data = self.api.logs(container_id, stdout=True, stderr=True, tail=tail)
        return data.decode(errors="replace") if isinstance(data, bytes) else str(data)

    def log_stream(
        self, container_id: str, tail: int | None, since: float | None, follow: bool
    ) -> Generator[bytes, None, None]:
        # docker-py turns the read timeout off on a log stream's socket: a followed log may stay quiet for hours
        with _translated():
            stream = self.api.logs(
                container_id,
                stdout=True,
                stderr=True,
                stream=True,
                follow=follow,
                tail="all" if tail is None else tail,
                since=since if since and since > 0 else None,
            )
        return _chunks(stream)

    def container_state(self, container_id: str) -> ContainerState:
        with _translated():
            return container_state(self.api.inspect_container(container_id))

    def close(self) -> None:
        self.api.close()


def _chunks(stream: Any) -> Generator[bytes, None, None]:
    """A log stream's chunks, Docker's errors translated; the HTTP response is closed when the iterator is (over
    SSH docker-py cannot cancel a stream: its `dial-stdio` channel then ends when the connection is closed)."""
    try:
        with _translated():
            for chunk in stream:
                yield bytes(chunk)
    finally:
        with suppress(docker.errors.DockerException):
            stream.close()
