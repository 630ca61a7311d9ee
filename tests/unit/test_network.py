from __future__ import annotations

import pytest

from kubeplay.errors import KubeplayError
from kubeplay.model import ObservedMinion
from kubeplay.proxy.routes import FORWARD_CHAIN, Route, forward_rules, parse_routes, plan_routes, route_commands

# ``ip -4 route show`` (iproute2 6.1) in a scratch namespace after ``route_commands`` installed two routes, next to
# a user's route without proto, one with ``proto static``, the kernel's and a default.
RECORDED_ROUTES = """\
default dev v0 scope link 
10.50.0.7 via 10.99.0.14 dev v0 proto static 
10.99.0.0/24 dev v0 proto kernel scope link src 10.99.0.11 
172.22.0.0/16 via 10.99.0.12 dev v0 proto 107 
172.23.0.0/16 via 10.99.0.13 dev v0 proto 107 
172.30.0.0/16 via 10.99.0.13 dev v0 
"""  # noqa: W291 (ip prints a trailing space)


def minion(name: str, subnet: str, address: str, reachable: bool = True) -> ObservedMinion:
    return ObservedMinion(name, reachable, bridge_subnet=subnet, address=address)


M1 = minion("m1", "172.21.0.0/16", "10.99.0.11")
M2 = minion("m2", "172.22.0.0/16", "10.99.0.12")
M3 = minion("m3", "172.23.0.1/16", "10.99.0.13")


@pytest.mark.parametrize(
    ("minions", "expected"),
    [
        pytest.param([M1], {"m1": ()}, id="alone"),
        pytest.param(
            [M3, M1, M2],
            {
                "m1": (Route("172.22.0.0/16", "10.99.0.12"), Route("172.23.0.0/16", "10.99.0.13")),
                "m2": (Route("172.21.0.0/16", "10.99.0.11"), Route("172.23.0.0/16", "10.99.0.13")),
                "m3": (Route("172.21.0.0/16", "10.99.0.11"), Route("172.22.0.0/16", "10.99.0.12")),
            },
            id="three",
        ),
        pytest.param(
            [M1, M2, minion("m3", "", "", reachable=False), minion("m4", "", "10.99.0.14")],
            {"m1": (Route("172.22.0.0/16", "10.99.0.12"),), "m2": (Route("172.21.0.0/16", "10.99.0.11"),)},
            id="unreachable-and-unknown-left-out",
        ),
    ],
)
def test_plan_routes(minions: list[ObservedMinion], expected: dict[str, tuple[Route, ...]]) -> None:
    assert plan_routes(minions) == expected


@pytest.mark.parametrize(
    ("second", "shown"),
    [("172.21.0.0/16", "172.21.0.0/16"), ("172.21.128.0/17", "172.21.128.0/17"), ("172.0.0.0/8", "172.0.0.0/8")],
)
def test_overlapping_pod_subnets_name_both_minions(second: str, shown: str) -> None:
    with pytest.raises(KubeplayError, match=f"minion m1 has 172.21.0.0/16 and minion m2 has {shown}"):
        plan_routes([M1, minion("m2", second, "10.99.0.12")])


def test_forward_rules() -> None:
    rules = forward_rules([M2, M1, minion("m3", "", "", reachable=False)])
    comment = '-m comment --comment "kubeplay pod network"'
    assert rules.chains == {
        "filter": {
            FORWARD_CHAIN: (
                f"-A KUBEPLAY-FORWARD -d 172.21.0.0/16 {comment} -j ACCEPT",
                f"-A KUBEPLAY-FORWARD -d 172.22.0.0/16 {comment} -j ACCEPT",
            )
        }
    }
    assert rules.jumps == {"filter": {"FORWARD": (f"-A FORWARD {comment} -j KUBEPLAY-FORWARD",)}}


def test_parse_recorded_routes() -> None:
    assert parse_routes(RECORDED_ROUTES) == (
        Route("10.50.0.7/32", "10.99.0.14", "static"),
        Route("172.22.0.0/16", "10.99.0.12"),
        Route("172.23.0.0/16", "10.99.0.13"),
        Route("172.30.0.0/16", "10.99.0.13", ""),
    )


def test_parse_routes_skips_defaults_and_nexthop_lines() -> None:
    text = "default via 10.0.0.1 dev eth0\n172.24.0.0/16 proto 107 linkdown\n\tnexthop via 10.0.0.2 dev eth0\n"
    assert parse_routes(text) == ()


OBSERVED = parse_routes(RECORDED_ROUTES)


@pytest.mark.parametrize(
    ("desired", "keep_via", "expected"),
    [
        pytest.param(
            [Route("172.22.0.0/16", "10.99.0.12"), Route("172.23.0.0/16", "10.99.0.13")], (), [], id="in-sync"
        ),
        pytest.param(
            [Route("172.22.0.0/16", "10.99.0.15"), Route("172.24.0.0/16", "10.99.0.16")],
            (),
            [
                ["ip", "route", "del", "172.23.0.0/16", "via", "10.99.0.13", "proto", "107"],
                ["ip", "route", "replace", "172.22.0.0/16", "via", "10.99.0.15", "proto", "107"],
                ["ip", "route", "replace", "172.24.0.0/16", "via", "10.99.0.16", "proto", "107"],
            ],
            id="moved-removed-added",
        ),
        pytest.param(
            [Route("172.30.0.0/16", "10.99.0.99"), Route("10.50.0.7/32", "10.99.0.1")],
            ("10.99.0.12", "10.99.0.13"),
            [],
            id="foreign-routes-and-unreachable-minions-kept",
        ),
        pytest.param(
            [],
            (),
            [
                ["ip", "route", "del", "172.22.0.0/16", "via", "10.99.0.12", "proto", "107"],
                ["ip", "route", "del", "172.23.0.0/16", "via", "10.99.0.13", "proto", "107"],
            ],
            id="teardown-deletes-only-kubeplays",
        ),
    ],
)
def test_route_commands(desired: list[Route], keep_via: tuple[str, ...], expected: list[list[str]]) -> None:
    assert [list(c) for c in route_commands(OBSERVED, desired, keep_via=keep_via)] == expected


# ``ip -4 route show`` (iproute2 6.1) in a scratch namespace after routes were added in the order 2, 10, 1, 100, 11,
# 3, then 172.17.0.0/24 and 10.1.0.0/24: the kernel lists them in address order.
ADDRESS_ORDER_ROUTES = """\
10.1.0.0/24 via 192.168.0.9 dev lo proto 107 
172.16.1.0/24 via 192.168.0.2 dev lo proto 107 
172.16.2.0/24 via 192.168.0.3 dev lo proto 107 
172.16.3.0/24 via 192.168.0.4 dev lo proto 107 
172.16.10.0/24 via 192.168.0.11 dev lo proto 107 
172.16.11.0/24 via 192.168.0.12 dev lo proto 107 
172.16.100.0/24 via 192.168.0.101 dev lo proto 107 
172.17.0.0/24 via 192.168.0.9 dev lo proto 107 
"""  # noqa: W291 (ip prints a trailing space)


def test_planned_routes_are_in_the_order_ip_route_lists_them() -> None:
    listed = parse_routes(ADDRESS_ORDER_ROUTES)
    others = [minion(f"m{index}", r.destination, r.via) for index, r in enumerate(reversed(listed))]
    planned = plan_routes([*others, minion("self", "10.200.0.0/24", "192.168.0.200")])
    assert planned["self"] == listed
    assert route_commands(listed, planned["self"]) == []
    assert route_commands(tuple(reversed(listed)), planned["self"]) == []  # (any order is in sync)
