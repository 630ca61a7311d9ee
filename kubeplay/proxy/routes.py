"""The pod network, host-gw style: every pod IP reachable from every minion and every pod.

Each minion's docker bridge has its own subnet. On every minion kubeplay installs a route to each other
minion's pod subnet via that minion's address, marked ``proto 107`` so kubeplay only ever replaces or deletes
routes it added itself, and accepts forwarded traffic to the cluster's pod subnets in its own filter chain
``KUBEPLAY-FORWARD`` (jumped to from FORWARD), written in the same ``iptables-restore`` as the proxy rules.

Only the destination is matched: a packet to a portal IP without endpoints is not to a pod subnet, so the
REJECT in ``KUBEPLAY-FILTER`` still sees it whichever jump comes first.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

from kubeplay.errors import KubeplayError
from kubeplay.model import ObservedMinion
from kubeplay.names import ipv4_error
from kubeplay.proxy.rules import FORWARD_CHAIN as FORWARD_CHAIN  # (with the chains every minion shares)
from kubeplay.proxy.rules import JUMP_COMMENT_PREFIX, Ruleset, parsed_network, ruleset_of

ROUTE_PROTO = "107"
"""The routing protocol number marking kubeplay's routes; unassigned in iproute2's rt_protos (187 is isis)."""


class Route(NamedTuple):
    """One gateway route. A tuple (immutable, ordered by its fields as a frozen ordered dataclass would be): sets
    of a thousand minions' routes hash and compare it in C (``route_commands``)."""

    destination: str
    """A network in CIDR form, e.g. 172.22.0.0/16."""
    via: str
    proto: str = ROUTE_PROTO
    """As ``ip route`` shows it: a number or a name from rt_protos; "" for a route without one (boot)."""

    @property
    def kubeplays(self) -> bool:
        return self.proto == ROUTE_PROTO


def plan_routes(minions: Sequence[ObservedMinion]) -> dict[str, tuple[Route, ...]]:
    """Reachable minion -> routes to every other reachable minion's pod subnet via its address, in address order
    (as ``ip route`` lists them: ``route_commands`` finds a minion that has them in one comparison).

    Minions without a known bridge subnet or address are neither given routes to nor routed to. Raises
    KubeplayError when two minions' pod subnets overlap.
    """
    members = _pod_network_members(minions)
    _check_overlaps(members)
    to = {m.name: _interned(Route(_network(m.bridge_subnet), m.address)) for m in members}  # one Route each, shared
    every = tuple(sorted(to.values(), key=lambda route: _network_order(route.destination)))
    position = {id(route): index for index, route in enumerate(every)}  # (no two alike: overlaps were refused)
    return {m.name: every[: position[id(to[m.name])]] + every[position[id(to[m.name])] + 1 :] for m in members}


def forward_rules(minions: Sequence[ObservedMinion], *, extra_subnets: Collection[str] = ()) -> Ruleset:
    """The ``KUBEPLAY-FORWARD`` chain accepting forwarded traffic to every known pod subnet, and its jump.

    ``extra_subnets``: pod subnets of minions that could not be reached this run (their routes are kept).
    """
    known = {_network(m.bridge_subnet) for m in _pod_network_members(minions)}
    subnets = sorted(known | {_network(s) for s in extra_subnets}, key=_network_order)
    comment = f'-m comment --comment "{JUMP_COMMENT_PREFIX}pod network"'
    return ruleset_of(
        "filter",
        chains={FORWARD_CHAIN: [f"-A {FORWARD_CHAIN} -d {subnet} {comment} -j ACCEPT" for subnet in subnets]},
        jumps=[f"-A FORWARD {comment} -j {FORWARD_CHAIN}"],
    )


SHOW_ROUTES = ("ip", "-4", "route", "show")
"""The command whose output ``parse_routes`` reads."""


def parse_routes(text: str) -> tuple[Route, ...]:
    """The gateway routes in ``ip -4 route show`` output (SHOW_ROUTES); routes without ``via`` and the default are
    skipped. Each line is parsed once (``_ROUTES``): a thousand minions print the same thousand lines."""
    return tuple(filter(None, map(_ROUTES.__getitem__, text.splitlines())))


class _RouteLines(dict[str, "Route | None"]):
    """Line of ``ip route`` output -> its gateway route (None: none), parsed when first asked for; emptied when it
    holds ``MAX_LINES`` (a run with thousands of minions meets a few thousand lines)."""

    MAX_LINES = 1 << 16

    def __missing__(self, line: str) -> Route | None:
        if len(self) >= self.MAX_LINES:
            self.clear()
        route = _parse_route(line)
        self[line] = route = _interned(route) if route else None
        return route


