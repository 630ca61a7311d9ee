"""Liveness probes through an in-memory minion: httpGet and tcpSocket from the minion to the pod's IP, exec in the
container, none before the initial delay."""

from __future__ import annotations

import time

import pytest

from kubeplay.kubelet.execute import Environment, MinionExecutor
from kubeplay.kubelet.observe import observe_minion
from kubeplay.kubelet.probe import probe_all
from kubeplay.model import Container, Desired, Observed, Pod, Port, Probe
from tests.unit.builders import pod
from tests.unit.fakes import FakeConnection, FakeDocker, connections

HTTP = Probe("httpGet", port="http", path="/healthz")


def probed(probe: Probe, *, age: int = 3600) -> FakeConnection:
    """A minion running a web pod with the probe, created ``age`` seconds ago (nothing answers on TCP yet)."""
    conn = FakeConnection(docker=FakeDocker(created_at=int(time.time()) - age))
    MinionExecutor(conn, Environment()).create_pod(web(probe))
    return conn


def web(probe: Probe) -> Pod:
    return pod("web", Container("web", "nginx", ports=(Port(8080, name="http"),), liveness_probe=probe))


def probe(conn: FakeConnection, liveness: Probe) -> dict[tuple[str, str], str]:
    minion = observe_minion(conn)
    return probe_all(Observed({minion.name: minion}).pods, Desired((web(liveness),)), connections(conn), forks=1)


def pod_ip(conn: FakeConnection) -> str:
    return conn.fake_docker.named("kp_web_POD").ip


@pytest.mark.parametrize(
    ("answer", "failure"),
    [
        (b"HTTP/1.1 200 OK\r\n\r\nok", ""),
        (b"HTTP/1.0 302 Found\r\nLocation: /\r\n\r\n", ""),
        (b"HTTP/1.1 500 Internal Server Error\r\n\r\n", "web: httpGet http://{ip}:8080/healthz: status 500"),
        (b"-ERR unknown command\r\n", "web: httpGet http://{ip}:8080/healthz: no HTTP answer"),
    ],
)
def test_http_get_passes_on_2xx_and_3xx_only(answer: bytes, failure: str) -> None:
    conn = probed(HTTP)
    ip = pod_ip(conn)
    conn.tcp[(ip, 8080)] = answer
    assert probe(conn, HTTP) == ({("m1", "web"): failure.format(ip=ip)} if failure else {})
    ((address, port, sent),) = conn.exchanges
    assert (address, port) == (ip, 8080)
    assert sent.startswith(b"GET /healthz HTTP/1.0\r\n")


def test_tcp_socket_refused_fails() -> None:
    liveness = Probe("tcpSocket", port=8080)
    conn = probed(liveness)
    assert probe(conn, liveness) == {
        ("m1", "web"): f"web: tcpSocket {pod_ip(conn)}:8080: {pod_ip(conn)}:8080: connection refused"
    }


def test_tcp_socket_that_connects_passes() -> None:
    liveness = Probe("tcpSocket", port=8080)
    conn = probed(liveness)
    conn.tcp[(pod_ip(conn), 8080)] = b""
    assert probe(conn, liveness) == {}


@pytest.mark.parametrize(("code", "failure"), [(0, ""), (1, "web: exec cat /tmp/healthy: exit 1")])
def test_exec_passes_on_exit_code_0(code: int, failure: str) -> None:
    liveness = Probe("exec", command=("cat", "/tmp/healthy"))
    conn = probed(liveness)
    conn.fake_docker.exit_codes[("cat", "/tmp/healthy")] = code
    assert probe(conn, liveness) == ({("m1", "web"): failure} if failure else {})
    assert conn.fake_docker.calls[-1] == ("exec", "kp_web_web")


@pytest.mark.parametrize(("age", "probed_now"), [(10, False), (120, True)])
def test_no_probe_before_the_initial_delay(age: int, probed_now: bool) -> None:
    liveness = Probe("tcpSocket", port=8080, initial_delay_seconds=60)
    conn = probed(liveness, age=age)
    failures = probe(conn, liveness)
    assert bool(conn.exchanges) == probed_now
    assert bool(failures) == probed_now  # nothing listens: a probe that runs fails
