from __future__ import annotations

import random

import pytest

from kubeplay.model import INFRA_CONTAINER, ObservedContainer, ObservedPod, Port, Service, ServicePort, Source
from kubeplay.proxy.endpoints import Endpoint, compute_endpoints, endpoints_key, resolve_target_port


def pod(
    name: str,
    ip: str,
    labels: dict[str, str],
    ports: tuple[Port, ...] = (Port(8080, name="http"),),
    state: str = "running",
    health: str = "",
) -> ObservedPod:
    def container(
        role: str, state: str, ip: str = "", ports: tuple[Port, ...] = (), health: str = ""
    ) -> ObservedContainer:
        return ObservedContainer(
            id=f"{name}-{role}",
            name=f"{name}-{role}",
            pod=name,
            container=role,
            spec_hash="h",
            image="img",
            state=state,
            pod_labels=labels,
            ip=ip,
            ports=ports,
            health=health,
        )

    return ObservedPod(
        name, "m1", (container(INFRA_CONTAINER, "running", ip, ports), container("app", state, health=health))
    )


def service(selector: dict[str, str], *ports: ServicePort, name: str = "web") -> Service:
    return Service(name=name, labels={}, selector=selector, ports=ports, source=Source("s.yaml"))


WEB = {"app": "web"}
PODS = [
    pod("web-2", "172.21.0.10", {"app": "web", "tier": "front"}),
    pod("web-1", "172.21.0.9", {"app": "web"}),
    pod("web-3", "172.22.0.2", {"app": "web"}, ports=(Port(9090, name="metrics"),)),
    pod("web-dead", "172.21.0.11", {"app": "web"}, state="exited"),
    pod("web-sick", "172.21.0.12", {"app": "web"}, health="unhealthy"),
    pod("web-noip", "", {"app": "web"}),
    pod("db", "172.21.0.20", {"app": "db"}, ports=(Port(5432),)),
]


@pytest.mark.parametrize(
    ("svc", "expected"),
    [
        pytest.param(
            service(WEB, ServicePort(80, 8080)),
            {"web": [("web-1", "172.21.0.9", 8080), ("web-2", "172.21.0.10", 8080), ("web-3", "172.22.0.2", 8080)]},
            id="number-sorted-by-ip",
        ),
        pytest.param(
            service(WEB, ServicePort(80, "http")),
            {"web": [("web-1", "172.21.0.9", 8080), ("web-2", "172.21.0.10", 8080)]},
            id="name-missing-on-a-pod",
        ),
        pytest.param(
            service(WEB, ServicePort(80, "8080")),
            {"web": [("web-1", "172.21.0.9", 8080), ("web-2", "172.21.0.10", 8080), ("web-3", "172.22.0.2", 8080)]},
            id="numeric-string",
        ),
        pytest.param(
            service(WEB, ServicePort(80, 0)),
            {"web": [("web-1", "172.21.0.9", 8080), ("web-2", "172.21.0.10", 8080), ("web-3", "172.22.0.2", 9090)]},
            id="zero-means-first-declared-port",
        ),
        pytest.param(
            service({"app": "web", "tier": "front"}, ServicePort(80, 8080)),
            {"web": [("web-2", "172.21.0.10", 8080)]},
            id="subset-selector",
        ),
        pytest.param(service({}, ServicePort(80, 8080)), {"web": []}, id="empty-selector-selects-nothing"),
        pytest.param(service({"app": "none"}, ServicePort(80, 8080)), {"web": []}, id="no-match"),
        pytest.param(
            service(WEB, ServicePort(80, "http", name="http"), ServicePort(9090, "metrics", name="metrics")),
            {
                "web:http": [("web-1", "172.21.0.9", 8080), ("web-2", "172.21.0.10", 8080)],
                "web:metrics": [("web-3", "172.22.0.2", 9090)],
            },
            id="multi-port",
        ),
        pytest.param(
            service(WEB, ServicePort(80, 8080), ServicePort(53, 53, "UDP")),
            {
                "web:80": [
                    ("web-1", "172.21.0.9", 8080),
                    ("web-2", "172.21.0.10", 8080),
                    ("web-3", "172.22.0.2", 8080),
                ],
                "web:53": [("web-1", "172.21.0.9", 53), ("web-2", "172.21.0.10", 53), ("web-3", "172.22.0.2", 53)],
            },
            id="multi-port-unnamed",
        ),
    ],
)
def test_compute_endpoints(svc: Service, expected: dict[str, list[tuple[str, str, int]]]) -> None:
    result = compute_endpoints([svc], PODS)
    assert {k: [(e.pod, e.ip, e.port) for e in v] for k, v in result.items()} == expected


def test_endpoints_carry_the_service_ports_protocol() -> None:
    svc = service(WEB, ServicePort(53, 8080, "UDP"))
    assert {e.protocol for e in compute_endpoints([svc], PODS)["web"]} == {"UDP"}


def test_endpoint_prints_as_ip_and_port() -> None:
    assert str(Endpoint("p", "172.21.0.9", 8080)) == "172.21.0.9:8080"


def test_endpoints_key() -> None:
    one = service(WEB, ServicePort(80, 80))
    two = service(WEB, ServicePort(80, 80, name="http"), ServicePort(443, 443))
    assert endpoints_key(one, one.ports[0]) == "web"
    assert [endpoints_key(two, p) for p in two.ports] == ["web:http", "web:443"]


@pytest.mark.parametrize(
    ("target", "declared", "expected"),
    [
        (8080, (), 8080),
        ("http", (Port(80, name="admin"), Port(8080, name="http")), 8080),
        ("http", (Port(80),), None),
        ("", (Port(81), Port(82)), 81),
        (0, (), None),
    ],
)
def test_resolve_target_port(target: int | str, declared: tuple[Port, ...], expected: int | None) -> None:
    assert resolve_target_port(target, declared) == expected


def test_endpoints_of_random_clusters_are_the_rule_written_plainly() -> None:
    """Every running pod with an IP whose labels hold the whole selector, at the port its target port means for
    it (left out when it means none), by address, port and pod name: numbered, named, empty and zero targets."""
    rng = random.Random(5)
    targets: list[int | str] = [6379, "6379", "http", "metrics", "", 0, "0", "nope"]
    for _ in range(200):
        pods = [
            pod(
                f"p{i}",
                rng.choice(["", f"172.21.0.{rng.randrange(2, 9)}", f"172.21.1.{rng.randrange(2, 9)}"]),
                {k: rng.choice("ab") for k in rng.sample(["app", "tier"], rng.randrange(3))},
                rng.choice([(), (Port(8080, name="http"),), (Port(9090, name="metrics"), Port(8080, name="http"))]),
                rng.choice(["running", "running", "exited"]),
            )
            for i in range(rng.randrange(8))
        ]
        ports = [ServicePort(80 + n, rng.choice(targets), name=f"n{n}") for n in range(rng.randrange(1, 3))]
        selector = {k: rng.choice("ab") for k in rng.sample(["app", "tier"], rng.randrange(3))}
        web = service(selector, *ports)
        found = compute_endpoints([web], pods)
        for port in ports:
            plain = [
                Endpoint(p.name, p.ip, number, port.protocol)
                for p in pods
                if p.running and p.ip and selector and all(p.labels.get(k) == v for k, v in selector.items())
                if (number := resolve_target_port(port.target_port, p.ports)) is not None
            ]
            plain.sort(key=lambda e: (tuple(int(b) for b in e.ip.split(".")), e.port, e.pod))
            assert found[endpoints_key(web, port)] == tuple(plain)
