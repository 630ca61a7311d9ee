"""Docker's reads without docker-py: the least HTTP/1.1 client, on a stand-in for the dial-stdio channel."""

from __future__ import annotations

import json

import pytest

from kubeplay.connectors.dockerread import DockerHTTP, ReadingDocker
from kubeplay.errors import DockerError, DockerNotFound
from tests.unit.fakes import FakeDocker


class Channel:
    """Answers each request with the next canned answer, a few bytes at a time (answers arrive in pieces)."""

    def __init__(self, *answers: bytes) -> None:
        self.answers = list(answers)
        self.sent: list[bytes] = []
        self.pending = b""
        self.closed = False

    def sendall(self, data: bytes) -> None:
        self.sent.append(data)
        self.pending += self.answers.pop(0)

    def recv(self, size: int) -> bytes:
        chunk, self.pending = self.pending[:7], self.pending[7:]
        return chunk

    def close(self) -> None:
        self.closed = True


def answer(status: str, body: bytes, chunked: bool = False) -> bytes:
    if chunked:
        halves = [body[: len(body) // 2], body[len(body) // 2 :]]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(h), h) for h in halves if h) + b"0\r\n\r\n"
        return f"HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + framed
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


LISTED = [
    {
        "Id": "abc",
        "Names": ["/kp_web_POD"],
        "Image": "pause",
        "State": "running",
        "Status": "Up 3 hours",
        "Labels": {"kubeplay.pod": "web"},
        "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}},
        "Created": 1700000000,
    }
]


def test_reads_share_one_channel_opened_once_and_chunked_bodies_are_joined() -> None:
    channel = Channel(
        answer("200 OK", json.dumps(LISTED).encode(), chunked=True),
        answer("200 OK", b'{"Volumes": [{"Name": "kp_web_data", "Labels": {"kubeplay.pod": "web"}}]}'),
    )
    opened: list[Channel] = []

    def dial() -> Channel:
        opened.append(channel)
        return channel

    docker = ReadingDocker(DockerHTTP(dial), lambda: pytest.fail("no docker-py client for a read"))
    [web] = docker.containers("kubeplay.pod")
    assert (web.id, web.name, web.ip, web.labels) == ("abc", "kp_web_POD", "172.17.0.2", {"kubeplay.pod": "web"})
    assert docker.labelled_volumes("kubeplay.pod") == {"kp_web_data": {"kubeplay.pod": "web"}}
    assert len(opened) == 1
    first = channel.sent[0].decode()
    assert first.startswith("GET /v1.41/containers/json?all=1&filters=%7B%22label%22%3A%20%5B%22kubeplay.pod%22%5D%7D ")
    docker.close()
    assert channel.closed


def test_an_answer_that_is_not_2xx_raises_with_docker_s_message() -> None:
    channel = Channel(answer("404 Not Found", b'{"message": "network bridge not found"}'), answer("500 Oops", b"x"))
    http = DockerHTTP(lambda: channel)
    with pytest.raises(DockerNotFound, match="network bridge not found"):
        http.get("/networks/bridge")
    with pytest.raises(DockerError, match="HTTP 500"):
        http.get("/info")


def test_a_channel_that_ends_mid_answer_is_a_docker_error() -> None:
    channel = Channel(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
    with pytest.raises(DockerError, match="closed the connection"):
        DockerHTTP(lambda: channel).get("/info")


def test_changes_go_to_the_full_client_made_once() -> None:
    made: list[FakeDocker] = []

    def full() -> FakeDocker:
        made.append(FakeDocker(minion="m1"))
        return made[-1]

    docker = ReadingDocker(DockerHTTP(lambda: Channel()), full)
    docker.remove("gone")
    docker.remove_volume("gone")
    assert len(made) == 1 and [c[0] for c in made[0].calls] == ["remove", "remove_volume"]


class PipelinedChannel:
    """Docker's server on one stream: answers the requests sent, in order, whenever they come (several at once)."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies
        self.writes: list[bytes] = []
        self.pending = b""

    def sendall(self, data: bytes) -> None:
        self.writes.append(data)
        for request in data.split(b"\r\n\r\n")[:-1]:
            path = request.split(b" ")[1].decode().split("?")[0].removeprefix("/v1.41")
            self.pending += answer("200 OK", self.bodies[path])

    def recv(self, size: int) -> bytes:
        chunk, self.pending = self.pending[:5], self.pending[5:]
        return chunk

    def close(self) -> None:
        pass


def test_an_observation_s_reads_are_sent_at_once_and_each_call_reads_its_own_answer() -> None:
    bodies = {
        "/containers/json": json.dumps(LISTED).encode(),
        "/volumes": b'{"Volumes": [{"Name": "kp_web_data", "Labels": {"kubeplay.pod": "web"}}]}',
        "/info": b'{"NCPU": 4, "MemTotal": 8589934592}',
        "/networks/bridge": b'{"IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]}}',
        "/images/json": b'[{"RepoTags": ["redis:latest"]}]',
    }
    channel = PipelinedChannel(bodies)
    docker = ReadingDocker(DockerHTTP(lambda: channel), lambda: pytest.fail("no docker-py client for a read"))
    docker.read_ahead("kubeplay.pod")
    assert len(channel.writes) == 1 and channel.writes[0].count(b" HTTP/1.1\r\n") == 5
    facts = docker.facts()  # (asked out of the order sent: the answers before its own are kept for their calls)
    assert (facts.cpus, facts.memory, facts.bridge_subnet, facts.images) == (
        4,
        8589934592,
        "172.17.0.0/16",
        frozenset({"redis:latest"}),
    )
    assert [c.name for c in docker.containers("kubeplay.pod")] == ["kp_web_POD"]
    assert docker.labelled_volumes("kubeplay.pod") == {"kp_web_data": {"kubeplay.pod": "web"}}
    assert len(channel.writes) == 1, "no read sent ahead is asked again"
    assert docker.labelled_volumes("kubeplay.pod") == {"kp_web_data": {"kubeplay.pod": "web"}}
    assert len(channel.writes) == 2, "a read asked again goes to the daemon again"
    assert channel.pending == b""


def test_a_request_after_reads_sent_ahead_gets_its_own_answer_not_theirs() -> None:
    channel = PipelinedChannel({"/info": b'{"NCPU": 2}', "/volumes": b'{"Volumes": []}', "/version": b'"v"'})
    http = DockerHTTP(lambda: channel)
    http.send_ahead([("/info", None), ("/volumes", None)])
    assert http.get("/version") == "v"
    assert http.get("/volumes") == {"Volumes": []}
    assert http.get("/info") == {"NCPU": 2}
    assert channel.pending == b""
