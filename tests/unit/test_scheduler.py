"""The scheduler on in-memory clusters: predicates with their reasons, priorities, determinism, the registry."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import pytest

from kubeplay.dataclass import dataclass, field
from kubeplay.model import Container, Pod, PodSpec, Port, Source
from kubeplay.model import Protocol as PortProtocol
from kubeplay.planner.scheduler import (
    SCHEDULERS,
    MinionInfo,
    PlacedPod,
    get_scheduler,
    schedule_default,
    summarise_misfits,
)

SOURCE = Source("test.yaml")


def pod(
    name: str,
    *,
    ports: Sequence[int | tuple[int, PortProtocol]] = (),
    cpu: int = 0,
    memory: int = 0,
    node_selector: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    controller: str = "",
) -> Pod:
    published = tuple(
        Port(p, host_port=p) if isinstance(p, int) else Port(p[0], host_port=p[0], protocol=p[1]) for p in ports
    )
    container = Container(name="app", image="example/app", ports=published, cpu=cpu, memory=memory)
    spec = PodSpec(containers=(container,), node_selector=dict(node_selector or {}))
    return Pod(name, dict(labels or {"name": name}), spec, SOURCE, controller)


def minion(name: str, cpu: int = 0, memory: int = 0, **labels: str) -> MinionInfo:
    return MinionInfo(name, labels, cpu, memory)


def placed(name: str, on: str, *, ports: Sequence[int] = (), cpu: int = 0, memory: int = 0, **labels: str) -> PlacedPod:
    return PlacedPod(name, on, labels, tuple((p, "TCP") for p in ports), cpu, memory)


@dataclass(frozen=True)
class Case:
    id: str
    pods: list[Pod]
    minions: list[MinionInfo]
    placed: list[PlacedPod] = field(default_factory=list)
    placements: dict[str, str] = field(default_factory=dict)
    unschedulable: dict[str, str] = field(default_factory=dict)
    spread_selectors: list[dict[str, str]] = field(default_factory=list)


THREE = [minion("m1"), minion("m2"), minion("m3")]

PREDICATES = [
    Case(
        "port taken by a placed pod",
        [pod("redis", ports=[6379])],
        [minion("m1"), minion("m2")],
        [placed("old", "m1", ports=[6379])],
        placements={"redis": "m2"},
    ),
    Case(
        "port taken by a pod placed earlier in the same call",
        [pod("a", ports=[80]), pod("b", ports=[80])],
        [minion("m1")],
        placements={"a": "m1"},
        unschedulable={"b": "1 minion: 1 port 80/TCP taken"},
    ),
    Case(
        "same number, other protocol: no conflict",
        [pod("dns", ports=[(53, "UDP")])],
        [minion("m1")],
        [placed("web", "m1", ports=[53])],
        placements={"dns": "m1"},
    ),
    Case(
        "ports and nodeSelector counted per minion",
        [pod("redis", ports=[6379], node_selector={"disk": "ssd"})],
        [minion("m1", disk="ssd"), minion("m2", disk="ssd"), minion("m3", disk="hdd")],
        [placed("r1", "m1", ports=[6379]), placed("r2", "m2", ports=[6379])],
        unschedulable={"redis": "3 minions: 2 port 6379/TCP taken, 1 nodeSelector disk=ssd unmet"},
    ),
    Case(
        "nodeSelector met",
        [pod("db", node_selector={"disk": "ssd", "zone": "a"})],
        [minion("m1", disk="ssd", zone="b"), minion("m2", disk="ssd", zone="a"), minion("m3")],
        placements={"db": "m2"},
    ),
    Case(
        "cpu requests against capacity",
        [pod("big", cpu=300)],
        [minion("m1", cpu=1000), minion("m2", cpu=1000)],
        [placed("a", "m1", cpu=800), placed("b", "m2", cpu=701)],
        unschedulable={"big": "2 minions: 2 insufficient cpu"},
    ),
    Case(
        "cpu fits exactly",
        [pod("big", cpu=300)],
        [minion("m1", cpu=1000)],
        [placed("a", "m1", cpu=700)],
        placements={"big": "m1"},
    ),
    Case(
        "memory requests against capacity",
        [pod("big", memory=512), pod("small", memory=256)],
        [minion("m1", memory=1024)],
        [placed("a", "m1", memory=600)],
        placements={"small": "m1"},
        unschedulable={"big": "1 minion: 1 insufficient memory"},
    ),
    Case(
        "unknown capacity is no limit",
        [pod("big", cpu=64_000, memory=1 << 40)],
        [minion("m1")],
        placements={"big": "m1"},
    ),
    Case(
        "unreachable and cordoned minions excluded",
        [pod("web")],
        [MinionInfo("m1", {}, 0, 0, cordoned=True), MinionInfo("m2", {}, 0, 0, reachable=False)],
        unschedulable={"web": "2 minions: 1 cordoned, 1 unreachable"},
    ),
    Case("no minions at all", [pod("web")], [], unschedulable={"web": "no minions"}),
    Case(
        "only new pods are placed",
        [pod("old"), pod("new")],
        [minion("m1")],
        [placed("old", "m1")],
        placements={"new": "m1"},
    ),
]


@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
@pytest.mark.parametrize("case", PREDICATES, ids=lambda c: c.id)
def test_predicates_and_reasons(scheduler: str, case: Case) -> None:
    schedule = get_scheduler(scheduler)(case.pods, case.minions, case.placed, case.spread_selectors)
    assert (schedule.placements, schedule.unschedulable) == (case.placements, case.unschedulable)
    assert schedule.misfits.keys() == schedule.unschedulable.keys()
    for name, misfits in schedule.misfits.items():  # the summary counts exactly the reasons given per minion
        summary = summarise_misfits(len(case.minions), misfits) if misfits else "no minions"
        assert schedule.unschedulable[name] == summary


PRIORITIES = [
    Case(
        "least requested resources",
        [pod("web", cpu=100, memory=100)],
        [minion("m1", cpu=1000, memory=1000), minion("m2", cpu=1000, memory=1000)],
        [placed("a", "m1", cpu=500, memory=100), placed("b", "m2", cpu=100, memory=300)],
        placements={"web": "m2"},
    ),
    Case(
        "least requested as a fraction of capacity",
        [pod("web", cpu=100)],
        [minion("m1", cpu=1000), minion("m2", cpu=4000)],
        [placed("a", "m1", cpu=200), placed("b", "m2", cpu=400)],
        placements={"web": "m2"},
    ),
    Case(
        "ties go to the minion with fewer pods, then by name",
        [pod("a"), pod("b"), pod("c")],
        THREE,
        [placed("old", "m1")],
        placements={"a": "m2", "b": "m3", "c": "m1"},
    ),
    Case(
        "replicas of one controller spread before load is considered",
        [pod(f"rc-{i}", cpu=100, labels={"app": "x"}, controller="rc") for i in range(3)],
        [minion("m1", cpu=1000), minion("m2", cpu=1000), minion("m3", cpu=1000)],
        [placed("busy", "m3", cpu=800)],
        placements={"rc-0": "m1", "rc-1": "m2", "rc-2": "m3"},
    ),
    Case(
        "pods matching a service spread across minions",
        [pod("fe-3", labels={"app": "fe"})],
        [minion("m1"), minion("m2")],
        [placed("fe-1", "m1", app="fe"), placed("other", "m2", app="db"), placed("other2", "m2", app="db")],
        placements={"fe-3": "m2"},
        spread_selectors=[{"app": "fe"}],
    ),
    Case(
        "an empty service selector spreads nothing",
        [pod("fe-3", labels={"app": "fe"})],
        [minion("m1"), minion("m2")],
        [placed("fe-1", "m1", app="fe"), placed("other", "m2", app="db")],
        placements={"fe-3": "m1"},
        spread_selectors=[{}],
    ),
]


@pytest.mark.parametrize("case", PRIORITIES, ids=lambda c: c.id)
def test_default_priorities(case: Case) -> None:
    schedule = schedule_default(case.pods, case.minions, case.placed, case.spread_selectors)
    assert (schedule.placements, schedule.unschedulable) == (case.placements, case.unschedulable)


def test_first_fit_packs_onto_the_first_minion_that_fits() -> None:
    pods = [pod(f"p{i}", cpu=400) for i in range(5)]
    schedule = get_scheduler("first-fit")(pods, [minion("m1", cpu=1000), minion("m2", cpu=1000)], [])
    assert schedule.placements == {"p0": "m1", "p1": "m1", "p2": "m2", "p3": "m2"}
    assert schedule.unschedulable == {"p4": "2 minions: 2 insufficient cpu"}


@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
def test_same_input_in_any_order_gives_the_same_schedule(scheduler: str) -> None:
    cluster = _random_cluster(random.Random(7), pods=60, minions=8)
    pods, minions, already, selectors = cluster
    schedule = get_scheduler(scheduler)(pods, minions, already, selectors)
    shuffled = random.Random(1)
    for _ in range(3):
        pods2, minions2 = list(pods), list(minions)
        shuffled.shuffle(pods2)
        shuffled.shuffle(minions2)
        assert get_scheduler(scheduler)(pods2, minions2, already, selectors) == schedule


@pytest.mark.parametrize("seed", range(40))
def test_default_matches_a_plain_reference_implementation(seed: int) -> None:
    """The indexed scheduler places exactly as the rule written out naively over every minion for every pod."""
    pods, minions, already, selectors = _random_cluster(random.Random(seed), pods=40, minions=6)
    schedule = schedule_default(pods, minions, already, selectors)
    placements, unschedulable = _reference(pods, minions, already, selectors)
    assert schedule.placements == placements
    assert set(schedule.unschedulable) == unschedulable


def test_get_scheduler_rejects_unknown_names_listing_the_known_ones() -> None:
    assert get_scheduler("default") is schedule_default
    with pytest.raises(ValueError, match=r"'best'.*default, first-fit"):
        get_scheduler("best")


def test_placed_pod_of_a_desired_pod() -> None:
    p = pod("redis", ports=[6379], cpu=100, memory=64, controller="rc")
    assert PlacedPod.of(p, "m1") == PlacedPod("redis", "m1", {"name": "redis"}, ((6379, "TCP"),), 100, 64, "rc")


# --- a random cluster and the rule written plainly --------------------------------------------------------------

Cluster = tuple[list[Pod], list[MinionInfo], list[PlacedPod], list[dict[str, str]]]


def _random_cluster(rng: random.Random, pods: int, minions: int) -> Cluster:
    infos = [
        MinionInfo(
            f"m{i}",
            {"disk": rng.choice(("ssd", "hdd"))},
            rng.choice((0, 1000, 2000)),
            rng.choice((0, 1000, 4000)),
            cordoned=rng.random() < 0.1,
            reachable=rng.random() > 0.1,
        )
        for i in range(minions)
    ]
    already = [
        PlacedPod(f"old{i}", rng.choice(infos).name, {"app": rng.choice("abc")}, ((rng.choice((80, 81)), "TCP"),), 100)
        for i in range(minions)
    ]
    new = []
    for i in range(pods):
        group = rng.choice("abcd")
        new.append(
            pod(
                f"p{i:03d}{group}",
                ports=[80] if group == "a" else [],
                cpu=rng.choice((0, 100, 300)),
                memory=rng.choice((0, 200)),
                node_selector={"disk": "ssd"} if group == "b" else {},
                labels={"app": group},
                controller=group if group in "ab" else "",
            )
        )
    return new, infos, already, [{"app": "c"}, {"app": "a"}]


def _reference(
    pods: Sequence[Pod], minions: Sequence[MinionInfo], placed: Sequence[PlacedPod], selectors: list[dict[str, str]]
) -> tuple[dict[str, str], set[str]]:
    on: list[PlacedPod] = list(placed)
    placements: dict[str, str] = {}
    unschedulable: set[str] = set()
    for p in sorted(pods, key=lambda p: p.name):
        candidates = [m for m in minions if _fits(p, m, on)]
        if not candidates:
            unschedulable.add(p.name)
            continue
        best = min(candidates, key=lambda m: _rank(p, m, on, selectors))
        placements[p.name] = best.name
        on.append(PlacedPod.of(p, best.name))
    return placements, unschedulable


def _fits(p: Pod, m: MinionInfo, on: list[PlacedPod]) -> bool:
    here = [q for q in on if q.minion == m.name]
    taken = {hp for q in here for hp in q.host_ports}
    cpu, memory = sum(q.cpu for q in here), sum(q.memory for q in here)
    return (
        m.reachable
        and not m.cordoned
        and all(m.labels.get(k) == v for k, v in p.spec.node_selector.items())
        and not taken & set(p.spec.host_ports)
        and not (p.spec.cpu and m.cpu and cpu + p.spec.cpu > m.cpu)
        and not (p.spec.memory and m.memory and memory + p.spec.memory > m.memory)
    )


def _rank(p: Pod, m: MinionInfo, on: list[PlacedPod], selectors: list[dict[str, str]]) -> tuple[int, float, int, str]:
    here = [q for q in on if q.minion == m.name]
    groups = [s for s in selectors if s and all(p.labels.get(k) == v for k, v in s.items())]
    spread = sum(1 for q in here if p.controller and q.controller == p.controller)
    spread += sum(1 for s in groups for q in here if all(q.labels.get(k) == v for k, v in s.items()))
    fractions = []
    if m.cpu:
        fractions.append((sum(q.cpu for q in here) + p.spec.cpu) / m.cpu)
    if m.memory:
        fractions.append((sum(q.memory for q in here) + p.spec.memory) / m.memory)
    load = sum(fractions) / len(fractions) if fractions else 0.0
    return (spread, load, len(here), m.name)


@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
def test_privileged_pods_only_go_where_the_inventory_allows_them(scheduler: str) -> None:
    container = Container(name="app", image="example/app", privileged=True)
    privileged = Pod("priv", {"name": "priv"}, PodSpec(containers=(container,)), SOURCE)
    minions = [MinionInfo("a", {}, allow_privileged=False), MinionInfo("b", {}, allow_privileged=True)]
    assert get_scheduler(scheduler)([privileged], minions, []).placements == {"priv": "b"}
    nowhere = get_scheduler(scheduler)([privileged], minions[:1], [])
    why = "1 minion: 1 privileged containers not allowed (kubeplay_allow_privileged)"
    assert nowhere.unschedulable == {"priv": why}


@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
def test_each_minion_reason_is_reported_for_a_pod_that_fits_nowhere(scheduler: str) -> None:
    """Replicas placed earlier in the run take the host port; the one left over names each minion's reason."""
    replicas = [pod(f"web-{i}", ports=[8080], controller="web") for i in range(3)]
    minions = [minion("m1"), minion("m2"), MinionInfo("m3", cordoned=True)]
    schedule = get_scheduler(scheduler)(replicas, minions, [])
    assert len(schedule.placements) == 2
    (left,) = schedule.unschedulable
    assert schedule.misfits[left] == {"m1": "port 8080/TCP taken", "m2": "port 8080/TCP taken", "m3": "cordoned"}
    assert schedule.unschedulable[left] == "3 minions: 2 port 8080/TCP taken, 1 cordoned"
