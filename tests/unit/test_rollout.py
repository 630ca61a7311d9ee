"""Placing rollout steps on in-memory clusters: create-first where the new pods fit, in place where only the old
pods' room fits them, stopped at the first step that fits nowhere."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kubeplay.dataclass import dataclass, field, replace
from kubeplay.model import Container, Desired, ObservedPod, Pod, PodSpec, PodTemplate, Port, Source
from kubeplay.planner.pods import Options, Plan, plan_pods
from kubeplay.planner.replicas import RolloutStep
from kubeplay.planner.rollout import PlacedStep, place_rollout
from kubeplay.planner.scheduler import HostPort, MinionInfo, PlacedPod, get_scheduler, schedule_default
from tests.unit.builders import REDIS_IMAGE, REDIS_PORT, Seen, cluster, inventory, pod, redis_controller

SOURCE = Source("test.yaml")


def new_pod(name: str, *, host_port: int = 0, node_selector: dict[str, str] | None = None) -> Pod:
    ports = (Port(6379, host_port=host_port),) if host_port else ()
    spec = PodSpec((Container("redis", "dockerfile/redis", ports=ports),), node_selector=node_selector or {})
    return Pod(name, {"app": "cache"}, spec, SOURCE, "cache")


def old_pod(name: str, minion: str, *, host_port: int = 0) -> PlacedPod:
    ports: tuple[HostPort, ...] = ((host_port, "TCP"),) if host_port else ()
    return PlacedPod(name, minion, {"app": "cache"}, ports, controller="cache")


def steps(pairs: Sequence[tuple[Sequence[Pod], Sequence[PlacedPod]]]) -> list[RolloutStep]:
    return [
        RolloutStep("cache", tuple(create), tuple(ObservedPod(o.name, o.minion, ()) for o in remove))
        for create, remove in pairs
    ]


def minions(*names: str, **labels: str) -> list[MinionInfo]:
    return [MinionInfo(n, dict(labels)) for n in names]


@dataclass(frozen=True)
class Case:
    id: str
    minions: list[MinionInfo]
    old: list[PlacedPod]
    steps: list[tuple[list[Pod], list[PlacedPod]]]
    placements: dict[str, str]
    in_place: set[int] = field(default_factory=set)
    unschedulable: dict[str, str] = field(default_factory=dict)


OLD = [old_pod("a", "m1"), old_pod("b", "m2"), old_pod("c", "m3")]
OLD_PORT = [old_pod("a", "m1", host_port=6379), old_pod("b", "m2", host_port=6379), old_pod("c", "m3", host_port=6379)]

CASES = [
    Case(
        "room everywhere: every step creates first, each new pod where its old one leaves: still spread",
        minions("m1", "m2", "m3"),
        OLD,
        [([new_pod("x")], [OLD[0]]), ([new_pod("y")], [OLD[2]]), ([new_pod("z")], [OLD[1]])],
        placements={"x": "m1", "y": "m3", "z": "m2"},
    ),
    Case(
        "a host port on every minion: every step in place, on its old pod's minion",
        minions("m1", "m2", "m3"),
        OLD_PORT,
        [
            ([new_pod("x", host_port=6379)], [OLD_PORT[2]]),
            ([new_pod("y", host_port=6379)], [OLD_PORT[0]]),
            ([new_pod("z", host_port=6379)], [OLD_PORT[1]]),
        ],
        placements={"x": "m3", "y": "m1", "z": "m2"},
        in_place={0, 1, 2},
    ),
    Case(
        "one free minion: create first there, then on the minion each old pod left",
        minions("m1", "m2", "m3", "m4"),
        OLD_PORT,
        [([new_pod("x", host_port=6379)], [OLD_PORT[0]]), ([new_pod("y", host_port=6379)], [OLD_PORT[1]])],
        placements={"x": "m4", "y": "m1"},
    ),
    Case(
        "two at a time in place",
        minions("m1", "m2", "m3"),
        OLD_PORT,
        [
            ([new_pod("x", host_port=6379), new_pod("y", host_port=6379)], OLD_PORT[:2]),
            ([new_pod("z", host_port=6379)], OLD_PORT[2:]),
        ],
        placements={"x": "m1", "y": "m2", "z": "m3"},
        in_place={0, 1},
    ),
    Case(
        "fits nowhere even in place: unschedulable, the later steps are not placed",
        minions("m1", "m2", "m3"),
        OLD,
        [([new_pod("x", node_selector={"disk": "ssd"})], [OLD[0]]), ([new_pod("y")], [OLD[1]])],
        placements={},
        unschedulable={"x": "3 minions: 3 nodeSelector disk=ssd unmet"},
    ),
]


def placements(placed: Sequence[PlacedStep]) -> dict[str, str]:
    """New pod name -> minion, for the new pods that were placed."""
    return {pod.name: minion for step in placed for pod, minion in step.create if minion}


def in_place(placed: Sequence[PlacedStep]) -> frozenset[int]:
    """Indices of the steps run remove-first."""
    return frozenset(i for i, step in enumerate(placed) if step.in_place)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_place_rollout(case: Case) -> None:
    planned = steps(case.steps)
    placement = place_rollout(planned, schedule_default, case.minions, case.old)
    assert placements(placement.steps) == case.placements
    assert in_place(placement.steps) == frozenset(case.in_place)
    assert placement.unschedulable == case.unschedulable
    assert [(s.controller, [p for p, _ in s.create], s.remove) for s in placement.steps] == [
        (s.controller, list(s.create), s.remove) for s in planned
    ]


def test_other_pods_keep_their_ports() -> None:
    other = PlacedPod("other", "m2", {}, ((6379, "TCP"),))
    old = old_pod("a", "m1", host_port=6379)
    placement = place_rollout(
        steps([([new_pod("x", host_port=6379)], [old])]), schedule_default, minions("m1", "m2"), [old, other]
    )
    assert (placements(placement.steps), in_place(placement.steps)) == ({"x": "m1"}, frozenset({0}))


# --- through the planner ----------------------------------------------------------------------------------------


def _rollout_plan(image: str = REDIS_IMAGE) -> Plan:
    """Two replicas of an older template, on both minions, with the seed's host port 6379."""
    rc = redis_controller(2)
    template = PodTemplate(dict(rc.template.labels), PodSpec((Container("redis", image, ports=(REDIS_PORT,)),)))
    rc = replace(rc, template=template)
    old = [Seen(pod(name, controller=rc.name), on, spec_hash="older") for name, on in (("a", "m1"), ("b", "m2"))]
    desired = Desired(controllers=(rc,))
    return plan_pods(desired, cluster(*old), inventory("m1", "m2"), Options(scheduler=get_scheduler("default")))


