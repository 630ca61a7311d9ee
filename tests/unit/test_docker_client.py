"""The docker-py side of the boundary: a ContainerConfig as docker-py's create arguments, docker-py's errors as
kubeplay's (on a stand-in for docker.APIClient: no daemon)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker.errors
import pytest
import requests

from kubeplay.connectors.base import ContainerState, PullProgress
from kubeplay.connectors.docker import DockerClient, container_args, container_state, host_config_args
from kubeplay.dataclass import replace
from kubeplay.errors import DockerError, DockerNotFound
from kubeplay.pods.dockerspec import app_config, infra_config
from kubeplay.pods.infra import INFRA_IMAGE
from tests.unit.test_dockerspec import FRONT, HOSTS, WEB


def test_infra_config_as_docker_py_arguments() -> None:
    config = infra_config(FRONT, "h", INFRA_IMAGE, HOSTS, "default")
    assert host_config_args(config) == {
        "port_bindings": {"80/tcp": [("127.0.0.1", 8080)], "53/udp": [5353]},
        "restart_policy": {"Name": "always"},
        "extra_hosts": {"db": "10.0.0.10", "redis-master": "10.0.0.11"},
        "network_mode": None,
        "privileged": False,
        "binds": None,
    }
    assert container_args(config) == {
        "hostname": "front",
        "labels": dict(config.labels),
        "ports": [(80, "tcp"), (53, "udp"), (8080, "tcp")],
        "command": None,
        "environment": None,
        "working_dir": None,
    }


def test_app_config_as_docker_py_arguments() -> None:
    limited = app_config(FRONT, replace(WEB, cpu=250, memory=1 << 26), "h", "i", [], "default")
    assert host_config_args(limited) == {
        "port_bindings": None,
        "restart_policy": {"Name": "always"},
        "extra_hosts": None,
        "network_mode": "container:i",
        "privileged": False,
        "binds": None,
        "mem_limit": 1 << 26,
        "nano_cpus": 250_000_000,
    }
    assert container_args(limited)["hostname"] is None


class StubAPI:
    """Answers like docker.APIClient, or raises what it is given."""

    def __init__(self, raises: Exception | None = None, pulled: list[dict[str, str]] | None = None) -> None:
        self.raises = raises
        self.pulled = pulled or []
        self.asked: list[tuple[str, tuple[Any, ...]]] = []

    def _answer(self, name: str, *args: Any) -> None:
        self.asked.append((name, args))
        if self.raises is not None:
            raise self.raises

    def remove_container(self, cid: str, force: bool, v: bool) -> None:
        self._answer("remove_container", cid, force, v)

    def start(self, cid: str) -> None:
        self._answer("start", cid)

    def pull(self, repository: str, tag: str, stream: bool, decode: bool) -> Iterator[dict[str, str]]:
        self._answer("pull", repository, tag)
        return iter(self.pulled)


def not_found() -> docker.errors.NotFound:
    response = requests.Response()
    response.status_code = 404
    return docker.errors.NotFound("404 Client Error", response=response, explanation="No such container: abc")


def test_removing_a_container_already_gone_is_no_error() -> None:
    api = StubAPI(raises=not_found())
    DockerClient(api).remove("abc")
    assert api.asked == [("remove_container", ("abc", True, True))]


def test_docker_errors_become_kubeplays_with_dockers_explanation() -> None:
    with pytest.raises(DockerNotFound, match=r"^No such container: abc$") as caught:
        DockerClient(StubAPI(raises=not_found())).start("abc")
    assert isinstance(caught.value.__cause__, docker.errors.NotFound)
    with pytest.raises(DockerError, match="refused"):
        DockerClient(StubAPI(raises=requests.exceptions.ConnectionError("refused"))).start("abc")


@pytest.mark.parametrize(
    ("reference", "asked"),
    [("redis:2.8", ("redis", "2.8")), ("redis@sha256:" + "a" * 64, ("redis", "sha256:" + "a" * 64))],
)
def test_pull_puts_the_tag_or_the_digest_where_docker_takes_a_tag(reference: str, asked: tuple[str, str]) -> None:
    api = StubAPI()
    DockerClient(api).pull(reference)
    assert api.asked == [("pull", asked)]


def test_an_error_streamed_by_the_registry_fails_the_pull() -> None:
    api = StubAPI(pulled=[{"status": "Pulling from library/redis"}, {"error": "manifest for redis:9 not found"}])
    with pytest.raises(DockerError, match=r"^pull redis:9: manifest for redis:9 not found$"):
        DockerClient(api).pull("redis:9")


def test_a_pull_streams_each_line_of_its_progress_to_the_listener() -> None:
    pulled: list[dict[str, Any]] = [
        {"status": "Pulling from library/redis", "id": "2.8"},
        {"status": "Downloading", "id": "a1", "progressDetail": {"current": 512, "total": 2048}},
        {"status": "Download complete", "id": "a1", "progressDetail": {}},
        {"status": "Extracting", "id": "a1", "progressDetail": {"current": "odd", "total": -1}},
    ]
    heard: list[PullProgress] = []
    DockerClient(StubAPI(pulled=pulled)).pull("redis:2.8", heard.append)
    assert heard == [
        PullProgress("2.8", "Pulling from library/redis"),
        PullProgress("a1", "Downloading", 512, 2048),
        PullProgress("a1", "Download complete"),
        PullProgress("a1", "Extracting"),
    ]


def test_a_containers_runs_from_dockers_inspect_document() -> None:
    inspected = {
        "RestartCount": 2,
        "State": {
            "Status": "exited",
            "ExitCode": 3,
            "StartedAt": "2026-11-30T00:00:01.5Z",
            "FinishedAt": "2026-11-30T00:00:09Z",
            "OOMKilled": False,
        },
    }
    assert container_state(inspected) == ContainerState(
        "exited", 3, "2026-11-30T00:00:01.5Z", "2026-11-30T00:00:09Z", 2
    )
    never = {"State": {"Status": "created", "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"}}
    assert container_state(never) == ContainerState("created", 0, "", "", 0)
    assert container_state({}) == ContainerState("", 0, "", "", 0)


class Closing:
    """A log stream that docker-py cannot cancel (as over SSH)."""

    closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter([b"one\n", b"two\n"])

    def close(self) -> None:
        Closing.closed = True
        raise docker.errors.DockerException("Cancellable streams not supported for the SSH protocol")


def test_a_log_stream_yields_its_chunks_and_closing_it_never_fails() -> None:
    class LogsAPI(StubAPI):
        def logs(self, cid: str, **options: Any) -> Closing:
            self._answer("logs", cid, tuple(sorted(options.items())))
            return Closing()

    api = LogsAPI()
    stream = DockerClient(api).log_stream("abc", None, None, True)
    assert next(stream) == b"one\n"
    stream.close()
    assert Closing.closed
    _, (cid, options) = api.asked[0]
    assert cid == "abc" and dict(options)["follow"] is True and dict(options)["tail"] == "all"
    assert dict(options)["since"] is None


def test_once_kubeplay_closed_its_ssh_connection_docker_py_never_runs_the_ssh_program(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ctrl-C ended an apply while a thread went on to pull: docker-py, handed the closed connection, ran
    # `ssh -- minion 'docker system dial-stdio'`, whose "Could not resolve hostname minion" came after the run's end
    import docker.transport.sshconn

    from kubeplay.connectors.docker import docker_over_ssh
    from kubeplay.connectors.sshlib import paramiko

    def shelled_out(*args: Any, **kwargs: Any) -> None:
        pytest.fail(f"the ssh program was run: {args}")

    monkeypatch.setattr(docker.transport.sshconn.subprocess, "Popen", shelled_out)
    closed = paramiko.SSHClient()  # (as SSHClient.close leaves it: no transport)
    with pytest.raises(DockerError, match="the SSH connection to the minion is closed"):
        docker_over_ssh(closed).pull("redis:2.8")
