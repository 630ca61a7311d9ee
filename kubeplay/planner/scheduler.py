"""Placement of new pods onto minions: one pure function behind a small interface, selectable by name.

A scheduler takes the new pods, the minions (capacity, labels, cordoned, reachable) and the pods already placed,
and returns a ``Schedule``: pod name -> minion name, plus pod name -> reason for every pod that fits nowhere.
Pods already placed stay where they are; only ``pods`` are placed (a pod whose name is already in ``placed`` is
left out of the result). New pods are placed one at a time in name order, each seeing the ones placed before it.

Predicates, one named function each in ``PREDICATES`` (a minion is a candidate only if all hold; for a pod that
fits nowhere, the first one each minion fails gives the reason counted in the message):
  * ``minion_reachable``, ``minion_not_cordoned``;
  * ``privileged_allowed``: a pod with a privileged container only goes where the inventory allows it
    (kubeplay_allow_privileged);
  * ``host_paths_allowed``: a pod's host paths must be allowed on the minion (kubeplay_host_paths, and
    kubeplay_allow_privileged for privileged paths: kubeplay.pods.hostpaths);
  * ``match_node_selector``: every ``nodeSelector`` label is on the minion with the same value;
  * ``pod_fits_ports``: none of the pod's host ports (port, protocol) is taken by a pod on the minion, new or
    already placed;
  * ``pod_fits_resources``: the pod's cpu and memory requests fit in what the minion has left (capacity 0 means
    unknown: no limit; a request of 0 always fits).

Priorities of the default scheduler, compared in this order (lowest wins):
  1. ``spreading``: how many pods on the minion share a spread group with the pod: its controller, and each of
     the ``spread_selectors`` (services) its labels match (a pod in two groups counts in both);
  2. ``least_requested``: the mean, over cpu and memory with a known capacity, of the fraction of capacity that
     would be requested with the pod placed;
  3. fewest pods on the minion; 4. minion name, so the same input always gives the same placement.

The "first-fit" scheduler places each pod on the first candidate in name order (bin packing).

Speed: pods with the same predicates and spread groups (all replicas of one controller) form a class. The
``FIXED_PREDICATES`` never change during a call and are checked once per class and minion; the
``CHANGING_PREDICATES`` only ever turn false (ports get taken, requests only grow) and every priority only ever
gets worse for a minion that receives a pod, so each class keeps a lazy heap of candidate minions: a minion that
no longer fits is dropped from the class for good, and an entry made stale by a placement is re-scored when it
reaches the top. Placing a pod costs a few heap operations, not a pass over every minion.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from kubeplay.dataclass import dataclass, field, replace
from kubeplay.model import Minion, ObservedMinion, ObservedPod, Pod
from kubeplay.model import Protocol as PortProtocol
from kubeplay.pods.hostpaths import host_path_refusal
from kubeplay.pods.labels import read_requests

HostPort = tuple[int, PortProtocol]
SpreadGroup = tuple[str, str]
"""("controller", name) or ("selector", index into spread_selectors)."""
_Rank = tuple[int, float, int, str, int]
"""A minion's heap entry: spreading, least requested, pod count, name, then the version it was ranked at."""


@dataclass(frozen=True)
class MinionInfo:
    """What the scheduler knows of a minion. cpu in millicores, memory in bytes; 0 means unknown (no limit)."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    cpu: int = 0
    memory: int = 0
    cordoned: bool = False
    reachable: bool = True
    allow_privileged: bool = True
    """kubeplay_allow_privileged from the inventory (minion_info); pods with a privileged container need it."""
    host_paths: tuple[str, ...] = ()
    """kubeplay_host_paths from the inventory: where pods may bind mount from, besides kubeplay's data folder."""


def minion_info(minion: Minion, observed: ObservedMinion | None) -> MinionInfo:
    """Capacity from the inventory, else from what the minion's Docker reported; unobserved means unreachable."""
    reachable = observed is not None and observed.reachable
    return MinionInfo(
        name=minion.name,
        labels=minion.labels,
        cpu=minion.cpu or (observed.cpu if observed else 0),
        memory=minion.memory or (observed.memory if observed else 0),
        cordoned=minion.cordoned,
        reachable=reachable,
        allow_privileged=minion.allow_privileged,
        host_paths=minion.host_paths,
    )


