"""Docker's changes without docker-py: the body of a create is what docker-py sends, the calls go over dial-stdio
channels (one per call in flight), Docker's answers become kubeplay's errors."""

from __future__ import annotations

import json
import threading
from typing import Any

import docker
import pytest

from kubeplay.connectors.base import ContainerConfig, PortBinding
from kubeplay.connectors.docker import container_args, host_config_args
from kubeplay.connectors.dockerwrite import WritingDocker, create_body
from kubeplay.errors import DockerConflict, DockerError
from kubeplay.model import Container, EnvVar
from kubeplay.pods.dockerspec import app_config, infra_config
from kubeplay.pods.infra import INFRA_IMAGE
from tests.unit.builders import pod
from tests.unit.fakes import FakeDocker
from tests.unit.test_docker_read import Channel, answer
from tests.unit.test_dockerspec import FRONT, HOSTS

APP = Container(
    "app",
    "busybox",
    command=("sh", "-c", "sleep 1"),
    working_dir="/srv",
    env=(EnvVar("MODE", "x=y"),),
    cpu=250,
    memory=64 * 1024 * 1024,
    privileged=True,
)
CONFIGS = [
    infra_config(FRONT, "h", INFRA_IMAGE, HOSTS, "default"),
    infra_config(pod("bare"), "h", INFRA_IMAGE, {}, "default"),
    app_config(pod("web", APP), APP, "h", "abc123", (EnvVar("SVC_HOST", "10.0.0.1"),), "default"),
    ContainerConfig(
        "n",
        "img",
        {},
        binds=("kp_web_data:/data:rw", "/etc:/host:ro"),
        port_bindings=(PortBinding(53, "udp", 5353),),
        exposed_ports=((53, "udp"),),
    ),
]


def docker_py_body(config: ContainerConfig) -> dict[str, Any]:
    """What docker-py posts for the config (its _post_json drops the null fields)."""
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    host_config = api.create_host_config(**host_config_args(config))
    body = api.create_container_config(config.image, host_config=host_config, **container_args(config))
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_the_create_body_is_what_docker_py_sends(config: ContainerConfig) -> None:
    assert create_body(config) == docker_py_body(config)


def test_create_start_remove_over_one_channel_and_docker_s_answers() -> None:
    channel = Channel(
        answer("201 Created", b'{"Id": "c1", "Warnings": []}'),
        answer("204 No Content", b""),
        answer("304 Not Modified", b""),
        answer("409 Conflict", b'{"message": "name kp_web_POD in use"}'),
        answer("404 Not Found", b'{"message": "no such container"}'),
        answer("500 Internal Server Error", b'{"message": "driver failed"}'),
    )
    opened: list[Channel] = []

    def dial() -> Channel:
        opened.append(channel)
        return channel

    writing = WritingDocker(dial, lambda: pytest.fail("no docker-py"))
    config = CONFIGS[0]
    assert writing.create(config) == "c1"
    writing.start("c1")
    writing.start("c1")  # already running: Docker's 304 is no error
    with pytest.raises(DockerConflict, match="in use"):
        writing.create(config)
    writing.remove("gone")  # already gone: converged
    with pytest.raises(DockerError, match="driver failed"):
        writing.start("c1")
    assert len(opened) == 1
    head, _, body = channel.sent[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v1.41/containers/create?name=kp_front_POD HTTP/1.1\r\n")
    assert b"Content-Length: %d" % len(body) in head and json.loads(body) == create_body(config)
    assert channel.sent[1].startswith(b"POST /v1.41/containers/c1/start HTTP/1.1\r\n")
    assert channel.sent[4].startswith(b"DELETE /v1.41/containers/gone?v=1&force=1 HTTP/1.1\r\n")
    writing.close()
    assert channel.closed


def test_a_channel_that_breaks_is_replaced_for_the_next_call() -> None:
    broken, fresh = Channel(b"HTTP/1.1 201 Created\r\nContent-Length: 50\r\n\r\n{"), Channel(answer("204 OK", b""))
    channels = [broken, fresh]
    writing = WritingDocker(lambda: channels.pop(0), lambda: pytest.fail("no docker-py"))
    with pytest.raises(DockerError, match="closed the connection"):
        writing.create(CONFIGS[1])
    assert broken.closed
    writing.start("c1")
    assert fresh.sent[0].startswith(b"POST /v1.41/containers/c1/start ")


class HeldChannel(Channel):
    """Answers only once ``release`` is set: calls stay in flight together."""

    def __init__(self, release: threading.Event, *answers: bytes) -> None:
        super().__init__(*answers)
        self.release = release

    def recv(self, size: int) -> bytes:
        self.release.wait(5)
        return super().recv(size)


def test_calls_in_flight_together_get_a_channel_each_then_reuse_them() -> None:
    release = threading.Event()
    opened: list[HeldChannel] = []

    def dial() -> HeldChannel:
        opened.append(HeldChannel(release, *[answer("204 No Content", b"")] * 3))
        if len(opened) == 2:
            release.set()
        return opened[-1]

    writing = WritingDocker(dial, lambda: pytest.fail("no docker-py"))
    threads = [threading.Thread(target=writing.start, args=(cid,)) for cid in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    writing.start("c")
    writing.start("d")
    assert len(opened) == 2 and sum(len(c.sent) for c in opened) == 4


def test_pulls_and_execs_go_to_the_full_client_made_once() -> None:
    made: list[FakeDocker] = []

    def full() -> FakeDocker:
        made.append(FakeDocker(minion="m1", images={"redis:latest"}))
        return made[-1]

    writing = WritingDocker(lambda: pytest.fail("no channel"), full)
    writing.pull("redis:latest")
    writing.import_image(b"", "kubeplay/pause", "1.0", ())
    assert len(made) == 1 and [c[0] for c in made[0].calls] == ["pull", "import_image"]
