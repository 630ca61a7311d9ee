from __future__ import annotations

import ipaddress
import random

import pytest

from kubeplay.errors import ManifestError
from kubeplay.model import Service, ServicePort, Source
from kubeplay.proxy.portals import _PortalNetwork, allocate_portals, merge_observed


def service(name: str, portal_ip: str = "", file: str = "") -> Service:
    return Service(
        name=name,
        labels={},
        selector={"app": name},
        ports=(ServicePort(80, 80),),
        source=Source(file or f"{name}.yaml", 3),
        portal_ip=portal_ip,
    )


NET = "10.0.0.0/16"


@pytest.mark.parametrize(
    ("services", "observed", "expected"),
    [
        pytest.param([service("web", "10.0.3.4")], {}, {"web": "10.0.3.4"}, id="explicit"),
        pytest.param([service("web", "10.0.3.4")], {"web": "10.0.9.9"}, {"web": "10.0.3.4"}, id="explicit-wins"),
        pytest.param([service("web")], {"web": "10.0.9.9"}, {"web": "10.0.9.9"}, id="observed-reused"),
        pytest.param(
            [service("web"), service("api", "10.0.9.9")],
            {"web": "10.0.9.9"},
            {"api": "10.0.9.9", "web": "10.0.211.234"},
            id="observed-taken-by-explicit-reallocated",
        ),
        pytest.param([service("web")], {"web": "192.168.0.1"}, {"web": "10.0.211.234"}, id="observed-outside-net"),
        pytest.param([service("web")], {"web": "10.0.255.255"}, {"web": "10.0.211.234"}, id="observed-broadcast"),
        pytest.param([service("web")], {"web": "junk"}, {"web": "10.0.211.234"}, id="observed-junk"),
        pytest.param([service("web")], {}, {"web": "10.0.211.234"}, id="hashed"),
        pytest.param(
            [service("web"), service("redis")],
            {"redis": "10.0.211.234"},
            {"redis": "10.0.211.234", "web": "10.0.211.235"},
            id="hash-collision-probes-next",
        ),
    ],
)
def test_allocate_portals(services: list[Service], observed: dict[str, str], expected: dict[str, str]) -> None:
    assert allocate_portals(services, observed, NET) == expected


def test_allocation_does_not_depend_on_order_or_workstation() -> None:
    services = [service(f"svc-{i}") for i in range(200)]
    first = allocate_portals(services, {}, "10.0.0.0/24")
    assert allocate_portals(list(reversed(services)), {}, "10.0.0.0/24") == first
    assert len(set(first.values())) == 200
    network = ipaddress.IPv4Network("10.0.0.0/24")
    assert all(ipaddress.IPv4Address(ip) in network for ip in first.values())
    assert not {"10.0.0.0", "10.0.0.255"} & set(first.values())


def test_a_full_portal_network_is_an_error() -> None:
    services = [service(f"svc-{i}") for i in range(3)]
    with pytest.raises(ManifestError, match=r"no free portal IP left in the portal network 10\.0\.0\.0/30"):
        allocate_portals(services, {}, "10.0.0.0/30")


def test_every_address_of_a_small_network_is_used() -> None:
    portals = allocate_portals([service("a"), service("b")], {}, "10.0.0.0/30")
    assert sorted(portals.values()) == ["10.0.0.1", "10.0.0.2"]


@pytest.mark.parametrize(
    ("services", "message"),
    [
        (
            [service("web", "10.0.3.4", "web.yaml"), service("api", "10.0.3.4", "api.json")],
            "web.yaml:3: Service web: portalIP: 10.0.3.4 is already the portal IP of service api (api.json:3)",
        ),
        ([service("web", "10.1.0.1")], "web.yaml:3: Service web: portalIP: 10.1.0.1 is outside the portal network"),
        ([service("web", "10.0.0.0")], "10.0.0.0 is the network or broadcast address"),
        ([service("web", "10.0.255.255")], "10.0.255.255 is the network or broadcast address"),
        ([service("web", "10.0.0.256")], "'10.0.0.256' is not an IPv4 address"),
    ],
)
def test_bad_explicit_portal_ips(services: list[Service], message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        allocate_portals(services, {}, NET)
    assert message in str(caught.value)


def test_every_bad_explicit_portal_ip_is_reported() -> None:
    services = [service("a", "10.0.0.0"), service("b", "10.9.0.1"), service("c", "10.0.0.7")]
    with pytest.raises(ManifestError) as caught:
        allocate_portals(services, {}, NET)
    assert [p.object for p in caught.value.problems] == ["Service a", "Service b"]


@pytest.mark.parametrize(
    ("per_minion", "expected"),
    [
        ([], {}),
        ([{"web": "10.0.0.5"}, {}], {"web": "10.0.0.5"}),
        ([{"web": "10.0.0.5"}, {"web": "10.0.0.9"}, {"web": "10.0.0.9"}], {"web": "10.0.0.9"}),
        ([{"web": "10.0.0.9"}, {"web": "10.0.0.10"}], {"web": "10.0.0.9"}),
        ([{"web": "10.0.0.5", "api": "10.0.0.6"}, {"api": "10.0.0.6"}], {"api": "10.0.0.6", "web": "10.0.0.5"}),
    ],
)
def test_merge_observed(per_minion: list[dict[str, str]], expected: dict[str, str]) -> None:
    assert merge_observed(per_minion) == expected


@pytest.mark.parametrize("cidr", ["10.0.0.0/24", "0.0.0.0/30", "255.255.255.0/24", "10.0.0.0/31", "172.16.0.0/12"])
def test_a_new_portal_ip_is_written_as_ipaddress_writes_it(cidr: str) -> None:
    """Each index of the portal network's usable addresses (wrapping around) as ``str(IPv4Address)`` spells it."""
    network = _PortalNetwork(cidr)
    rng = random.Random(cidr)
    for index in [0, 1, network.size - 1, network.size, *(rng.randrange(4 * network.size) for _ in range(200))]:
        assert network.address(index) == str(ipaddress.IPv4Address(network.first + index % network.size))