@dataclass(frozen=True)
class PlacedPod:
    """A pod already on a minion (running, starting, or placed earlier in the run): it holds ports and resources."""

    name: str
    minion: str
    labels: dict[str, str] = field(default_factory=dict)
    host_ports: tuple[HostPort, ...] = ()
    cpu: int = 0
    memory: int = 0
    controller: str = ""

    @classmethod
    def of(cls, pod: Pod, minion: str) -> PlacedPod:
        spec = pod.spec
        return cls(pod.name, minion, pod.labels, spec.host_ports, spec.cpu, spec.memory, pod.controller)

    @classmethod
    def observed(cls, pod: ObservedPod, desired: Pod | None = None) -> PlacedPod:
        """An observed pod; its requests come from ``desired``, else from the spec kept on its infra container."""
        host_ports = tuple((p.host_port, p.protocol) for p in pod.ports if p.host_port)
        infra = pod.infra
        cpu, memory = (
            (desired.spec.cpu, desired.spec.memory) if desired else read_requests(infra.labels if infra else {})
        )
        return cls(pod.name, pod.minion, pod.labels, host_ports, cpu, memory, pod.controller)


@dataclass(frozen=True)
class Schedule:
    placements: dict[str, str]
    """Pod name -> minion name, for every new pod that fits somewhere."""
    unschedulable: dict[str, str]
    """Pod name -> why it fits nowhere, e.g. "3 minions: 2 port 6379/TCP taken, 1 nodeSelector disk=ssd unmet"."""
    misfits: dict[str, Mapping[str, str]] = field(default_factory=dict)
    """Pod name -> minion name -> the reason that minion is no candidate, for every pod in ``unschedulable`` (what
    its summary counts; pods of one class share one mapping)."""


class Scheduler(Protocol):
    def __call__(
        self,
        pods: Sequence[Pod],
        minions: Sequence[MinionInfo],
        placed: Sequence[PlacedPod],
        spread_selectors: Sequence[Mapping[str, str]] = (),
    ) -> Schedule: ...


# --- the cluster as the scheduler sees it ----------------------------------------------------------------------


@dataclass(frozen=True)
class _PodClass:
    """What decides where a pod may go and how minions rank for it; replicas of one controller share one."""

    groups: tuple[SpreadGroup, ...]
    host_ports: frozenset[HostPort]
    node_selector: tuple[tuple[str, str], ...]
    cpu: int
    memory: int
    privileged: bool = False
    host_paths: tuple[str, ...] = ()


def consent_class(pod: Pod) -> _PodClass:
    """What the inventory's consent is asked about a pod: privileged containers and host paths."""
    spec = pod.spec
    return _PodClass(
        groups=(),
        host_ports=frozenset(),
        node_selector=(),
        cpu=0,
        memory=0,
        privileged=any(c.privileged for c in spec.containers),
        host_paths=tuple(sorted({v.host_path for v in spec.volumes if v.host_path})),
    )


class _SelectorIndex:
    """Finds the spread selectors a label set matches without trying every selector."""

    def __init__(self, selectors: Sequence[Mapping[str, str]]) -> None:
        self._by_item: dict[tuple[str, str], list[tuple[int, Mapping[str, str]]]] = defaultdict(list)
        for index, selector in enumerate(selectors):
            if selector:
                self._by_item[min(selector.items())].append((index, selector))

    def groups(self, labels: Mapping[str, str], controller: str) -> tuple[SpreadGroup, ...]:
        found: list[SpreadGroup] = [("controller", controller)] if controller else []
        for item in labels.items():
            for index, selector in self._by_item.get(item, ()):
                if all(labels.get(k) == v for k, v in selector.items()):
                    found.append(("selector", str(index)))
        return tuple(sorted(found))