_ROUTES = _RouteLines()
_ROUTE_OBJECTS: dict[Route, Route] = {}


def _interned(route: Route) -> Route:
    """The one Route object equal to ``route`` (planned and read routes alike), so that comparing a thousand
    minions' routes with the desired ones mostly finds the very same objects (``route_commands``)."""
    if len(_ROUTE_OBJECTS) >= _RouteLines.MAX_LINES:
        _ROUTE_OBJECTS.clear()
    return _ROUTE_OBJECTS.setdefault(route, route)


def _parse_route(line: str) -> Route | None:
    words = line.split()
    via = _value_after(words, "via")
    via = via if ipv4_error(via) is None else ""  # only an address goes back into an ip route command
    destination = _destination(words[0]) if words and via else ""
    return Route(destination, via, _value_after(words, "proto")) if destination else None


def _value_after(words: Sequence[str], key: str) -> str:
    for index, word in enumerate(words[:-1]):
        if word == key:
            return words[index + 1]
    return ""


def _destination(word: str) -> str:
    try:
        return _network(word)
    except ValueError:
        return ""  # default, nexthop, unreachable, ...


def route_commands(
    observed: Sequence[Route], desired: Sequence[Route], *, keep_via: Collection[str] = ()
) -> list[tuple[str, ...]]:
    """``ip route`` argvs turning the observed routes into the desired ones, touching only kubeplay's.

    A destination already routed by a route kubeplay did not add is left alone. kubeplay's routes via an
    address in ``keep_via`` (minions that could not be reached this run) are kept even if not desired.
    """
    if tuple(observed) == tuple(desired) or (len(observed) == len(desired) and set(observed) == set(desired)):
        return []  # (a no-op: exactly the desired routes are there, compared in C; no other route to leave alone)
    present = {r.destination: (r.via, r.proto) for r in observed}
    wanted = {r.destination for r in desired}
    stale = [r for r in observed if r.proto == ROUTE_PROTO and r.destination not in wanted and r.via not in keep_via]
    deletes: list[tuple[str, ...]] = [
        ("ip", "route", "del", r.destination, "via", r.via, "proto", ROUTE_PROTO) for r in sorted(stale)
    ]
    changed = [r for r in desired if _differs(present.get(r.destination), r)]  # (on a no-op: none, nothing sorted)
    replaces = [("ip", "route", "replace", r.destination, "via", r.via, "proto", ROUTE_PROTO) for r in sorted(changed)]
    return deletes + replaces


def _differs(present: tuple[str, str] | None, route: Route) -> bool:
    """Whether a desired route must be written over what routes its destination now ((via, proto), None for
    nothing): a route kubeplay did not add is left alone."""
    return present is None or (present[1] == ROUTE_PROTO and present != (route.via, route.proto))


def _pod_network_members(minions: Sequence[ObservedMinion]) -> list[ObservedMinion]:
    return sorted((m for m in minions if m.reachable and m.bridge_subnet and m.address), key=lambda m: m.name)


def _check_overlaps(members: Sequence[ObservedMinion]) -> None:
    """Raises KubeplayError naming two minions whose pod subnets overlap: the subnets in address order, each
    checked against the one reaching furthest before it (n log n, for a thousand minions)."""
    spans = sorted(((*_span(m.bridge_subnet), m) for m in members), key=lambda span: span[:2])
    furthest: tuple[int, ObservedMinion] | None = None
    for start, end, minion in spans:
        if furthest is not None and start <= furthest[0]:
            first, second = sorted((furthest[1], minion), key=lambda m: m.name)
            raise KubeplayError(
                f"pod subnets overlap: minion {first.name} has {first.bridge_subnet} and minion"
                f" {second.name} has {second.bridge_subnet}; give each docker bridge its own subnet (--bip)"
            )
        if furthest is None or end > furthest[0]:
            furthest = (end, minion)


def _span(cidr: str) -> tuple[int, int]:
    """The first and last address of a network, as numbers."""
    network = parsed_network(cidr)
    return int(network.network_address), int(network.broadcast_address)


def _network(cidr: str) -> str:
    return str(parsed_network(cidr))


def _network_order(cidr: str) -> tuple[int, int]:
    """A network's (address, prefix length), for ``cidr`` as ``_network`` writes it."""
    network = parsed_network(cidr)
    return int(network.network_address), network.prefixlen
