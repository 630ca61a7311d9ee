"""Portal IPs: the stable virtual address of every service, with no local state.

A service's portal IP is, in this order of preference:

1. its explicit ``portalIP`` (``spec.clusterIP``): it must lie inside the portal network and not be the network's
   own or broadcast address;
2. the IP it already has on the minions, read back from the comments on kubeplay's iptables rules
   (``proxy.observed_portals``, merged over minions with ``merge_observed``), so it never changes between runs or
   between workstations;
3. a new address chosen deterministically: a hash of the service name picks a start in the portal network and
   the first free address from there (wrapping around) is taken. Two workstations with the same manifests and
   the same cluster therefore allocate the same address.

Two services never share an address: explicit duplicates are a ``ManifestError`` naming both services and
files; an observed address claimed explicitly by another service is given up and a new one allocated.
``portal_problems`` is the same check of the explicit addresses, made by ``validate`` before anything connects.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from kubeplay.errors import ManifestError, Problem
from kubeplay.model import Service, Source

PORTAL_FIELD = "portalIP"


class _PortalNetwork:
    """The usable addresses of the portal network: all but the network and broadcast addresses."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.IPv4Network(cidr, strict=False)
        reserved = 2 if self.network.prefixlen < 31 else 0
        self.first = int(self.network.network_address) + (1 if reserved else 0)
        self.size = self.network.num_addresses - reserved

    def usable(self, ip: ipaddress.IPv4Address) -> bool:
        return self.first <= int(ip) < self.first + self.size

    def address(self, index: int) -> str:
        return socket.inet_ntoa((self.first + index % self.size).to_bytes(4))  # (str of IPv4Address's, made in C)

    def start_index(self, service: str) -> int:
        digest = hashlib.sha256(service.encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.size


def allocate_portals(
    services: Sequence[Service],
    observed: Mapping[str, str],
    portal_net: str,
    others: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Service name -> portal IP for every service. ``others``: service name -> project of the services of other
    projects, whose observed portal IPs are never given to ``services``. Raises ManifestError for bad or colliding
    explicit IPs."""
    network = _PortalNetwork(portal_net)
    taken = {
        observed[name]: Service(name, {}, {}, (), Source(f"project {project}"))
        for name, project in (others or {}).items()
        if name in observed
    }
    owners, problems = _claim_explicit(services, network, taken)
    if problems:
        raise ManifestError(problems)
    portals = {service.name: ip for ip, service in owners.items() if ip not in taken}
    implicit = sorted((s for s in services if not s.portal_ip), key=lambda s: s.name)
    for service in implicit:
        previous = observed.get(service.name, "")
        if _reusable(previous, network, owners):
            portals[service.name] = previous
            owners[previous] = service
    for service in implicit:
        if service.name not in portals:
            ip = _first_free(service, network, owners)
            portals[service.name] = ip
            owners[ip] = service
    return portals


def merge_observed(per_minion: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """One service -> portal IP mapping from each minion's: the IP most minions agree on, ties to the lowest. (Many
    minions' may be the very same mapping, found once: it is counted once, times the minions.)"""
    same: dict[int, tuple[Mapping[str, str], int]] = {}
    for portals in per_minion:
        same[id(portals)] = (portals, same.get(id(portals), (portals, 0))[1] + 1)
    votes: Counter[tuple[str, str]] = Counter()
    for portals, minions in same.values():
        votes.update(dict.fromkeys(portals.items(), minions))
    best: dict[str, tuple[int, int, str]] = {}
    for (service, ip), count in votes.items():
        key = (-count, _ip_order(ip), ip)
        if service not in best or key < best[service]:
            best[service] = key
    return {service: key[2] for service, key in sorted(best.items())}


def portal_problems(services: Sequence[Service], portal_net: str) -> list[Problem]:
    """Every problem with the services' explicit portal IPs: outside the portal network, its network or broadcast
    address, or another service's. Pure: what ``allocate_portals`` refuses, found without connecting."""
    return _claim_explicit(services, _PortalNetwork(portal_net), {})[1]


def _claim_explicit(
    services: Sequence[Service], network: _PortalNetwork, taken: Mapping[str, Service]
) -> tuple[dict[str, Service], list[Problem]]:
    """Portal IP -> the service that has it (``taken``: other projects' services, kept as they are; then the
    services that give one explicitly, first by name), and the problems with the others."""
    owners: dict[str, Service] = dict(taken)
    problems: list[Problem] = []
    for service in sorted((s for s in services if s.portal_ip), key=lambda s: s.name):
        problem = _check_explicit(service, network, owners)
        if problem:
            problems.append(problem)
            continue
        owners[service.portal_ip] = service
    return owners, problems


def _check_explicit(service: Service, network: _PortalNetwork, owners: Mapping[str, Service]) -> Problem | None:
    try:
        ip = ipaddress.IPv4Address(service.portal_ip)
    except ValueError:
        return _problem(service, f"{service.portal_ip!r} is not an IPv4 address")
    if ip not in network.network:
        return _problem(service, f"{ip} is outside the portal network {network.network}")
    if not network.usable(ip):
        return _problem(service, f"{ip} is the network or broadcast address of the portal network")
    other = owners.get(service.portal_ip)
    if other is not None:
        return _problem(service, f"{ip} is already the portal IP of service {other.name} ({other.source})")
    return None


def _problem(service: Service, message: str) -> Problem:
    return Problem(
        file=service.source.file,
        line=service.source.line,
        object=f"Service {service.name}",
        field=PORTAL_FIELD,
        message=message,
    )


def _reusable(ip: str, network: _PortalNetwork, owners: Mapping[str, Service]) -> bool:
    if not ip or ip in owners:
        return False
    try:
        return network.usable(ipaddress.IPv4Address(ip))
    except ValueError:
        return False


def _first_free(service: Service, network: _PortalNetwork, owners: Mapping[str, Service]) -> str:
    start = network.start_index(service.name)
    for step in range(network.size):
        ip = network.address(start + step)
        if ip not in owners:
            return ip
    raise ManifestError([_problem(service, f"no free portal IP left in the portal network {network.network}")])


def _ip_order(ip: str) -> int:
    try:
        return int(ipaddress.IPv4Address(ip))
    except ValueError:
        return 1 << 32