class _Cluster:
    """Mutable bookkeeping for one scheduling call (what each minion has taken so far), and the predicates and
    priorities combined over it."""

    def __init__(
        self,
        minions: Sequence[MinionInfo],
        placed: Sequence[PlacedPod],
        spread_selectors: Sequence[Mapping[str, str]],
    ) -> None:
        self.minions = {m.name: m for m in sorted(minions, key=lambda m: m.name)}
        self.cpu_used: dict[str, int] = defaultdict(int)
        self.memory_used: dict[str, int] = defaultdict(int)
        self.pod_count: dict[str, int] = defaultdict(int)
        self.ports_taken: dict[str, set[HostPort]] = defaultdict(set)
        self.group_counts: dict[SpreadGroup, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.version: dict[str, int] = defaultdict(int)
        self.placements = 0
        self.selectors = _SelectorIndex(spread_selectors)
        self.placed_names = {p.name for p in placed}
        for p in placed:
            groups = self.selectors.groups(p.labels, p.controller)
            self.place(p.minion, groups, p.host_ports, p.cpu, p.memory)

    def pod_class(self, pod: Pod) -> _PodClass:
        spec = pod.spec
        return replace(
            consent_class(pod),
            groups=self.selectors.groups(pod.labels, pod.controller),
            host_ports=frozenset(spec.host_ports),
            node_selector=tuple(sorted(spec.node_selector.items())),
            cpu=spec.cpu,
            memory=spec.memory,
        )

    def place(
        self, minion: str, groups: Sequence[SpreadGroup], host_ports: Sequence[HostPort], cpu: int, memory: int
    ) -> None:
        self.cpu_used[minion] += cpu
        self.memory_used[minion] += memory
        self.pod_count[minion] += 1
        self.ports_taken[minion].update(host_ports)
        for group in groups:
            self.group_counts[group][minion] += 1
        self.version[minion] += 1
        self.placements += 1

    def place_pod(self, minion: str, cls: _PodClass) -> None:
        self.place(minion, cls.groups, tuple(cls.host_ports), cls.cpu, cls.memory)

    # the predicates and priorities combined

    def eligible(self, cls: _PodClass) -> list[MinionInfo]:
        """The minions, in name order, that pass the predicates that never change during a call."""
        minions = list(self.minions.values())
        for predicate in FIXED_PREDICATES:
            minions = [m for m in minions if predicate(cls, m, self) is None]
        return minions

    def fits(self, cls: _PodClass, minion: MinionInfo) -> bool:
        """Whether the minion passes the predicates that can only turn false during a call."""
        return all(predicate(cls, minion, self) is None for predicate in CHANGING_PREDICATES)

    def misfit(self, cls: _PodClass, minion: MinionInfo) -> str | None:
        """The reason of the first predicate the minion fails, in table order; None if it is a candidate."""
        for predicate in PREDICATES:
            reason = predicate(cls, minion, self)
            if reason is not None:
                return reason
        return None

    def misfits(self, cls: _PodClass) -> dict[str, str]:
        """Minion name -> the reason it is no candidate for a pod of the class, for each minion that is not."""
        found = ((m.name, self.misfit(cls, m)) for m in self.minions.values())
        return {name: reason for name, reason in found if reason is not None}

    def explain(self, cls: _PodClass) -> tuple[str, dict[str, str]]:
        """The reason a pod of the class fits nowhere, counted per minion, and each minion's reason."""
        if not self.minions:
            return "no minions", {}
        misfits = self.misfits(cls)
        return summarise_misfits(len(self.minions), misfits), misfits

    def rank(self, cls: _PodClass, minion: MinionInfo) -> _Rank:
        """Heap entry for a minion, the priorities in order: lower is better; the version tells whether it is
        still current."""
        name = minion.name
        return (
            spreading(cls, minion, self),
            least_requested(cls, minion, self),
            self.pod_count[name],
            name,
            self.version[name],
        )


# --- predicates: None if a pod of the class fits on the minion, else the short reason it does not --------------


def minion_reachable(pod: _PodClass, minion: MinionInfo, cluster: _Cluster) -> str | None:
    return None if minion.reachable else "unreachable"


def minion_not_cordoned(pod: _PodClass, minion: MinionInfo, cluster: _Cluster) -> str | None:
    return "cordoned" if minion.cordoned else None


def privileged_allowed(pod: _PodClass, minion: MinionInfo, cluster: _Cluster | None) -> str | None:
    if pod.privileged and not minion.allow_privileged:
        return "privileged containers not allowed (kubeplay_allow_privileged)"
    return None


def host_paths_allowed(pod: _PodClass, minion: MinionInfo, cluster: _Cluster | None) -> str | None:
    for path in pod.host_paths:
        refusal = host_path_refusal(path, minion.host_paths, minion.allow_privileged)
        if refusal:
            return refusal
    return None


def match_node_selector(pod: _PodClass, minion: MinionInfo, cluster: _Cluster) -> str | None:
    for key, value in pod.node_selector:
        if minion.labels.get(key) != value:
            return f"nodeSelector {key}={value} unmet"
    return None


def pod_fits_ports(pod: _PodClass, minion: MinionInfo, cluster: _Cluster) -> str | None:
    taken = cluster.ports_taken.get(minion.name)
    if not taken or taken.isdisjoint(pod.host_ports):
        return None
    port, protocol = min(pod.host_ports & taken)
    return f"port {port}/{protocol} taken"


def pod_fits_resources(pod: _PodClass, minion: MinionInfo, cluster: _Cluster) -> str | None:
    if pod.cpu and minion.cpu and cluster.cpu_used[minion.name] + pod.cpu > minion.cpu:
        return "insufficient cpu"
    if pod.memory and minion.memory and cluster.memory_used[minion.name] + pod.memory > minion.memory:
        return "insufficient memory"
    return None


Predicate = Callable[[_PodClass, MinionInfo, _Cluster], "str | None"]

FIXED_PREDICATES: tuple[Predicate, ...] = (
    minion_reachable,
    minion_not_cordoned,
    privileged_allowed,
    host_paths_allowed,
    match_node_selector,
)
"""The predicates that never change during a call: checked once per pod class and minion."""
CHANGING_PREDICATES: tuple[Predicate, ...] = (pod_fits_ports, pod_fits_resources)
"""The predicates that can only turn false during a call (ports get taken, requests grow): checked before each
placement."""
PREDICATES = FIXED_PREDICATES + CHANGING_PREDICATES
CONSENT_PREDICATES = (privileged_allowed, host_paths_allowed)
"""The predicates that ask the inventory's consent for what a pod does to a minion, whatever else is on it."""


def consent_refusal(pod: Pod, minion: MinionInfo) -> str | None:
    """Why the minion's inventory settings refuse the pod (privileged containers, host paths), or None: asked by
    the scheduler for new pods, by the planner before a pod is replaced where it is, and by validate."""
    cls = consent_class(pod)
    return next((r for predicate in CONSENT_PREDICATES if (r := predicate(cls, minion, None)) is not None), None)


"""Every predicate, in the order ``explain`` looks for the reason a minion is not a candidate."""


# --- priorities: how good the minion is for a pod of the class; lower is better ----------------------------------


def spreading(pod: _PodClass, minion: MinionInfo, cluster: _Cluster) -> int:
    """How many pods on the minion share a spread group with the pod."""
    count = 0
    for group in pod.groups:
        count += cluster.group_counts[group].get(minion.name, 0)
    return count


def least_requested(pod: _PodClass, minion: MinionInfo, cluster: _Cluster) -> float:
    """The mean fraction of the known capacities (cpu, memory) requested with the pod placed."""
    fractions = []
    if minion.cpu:
        fractions.append((cluster.cpu_used[minion.name] + pod.cpu) / minion.cpu)
    if minion.memory:
        fractions.append((cluster.memory_used[minion.name] + pod.memory) / minion.memory)
    return sum(fractions) / len(fractions) if fractions else 0.0


def summarise_misfits(minions: int, misfits: Mapping[str, str]) -> str:
    """Reasons per minion counted: "3 minions: 2 port 6379/TCP taken, 1 cordoned" (most frequent first)."""
    reasons = Counter(misfits.values())
    parts = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items(), key=_most_first))
    noun = "minion" if minions == 1 else "minions"
    return f"{minions} {noun}: {parts}"


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    reason, count = item
    return (-count, reason)


