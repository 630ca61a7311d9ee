"""The service stage of a run: portal IPs, what new containers learn, and every minion's proxy rules and routes.

Pure: reading and writing the minions is kubeplay.proxy.sync's part. In one apply:

1. ``plan_services``, before the pods are planned: portal IPs (the ones already on the minions are kept), the
   env vars and /etc/hosts names of new containers, and the pod network's routes (overlapping pod subnets raise
   here, before anything changes);
2. the pods are planned; ``plan_sync`` with the pods that stay (services first): endpoints, then per minion the
   proxy rules plus the pod network's forward rules, and the ``ip route`` commands, written before any pod
   changes. A minion already in sync gets nothing written;
3. the pods are executed, new containers getting ``ServicePlan.env`` and ``ServicePlan.hosts`` (a rollout step
   plans the endpoints again as its pods come and go);
4. ``plan_sync`` with the pods as they are after that, written where it differs from what was written before.

A minion that could not be reached is never touched, and the others keep kubeplay's routes to addresses that
are not a reachable minion's (its pod subnet, most likely) and the forward rules for them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TypeVar

from kubeplay.dataclass import dataclass, field
from kubeplay.errors import InputError, Problem
from kubeplay.model import DEFAULT_PROJECT, EnvVar, Inventory, Observed, ObservedMinion, ObservedPod, Service
from kubeplay.proxy import routes as network
from kubeplay.proxy import rules as proxy
from kubeplay.proxy.endpoints import compute_endpoints
from kubeplay.proxy.env import ServiceEnvironment, hosts_entries
from kubeplay.proxy.portals import allocate_portals, merge_observed
from kubeplay.proxy.routes import Route
from kubeplay.proxy.rules import Ruleset, SharedRules
from kubeplay.yamlnodes import paused_gc


@dataclass(frozen=True)
class MinionNetwork:
    """What was read of one reachable minion's network: kubeplay's iptables rules and the gateway routes."""

    minion: str
    rules: Ruleset = field(default_factory=Ruleset)
    routes: tuple[Route, ...] = ()
    error: str = ""
    """Why it could not be read ("" when it was): nothing is written to such a minion."""


@dataclass(frozen=True)
class ServicePlan:
    services: tuple[Service, ...]
    portals: Mapping[str, str]
    """Service name -> portal IP."""
    env: Sequence[EnvVar]
    """The variables of every service, for new containers (``ServiceEnvironment``: made when first read)."""
    hosts: Mapping[str, str]
    """Service name -> portal IP, for /etc/hosts."""
    routes: Mapping[str, tuple[Route, ...]]
    """Reachable minion -> kubeplay's routes it should have; empty when the pod network is off."""
    pod_network: bool
    project: str = DEFAULT_PROJECT
    removed: frozenset[str] | None = None
    """None (an apply): the project's services are exactly ``services``, its others go. A set (a delete, a kubecfg
    run): only these services go, ``services`` are written, every other service found on the minions stays as it
    is."""

    def keeps(self, project: str, service: str) -> bool:
        """Whether a service found on a minion is written again as it was read."""
        if self.removed is None:
            return project != self.project
        return service not in self.removed and all(s.name != service for s in self.services)


@dataclass(frozen=True)
class MinionSync:
    """One minion's rules and routes: as they are and as they should be."""

    minion: str
    observed: Ruleset
    desired: Ruleset
    route_commands: tuple[tuple[str, ...], ...] = ()

    @property
    def restore(self) -> str:
        """The ``iptables-restore --noflush`` input; "" when the rules are in sync."""
        return proxy.to_restore(self.desired, self.observed)

    @property
    def rules_in_sync(self) -> bool:
        return proxy.in_sync(self.observed, self.desired)

    @property
    def changes(self) -> bool:
        return not self.rules_in_sync or bool(self.route_commands)

    def rule_diff(self) -> list[str]:
        return proxy.diff(self.observed, self.desired)


def plan_services(
    services: Sequence[Service],
    observed: Observed,
    networks: Mapping[str, MinionNetwork],
    inventory: Inventory,
    project: str = DEFAULT_PROJECT,
    removed: frozenset[str] | None = None,
) -> ServicePlan:
    """Portals, env and hosts for new containers, and routes. ``removed``: see ``ServicePlan.removed`` (a set: the
    project's other services on the minions are kept, their portal IPs too). Raises InputError for a service name
    another project uses, ManifestError for bad or colliding portal IPs and KubeplayError for overlapping pod
    subnets (with the pod network on)."""
    wanted = {s.name for s in services}
    others = {
        n: p
        for n, p in observed_projects(networks).items()
        if p != project or (removed is not None and n not in removed and n not in wanted)
    }
    taken = [_taken(s, others[s.name]) for s in services if s.name in others]
    if taken:
        raise InputError(taken)
    portals = allocate_portals(services, observed_portals(networks), inventory.portal_net, others)
    routes = network.plan_routes(list(observed.minions.values())) if inventory.pod_network else {}
    return ServicePlan(
        services=tuple(sorted(services, key=lambda s: s.name)),
        portals=portals,
        env=ServiceEnvironment(services, portals),
        hosts=dict(hosts_entries(services, portals)),
        routes=routes,
        pod_network=inventory.pod_network,
        project=project,
        removed=removed,
    )


def _taken(service: Service, project: str) -> Problem:
    return Problem(
        service.source.file,
        f"service {service.name} exists in project {project}; kubeplay will not take it over: "
        f"rename it, or apply with -p {project}",
        service.source.line,
        f"Service {service.name}",
    )


def observed_portals(networks: Mapping[str, MinionNetwork]) -> dict[str, str]:
    """Service name -> the portal IP kubeplay gave it, as the minions' rules say (most minions win)."""
    return merge_observed(_found(networks, proxy.observed_portals))


