"""Data from minions is checked like data from users before it is used: a hostile or broken minion's answers
are warnings, never a crash, never an iptables rule or a command."""

from __future__ import annotations

import pytest

from kubeplay.dataclass import replace
from kubeplay.kubelet.execute import Environment, MinionExecutor
from kubeplay.kubelet.observe import observe_minion
from kubeplay.model import Container, Observed, Port, Service, Source
from kubeplay.pods.labels import LABEL_CONTROLLER, LABEL_POD, LABEL_POD_LABELS, LABEL_PORTS
from kubeplay.proxy.endpoints import compute_endpoints
from kubeplay.proxy.routes import parse_routes
from kubeplay.proxy.rules import render
from tests.unit.builders import pod
from tests.unit.fakes import FakeConnection

WEB = pod("web", Container("web", "nginx", ports=(Port(80),)), labels={"app": "web"})
SERVICE = Service("web", {}, {"app": "web"}, (), Source("s.yaml"))


def minion_with_web() -> FakeConnection:
    conn = FakeConnection()
    MinionExecutor(conn, Environment()).create_pod(WEB)
    return conn


def tamper(conn: FakeConnection, role: str, *, ip: str | None = None, **labels: str) -> None:
    """Change what the minion's Docker reports for the pod's container ``role`` (POD or web)."""
    held = conn.fake_docker.named(f"kp_web_{role}")
    held.config = replace(held.config, labels={**held.config.labels, **labels})
    if ip is not None:
        held.ip = ip


def test_an_ip_that_is_not_an_address_is_a_warning_and_never_an_endpoint() -> None:
    conn = minion_with_web()
    tamper(conn, "POD", ip="172.30.3.9 -j ACCEPT")
    minion = observe_minion(conn)
    (web,) = Observed({"m1": minion}).pods
    assert web.ip == ""
    assert minion.warnings == (
        "container 'kp_web_POD': its IP '172.30.3.9 -j ACCEPT' is not an IPv4 address: the pod is no endpoint of any "
        "service",
    )
    endpoints = compute_endpoints([replace(SERVICE, ports=())], [web])
    assert all(not found for found in endpoints.values())
    rules = render([SERVICE], {"web": "10.0.0.10"}, endpoints)
    assert "ACCEPT" not in str(rules) and "172.30.3.9" not in str(rules)


def test_a_container_with_an_invalid_name_label_is_ignored_not_touched() -> None:
    conn = minion_with_web()
    tamper(conn, "web", **{LABEL_POD: "web; rm -rf /"})
    tamper(conn, "POD", **{LABEL_CONTROLLER: "\x1b]0;owned\x07"})
    minion = observe_minion(conn)
    assert minion.containers == ()
    assert sorted(minion.warnings) == [
        "container 'kp_web_POD' is ignored: its controller label '\\x1b]0;owned\\x07' is not a valid name",
        "container 'kp_web_web' is ignored: its pod label 'web; rm -rf /' is not a valid name",
    ]


def test_invalid_pod_labels_and_ports_are_read_as_none() -> None:
    conn = minion_with_web()
    tamper(
        conn, "POD", **{LABEL_POD_LABELS: '{"app": "web", "bad\\nkey": "x"}', LABEL_PORTS: '[{"containerPort": 99999}]'}
    )
    minion = observe_minion(conn)
    infra = next(c for c in minion.containers if c.container == "POD")
    assert infra.pod_labels == {} and infra.ports == ()
    assert len(minion.warnings) == 2
    tamper(conn, "POD", **{LABEL_PORTS: '[{"containerPort": "eighty"}]'})
    assert next(c for c in observe_minion(conn).containers if c.container == "POD").ports == ()


def test_a_bridge_subnet_that_is_not_a_network_gives_no_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = minion_with_web()
    facts = conn.fake_docker.facts()
    monkeypatch.setattr(conn.fake_docker, "facts", lambda: replace(facts, bridge_subnet="10.0.0.0/8 dev eth0"))
    minion = observe_minion(conn)
    assert minion.bridge_subnet == ""
    assert "Docker's bridge subnet '10.0.0.0/8 dev eth0' is not an IPv4 network" in minion.warnings[0]


def test_a_route_whose_gateway_is_not_an_address_is_not_read() -> None:
    text = "172.21.0.0/16 via 10.77.3.11 dev eth0 proto 107\n172.22.0.0/16 via 10.0.0.1;reboot dev eth0 proto 107\n"
    assert [r.via for r in parse_routes(text)] == ["10.77.3.11"]


def test_names_the_manifests_accept_are_read_back_even_with_capitals() -> None:
    """The seed's v1beta1 controller is "redisController": its replicas' pods are kubeplay's own."""
    conn = FakeConnection()
    replica = pod("redisController-vs6fz", Container("redis", "dockerfile/redis"), controller="redisController")
    MinionExecutor(conn, Environment()).create_pod(replica)
    minion = observe_minion(conn)
    assert minion.warnings == ()
    assert [p.name for p in Observed({"m1": minion}).pods] == ["redisController-vs6fz"]