class _Explanations:
    """Caches the reason text (and each minion's reason) per class until the next placement changes the cluster."""

    def __init__(self, cluster: _Cluster) -> None:
        self._cluster = cluster
        self._cache: dict[_PodClass, tuple[int, tuple[str, dict[str, str]]]] = {}

    def __call__(self, cls: _PodClass) -> tuple[str, dict[str, str]]:
        cached = self._cache.get(cls)
        if cached and cached[0] == self._cluster.placements:
            return cached[1]
        explained = self._cluster.explain(cls)
        self._cache[cls] = (self._cluster.placements, explained)
        return explained


def _new_pods(pods: Sequence[Pod], cluster: _Cluster) -> list[Pod]:
    return sorted((p for p in pods if p.name not in cluster.placed_names), key=lambda p: p.name)


# --- the schedulers ---------------------------------------------------------------------------------------------


def schedule_default(
    pods: Sequence[Pod],
    minions: Sequence[MinionInfo],
    placed: Sequence[PlacedPod],
    spread_selectors: Sequence[Mapping[str, str]] = (),
) -> Schedule:
    """Spread first, then least requested, then fewest pods, then minion name (see the module docstring)."""
    return _schedule(pods, minions, placed, spread_selectors, _best_ranked)


def schedule_first_fit(
    pods: Sequence[Pod],
    minions: Sequence[MinionInfo],
    placed: Sequence[PlacedPod],
    spread_selectors: Sequence[Mapping[str, str]] = (),
) -> Schedule:
    """The first minion in name order that passes every predicate: packs pods tight, leaves minions free."""
    return _schedule(pods, minions, placed, spread_selectors, _first_fitting)