def test_a_rollout_with_a_host_port_on_every_minion_is_planned_in_place() -> None:
    the_plan = _rollout_plan()
    assert the_plan.unschedulable == {}
    assert in_place(the_plan.rollout) == frozenset({0, 1})
    for step in the_plan.rollout:
        assert [minion for _, minion in step.create] == [o.minion for o in step.remove]


def test_a_rollout_pulls_the_new_image_where_its_pods_go() -> None:
    the_plan = _rollout_plan("dockerfile/redis:v2")
    pulls = [(a.minion, a.image) for a in the_plan.actions if a.verb == "pull"]
    assert pulls == [("m1", "dockerfile/redis:v2"), ("m2", "dockerfile/redis:v2")]


def test_a_rollout_leaves_the_minions_outside_the_limit_alone() -> None:
    rc = redis_controller(2)
    template = PodTemplate(dict(rc.template.labels), PodSpec((Container("redis", "dockerfile/redis:v2"),)))
    rc = replace(rc, template=template)
    old = [Seen(pod(name, controller=rc.name), on, spec_hash="older") for name, on in (("a", "m1"), ("b", "m2"))]
    options = Options(scheduler=get_scheduler("default"), limit=frozenset({"m1"}))
    the_plan = plan_pods(Desired(controllers=(rc,)), cluster(*old), inventory("m1", "m2"), options)
    assert [[o.name for o in step.remove] for step in the_plan.rollout] == [["a"]]
    assert {a.minion for a in the_plan.actions} == {"m1"}