def observed_services(networks: Mapping[str, MinionNetwork]) -> dict[str, proxy.SeenService]:
    """Service name -> what the minions' rules tell of it (portal IP, ports, selector), the first minion's word."""
    return _first_word(_found(dict(sorted(networks.items())), proxy.observed_services))


def observed_projects(networks: Mapping[str, MinionNetwork]) -> dict[str, str]:
    """Service name -> its project, as the minions' rules say."""
    return _first_word(_found(networks, proxy.observed_projects))


T = TypeVar("T")


def _found(networks: Mapping[str, MinionNetwork], scan: Callable[[Ruleset], dict[str, T]]) -> list[dict[str, T]]:
    """``scan`` of each read minion's rules, in order; found once for all the minions whose rules reference the same
    shared part when their own part has nothing ``scan`` finds (the whole then finds just what that part does, in
    its order: both are scanned table by table, chain by chain in name order). Those minions get the very same
    dict."""
    found: list[dict[str, T]] = []
    once: dict[int, dict[str, T]] = {}
    for n in networks.values():
        if n.error:
            continue
        shared = n.rules.shared
        if shared is None or scan(proxy.own_part(n.rules)):
            found.append(scan(n.rules))
            continue
        if id(shared) not in once:  # (alive as long as ``networks``)
            once[id(shared)] = scan(shared)
        found.append(once[id(shared)])
    return found


def _first_word(found: Sequence[Mapping[str, T]]) -> dict[str, T]:
    """Each name with its value in the first of ``found`` that has it (a mapping met again adds nothing)."""
    first: dict[str, T] = {}
    met: set[int] = set()
    for each in found:
        if id(each) not in met:
            met.add(id(each))
            for name, value in each.items():
                first.setdefault(name, value)
    return first


def serving_pods(pods: Sequence[ObservedPod], probe_failures: Collection[tuple[str, str]]) -> list[ObservedPod]:
    """Pods that may receive traffic: running, and not failing their liveness probe ((minion, pod) pairs)."""
    return [p for p in pods if p.running and (p.minion, p.name) not in probe_failures]


@paused_gc()  # pure, and makes many objects without cycles (as reconcile.load and plan)
def plan_sync(
    plan: ServicePlan,
    minions: Mapping[str, ObservedMinion],
    pods: Sequence[ObservedPod],
    networks: Mapping[str, MinionNetwork],
    limit: Collection[str] | None = None,
) -> tuple[MinionSync, ...]:
    """The rules and route commands of every reachable minion (in ``limit``) whose network could be read."""
    observed = list(minions.values())

    @functools.cache
    def shared() -> SharedRules:  # once for every minion, and not at all when there is none (no network read)
        endpoints = compute_endpoints(plan.services, pods)
        return proxy.render_shared(plan.services, plan.portals, endpoints, plan.project)

    @functools.cache
    def forward(extra_subnets: tuple[str, ...]) -> Ruleset:  # the same for every minion unless routes are kept
        return network.forward_rules(observed, extra_subnets=extra_subnets)

    reachable_addresses = {m.address for m in minions.values() if m.reachable and m.address}
    some_unreachable = any(not m.reachable for m in minions.values())
    shared_parts = _SharedParts(plan, shared)
    syncs = []
    for name in sorted(networks):
        read, minion = networks[name], minions.get(name)
        if read.error or minion is None or not minion.reachable or (limit is not None and name not in limit):
            continue
        kept = _kept_routes(read.routes, reachable_addresses) if some_unreachable else ()
        extra = forward(tuple(r.destination for r in kept)) if plan.pod_network else proxy.NO_RULES
        others, view = shared_parts.of(read.rules, extra)
        desired = proxy.render_minion(shared(), minion.bridge_subnet, others, extra, view)
        wanted = plan.routes.get(minion.name, ()) if plan.pod_network else ()
        commands = network.route_commands(read.routes, wanted, keep_via={r.via for r in kept})
        syncs.append(MinionSync(minion.name, read.rules, desired, tuple(commands)))
    return tuple(syncs)


class _SharedParts:
    """Per minion, the other projects' services its rules keep and the shared part of its desired rules: found once
    for all the minions whose rules reference the same shared part (which alone holds those services' rules), and
    with the same extra rules."""

    def __init__(self, plan: ServicePlan, shared: Callable[[], SharedRules]) -> None:
        self.plan, self.shared = plan, shared  # (the run's shared rules, rendered when first asked for)
        self.kept: dict[int, tuple[Ruleset, list[proxy.KeptService]]] = {}
        self.views: dict[tuple[int, int], tuple[object, Ruleset]] = {}

    def of(self, rules: Ruleset, extra: Ruleset) -> tuple[list[proxy.KeptService], Ruleset]:
        """The services ``rules`` keep, and the shared part of the desired rules."""
        part = rules.shared
        if part is None:
            others = proxy.kept_services(rules, self.plan.keeps)
        else:
            if id(part) not in self.kept:
                self.kept[id(part)] = (part, proxy.kept_services(part, self.plan.keeps))
            others = self.kept[id(part)][1]
        key = (id(others) if others else 0, id(extra))  # (both kept alive in the values)
        if key not in self.views:
            self.views[key] = ((others, extra), proxy.shared_view(self.shared(), others, extra))
        return others, self.views[key][1]


def _kept_routes(routes: Sequence[Route], reachable_addresses: Collection[str]) -> tuple[Route, ...]:
    """kubeplay's routes via an address that is no reachable minion's: kept while some minion is unreachable."""
    return tuple(r for r in routes if r.kubeplays and r.via not in reachable_addresses)