Chooser = Callable[[_PodClass], "MinionInfo | None"]
"""Picks the minion for the next pod of a class, or None when none is a candidate; sees every placement made."""


def _schedule(
    pods: Sequence[Pod],
    minions: Sequence[MinionInfo],
    placed: Sequence[PlacedPod],
    spread_selectors: Sequence[Mapping[str, str]],
    chooser: Callable[[_Cluster], Chooser],
) -> Schedule:
    """The new pods in name order, each placed where ``chooser`` says, or explained when it finds no minion."""
    if not pods:  # nothing to place (a no-op): the cluster's bookkeeping of 20,000 placed pods would go unread
        return Schedule({}, {}, {})
    cluster = _Cluster(minions, placed, spread_selectors)
    explain = _Explanations(cluster)
    choose = chooser(cluster)
    placements: dict[str, str] = {}
    unschedulable: dict[str, str] = {}
    misfits: dict[str, Mapping[str, str]] = {}
    for pod in _new_pods(pods, cluster):
        cls = cluster.pod_class(pod)
        minion = choose(cls)
        if minion is None:
            unschedulable[pod.name], misfits[pod.name] = explain(cls)
            continue
        cluster.place_pod(minion.name, cls)
        placements[pod.name] = minion.name
    return Schedule(placements, unschedulable, misfits)


def _best_ranked(cluster: _Cluster) -> Chooser:
    """The best ranked candidate, from a lazy heap per class (see the module docstring)."""
    heaps: dict[_PodClass, list[_Rank]] = {}

    def choose(cls: _PodClass) -> MinionInfo | None:
        heap = heaps.get(cls)
        if heap is None:
            heap = heaps[cls] = [cluster.rank(cls, m) for m in cluster.eligible(cls)]
            heapq.heapify(heap)
        return _best(cluster, cls, heap)

    return choose


def _best(cluster: _Cluster, cls: _PodClass, heap: list[_Rank]) -> MinionInfo | None:
    """The best minion that fits, left on top of the heap (placing a pod there makes its entry stale); the ones that
    no longer fit are dropped, the stale ones re-ranked."""
    while heap:
        entry = heap[0]
        minion = cluster.minions[entry[3]]
        if not cluster.fits(cls, minion):
            heapq.heappop(heap)
        elif entry[4] != cluster.version[minion.name]:
            heapq.heapreplace(heap, cluster.rank(cls, minion))
        else:
            return minion
    return None


def _first_fitting(cluster: _Cluster) -> Chooser:
    """The first candidate in name order; a class's cursor only moves on, as predicates only turn false."""
    in_order = list(cluster.minions.values())
    cursors: dict[_PodClass, int] = {}

    def choose(cls: _PodClass) -> MinionInfo | None:
        i = cursors.get(cls, 0)
        while i < len(in_order) and cluster.misfit(cls, in_order[i]) is not None:
            i += 1
        cursors[cls] = i
        return in_order[i] if i < len(in_order) else None

    return choose


SCHEDULERS: Mapping[str, Scheduler] = {"default": schedule_default, "first-fit": schedule_first_fit}


def get_scheduler(name: str) -> Scheduler:
    """The scheduler registered under ``name``; ValueError naming the known ones otherwise."""
    try:
        return SCHEDULERS[name]
    except KeyError:
        known = ", ".join(sorted(SCHEDULERS))
        raise ValueError(f"unknown scheduler {name!r}: choose one of {known}") from None
