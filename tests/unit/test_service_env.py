from __future__ import annotations

import pytest

from kubeplay.model import EnvVar, Service, ServicePort, Source
from kubeplay.proxy.env import env_name, hosts_entries, service_environment


def service(name: str, *ports: ServicePort) -> Service:
    return Service(name=name, labels={}, selector={"app": name}, ports=ports, source=Source("s.yaml"))


def as_pairs(env: tuple[EnvVar, ...]) -> list[tuple[str, str]]:
    return [(v.name, v.value) for v in env]


def test_single_port_service_as_kubernetes_v0_4() -> None:
    env = service_environment([service("redis-master", ServicePort(6379, 6379))], {"redis-master": "10.0.0.11"})
    assert as_pairs(env) == [
        ("REDIS_MASTER_SERVICE_HOST", "10.0.0.11"),
        ("REDIS_MASTER_SERVICE_PORT", "6379"),
        ("REDIS_MASTER_PORT", "tcp://10.0.0.11:6379"),
        ("REDIS_MASTER_PORT_6379_TCP", "tcp://10.0.0.11:6379"),
        ("REDIS_MASTER_PORT_6379_TCP_PROTO", "tcp"),
        ("REDIS_MASTER_PORT_6379_TCP_PORT", "6379"),
        ("REDIS_MASTER_PORT_6379_TCP_ADDR", "10.0.0.11"),
    ]


def test_udp_service() -> None:
    env = dict(as_pairs(service_environment([service("dns", ServicePort(53, 53, "UDP"))], {"dns": "10.0.0.10"})))
    assert env["DNS_PORT"] == "udp://10.0.0.10:53"
    assert env["DNS_PORT_53_UDP"] == "udp://10.0.0.10:53"
    assert env["DNS_PORT_53_UDP_PROTO"] == "udp"


def test_multi_port_service() -> None:
    web = service("web", ServicePort(80, 8080, name="http"), ServicePort(443, 8443, name="https-alt"))
    assert as_pairs(service_environment([web], {"web": "10.0.0.5"})) == [
        ("WEB_SERVICE_HOST", "10.0.0.5"),
        ("WEB_SERVICE_PORT", "80"),
        ("WEB_SERVICE_PORT_HTTP", "80"),
        ("WEB_SERVICE_PORT_HTTPS_ALT", "443"),
        ("WEB_PORT", "tcp://10.0.0.5:80"),
        ("WEB_PORT_80_TCP", "tcp://10.0.0.5:80"),
        ("WEB_PORT_80_TCP_PROTO", "tcp"),
        ("WEB_PORT_80_TCP_PORT", "80"),
        ("WEB_PORT_80_TCP_ADDR", "10.0.0.5"),
        ("WEB_PORT_443_TCP", "tcp://10.0.0.5:443"),
        ("WEB_PORT_443_TCP_PROTO", "tcp"),
        ("WEB_PORT_443_TCP_PORT", "443"),
        ("WEB_PORT_443_TCP_ADDR", "10.0.0.5"),
    ]


def test_services_in_name_order_and_without_portal_skipped() -> None:
    services = [
        service("zeta", ServicePort(1, 1)),
        service("alpha", ServicePort(2, 2)),
        service("nop", ServicePort(3, 3)),
    ]
    env = service_environment(services, {"zeta": "10.0.0.3", "alpha": "10.0.0.2"})
    hosts = [v.name for v in env if v.name.endswith("_SERVICE_HOST")]
    assert hosts == ["ALPHA_SERVICE_HOST", "ZETA_SERVICE_HOST"]


def test_hosts_entries() -> None:
    services = [service("redis", ServicePort(1, 1)), service("api", ServicePort(2, 2)), service("x", ServicePort(3, 3))]
    assert hosts_entries(services, {"redis": "10.0.0.11", "api": "10.0.0.2"}) == [
        ("api", "10.0.0.2"),
        ("redis", "10.0.0.11"),
    ]


@pytest.mark.parametrize(("name", "expected"), [("redis", "REDIS"), ("redis-master-2", "REDIS_MASTER_2")])
def test_env_name(name: str, expected: str) -> None:
    assert env_name(name) == expected


def test_the_lazy_environment_is_the_variables_and_made_once_when_first_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a run's service plan holds (``ServiceEnvironment``) reads, shows and compares as ``service_environment``'s
    tuple, which is made once, when it is first read (a run creating no container never makes it)."""
    from kubeplay.proxy import env as module

    services = [service("web", ServicePort(80, 8080)), service("db", ServicePort(5432, 5432), ServicePort(1, 2, "UDP"))]
    portals = {"web": "10.0.0.2", "db": "10.0.0.3"}
    made: list[int] = []
    plain = service_environment(services, portals)

    def counted(*args: object) -> tuple[EnvVar, ...]:
        made.append(1)
        return plain

    monkeypatch.setattr(module, "service_environment", counted)
    lazy = module.ServiceEnvironment(services, portals)
    assert not made
    assert lazy == plain and plain == lazy and repr(lazy) == repr(plain) and hash(lazy) == hash(plain)
    assert list(lazy) == list(plain) and len(lazy) == len(plain) and lazy[1] == plain[1] and lazy[-2:] == plain[-2:]
    assert lazy != plain[1:] and lazy == module.ServiceEnvironment(services, portals)
    assert made == [1, 1]  # (once for each of the two)
