"""Replication controller planning on in-memory clusters."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from kubeplay.dataclass import dataclass, field, replace
from kubeplay.errors import ManifestError
from kubeplay.model import (
    INFRA_CONTAINER,
    Container,
    Observed,
    ObservedContainer,
    ObservedMinion,
    Pod,
    PodSpec,
    PodTemplate,
    Port,
    ReplicationController,
    RestartPolicy,
    Source,
)
from kubeplay.planner.replicas import ReplicaPlan, plan_replicas, replica_suffix
from kubeplay.pods.spechash import pod_hash, spec_hash

REDIS = {"name": "redis"}
REDIS_SPEC = PodSpec((Container("redis", "dockerfile/redis", ports=(Port(6379, host_port=6379),)),))
NEW_SPEC = PodSpec((Container("redis", "redis:2.8", ports=(Port(6379, host_port=6379),)),))
RC_SOURCE = Source("redisController.json")


def controller(
    replicas: int = 1,
    *,
    name: str = "redisController",
    selector: dict[str, str] | None = None,
    spec: PodSpec = REDIS_SPEC,
    restart_policy: RestartPolicy = "always",
    source: Source = RC_SOURCE,
) -> ReplicationController:
    template = PodTemplate(dict(REDIS), replace(spec, restart_policy=restart_policy))
    return ReplicationController(
        name, dict(REDIS), replicas, dict(REDIS if selector is None else selector), template, source
    )


def standalone(name: str = "redis", labels: dict[str, str] | None = None) -> Pod:
    return Pod(name, dict(REDIS if labels is None else labels), REDIS_SPEC, Source("redis.json"))


OLD = spec_hash(REDIS_SPEC, REDIS)
NEW = spec_hash(NEW_SPEC, REDIS)


@dataclass(frozen=True)
class Seen:
    """An observed pod, described briefly: its containers are built from this."""

    name: str
    minion: str = "m1"
    controller: str = "redisController"
    state: str = "running"
    created: str = "2014-10-01T00:00:00Z"
    spec_hash: str = OLD
    labels: dict[str, str] = field(default_factory=lambda: dict(REDIS))
    exit_code: int = 0

    def containers(self) -> tuple[ObservedContainer, ...]:
        def container(role: str, state: str) -> ObservedContainer:
            return ObservedContainer(
                id=f"{self.name}-{role}",
                name=f"kubeplay-{self.name}-{role}",
                pod=self.name,
                container=role,
                spec_hash=self.spec_hash,
                image="dockerfile/redis",
                state=state,
                exit_code=self.exit_code,
                created=self.created,
                controller=self.controller,
                pod_labels=self.labels,
            )

        return (container(INFRA_CONTAINER, "running"), container("redis", self.state))


def cluster(*pods: Seen, minions: Sequence[str] = ("m1", "m2", "m3"), unreachable: Sequence[str] = ()) -> Observed:
    observed = {}
    for name in [*minions, *unreachable]:
        containers = tuple(c for p in pods if p.minion == name for c in p.containers())
        reachable = name not in unreachable
        observed[name] = ObservedMinion(name, reachable, "" if reachable else "timed out", containers)
    return Observed(observed)


def names(plan: ReplicaPlan) -> dict[str, list[str]]:
    return {
        "create": [p.name for p in plan.create],
        "keep": [p.name for p in plan.keep],
        "remove": [r.pod.name for r in plan.remove],
    }


# --- counting ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountCase:
    id: str
    standalone: list[Pod]
    observed: Observed
    creates: int
    keep: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    replicas: int = 1


COUNTING = [
    CountCase("seed pair applied together: the standalone pod to be created counts", [standalone()], cluster(), 0),
    CountCase("seed pair, standalone pod running", [standalone()], cluster(Seen("redis", controller="")), 0),
    CountCase("controller alone creates its replica", [], cluster(), 1),
    CountCase(
        "standalone pod gone from the manifests does not count",
        [],
        cluster(Seen("redis", controller="")),
        1,
    ),
    CountCase(
        "replicas of a controller gone from the manifests do not count",
        [],
        cluster(Seen("oldController-bcdfg", controller="oldController")),
        1,
    ),
    CountCase(
        "pods not matching the selector do not count",
        [standalone("web", {"name": "web"})],
        cluster(Seen("web", controller="", labels={"name": "web"})),
        1,
    ),
    CountCase("a replica running counts", [], cluster(Seen("redisController-a")), 0, keep=["redisController-a"]),
    CountCase(
        "a replica whose container exited under restartPolicy always counts (the pod planner restarts it)",
        [],
        cluster(Seen("redisController-a", state="exited", exit_code=1)),
        0,
        keep=["redisController-a"],
    ),
    CountCase(
        "a starting replica counts",
        [],
        cluster(Seen("redisController-a", state="created")),
        0,
        keep=["redisController-a"],
    ),
    CountCase(
        "scale up from one to three",
        [],
        cluster(Seen("redisController-a")),
        2,
        keep=["redisController-a"],
        replicas=3,
    ),
    CountCase(
        "standalone pods count but are never removed",
        [standalone("redis"), standalone("redis2")],
        cluster(Seen("redis", controller=""), Seen("redisController-a", minion="m2")),
        0,
        remove=["redisController-a"],
    ),
    CountCase(
        "scale to zero",
        [],
        cluster(Seen("redisController-a"), Seen("redisController-b", minion="m2")),
        0,
        remove=["redisController-a", "redisController-b"],
        replicas=0,
    ),
    CountCase(
        "own replica whose labels no longer match is removed",
        [],
        cluster(Seen("redisController-a", labels={"name": "old"})),
        1,
        remove=["redisController-a"],
    ),
]


@pytest.mark.parametrize("case", COUNTING, ids=lambda c: c.id)
def test_counting(case: CountCase) -> None:
    plan = plan_replicas([controller(case.replicas)], case.standalone, case.observed)
    assert len(plan.create) == case.creates
    assert [p.name for p in plan.keep] == case.keep
    assert sorted(r.pod.name for r in plan.remove) == case.remove


@pytest.mark.parametrize(
    ("policy", "exit_code", "counted"),
    [("never", 0, False), ("never", 1, False), ("onFailure", 0, False), ("onFailure", 1, True), ("always", 0, True)],
)
def test_terminated_for_good_is_replaced(policy: RestartPolicy, exit_code: int, counted: bool) -> None:
    rc = controller(restart_policy=policy)
    dead = Seen("redisController-a", state="exited", exit_code=exit_code, spec_hash=pod_hash(rc.replica("x")))
    plan = plan_replicas([rc], [], cluster(dead))
    if counted:
        assert names(plan) == {"create": [], "keep": ["redisController-a"], "remove": []}
    else:
        assert len(plan.create) == 1
        assert [(r.pod.name, r.reason) for r in plan.remove] == [
            ("redisController-a", f"terminated under restartPolicy {policy}: replaced")
        ]


def test_new_replicas_are_built_from_the_template() -> None:
    rc = controller(2)
    plan = plan_replicas([rc], [], cluster())
    first = plan.create[0]
    assert first.name == f"redisController-{replica_suffix('redisController', 0)}"
    assert (first.controller, first.source, first.labels, first.spec) == (
        "redisController",
        RC_SOURCE,
        REDIS,
        REDIS_SPEC,
    )
    assert pod_hash(first) == OLD
    assert plan.notes == ("redisController: 0 live, 2 desired: creating 2",)


def test_replica_names_are_stable_unique_and_avoid_taken_names() -> None:
    taken = f"redisController-{replica_suffix('redisController', 0)}"
    observed = cluster(Seen(taken, labels={"name": "other"}, controller=""))
    first = plan_replicas([controller(3)], [], observed)
    again = plan_replicas([controller(3)], [], observed)
    created = [p.name for p in first.create]
    assert created == [p.name for p in again.create]
    assert len(set(created)) == 3
    assert taken not in created
    assert all(len(n) == len("redisController-") + 5 for n in created)


def test_replacement_names_differ_while_a_minion_is_unreachable() -> None:
    normal = plan_replicas([controller(1)], [], cluster())
    outage = plan_replicas([controller(1)], [], cluster(unreachable=["m2"]))
    assert normal.create[0].name != outage.create[0].name


# --- scale down order -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleDownCase:
    id: str
    pods: list[Seen]
    replicas: int
    removed: list[str]
    reasons: list[str]


SCALE_DOWN = [
    ScaleDownCase(
        "not running first",
        [Seen("a", minion="m1"), Seen("b", minion="m1", state="exited", exit_code=1), Seen("c", minion="m2")],
        2,
        ["b"],
        ["scale down to 2 (3 live): not running"],
    ),
    ScaleDownCase(
        "then the minion with the most replicas",
        [Seen("a", minion="m1"), Seen("b", minion="m2", created="2014-10-02"), Seen("c", minion="m1")],
        2,
        ["c"],
        ["scale down to 2 (3 live): 2 replicas on m1"],
    ),
    ScaleDownCase(
        "then the newest",
        [Seen("a", created="2014-10-01"), Seen("b", minion="m2", created="2014-10-03"), Seen("c", minion="m3")],
        2,
        ["b"],
        ["scale down to 2 (3 live): newest (created 2014-10-03)"],
    ),
    ScaleDownCase(
        "counts per minion update as pods go",
        [Seen(f"p{i}", minion="m1", created=f"2014-10-0{i + 1}") for i in range(3)]
        + [Seen("q0", minion="m2", created="2014-10-09"), Seen("q1", minion="m2", created="2014-10-08")],
        2,
        ["p2", "q0", "p1"],
        [
            "scale down to 2 (5 live): 3 replicas on m1",
            "scale down to 2 (5 live): newest (created 2014-10-09)",
            "scale down to 2 (5 live): 2 replicas on m1",
        ],
    ),
]


@pytest.mark.parametrize("case", SCALE_DOWN, ids=lambda c: c.id)
def test_scale_down_order(case: ScaleDownCase) -> None:
    plan = plan_replicas([controller(case.replicas)], [], cluster(*case.pods))
    assert [r.pod.name for r in plan.remove] == case.removed
    assert [r.reason for r in plan.remove] == case.reasons
    assert not plan.create


# --- unreachable minions ----------------------------------------------------------------------------------------


def test_pods_on_an_unreachable_minion_are_unknown_so_replacements_are_created() -> None:
    observed = cluster(Seen("redisController-a", minion="m1"), minions=["m1", "m3"], unreachable=["m2"])
    plan = plan_replicas([controller(3)], [], observed)
    assert len(plan.create) == 2
    assert not plan.remove
    assert plan.notes == (
        "redisController: 1 live, 3 desired: creating 2 "
        "(pods on unreachable m2 unknown: not counted, replaced here, trimmed when back)",
    )


def test_replicas_seen_on_an_unreachable_minion_are_named_never_removed() -> None:
    minions = {
        "m1": ObservedMinion("m1", True),
        "m2": ObservedMinion("m2", False, "timed out", Seen("redisController-b", minion="m2").containers()),
    }
    plan = plan_replicas([controller(1)], [], Observed(minions))
    assert names(plan)["remove"] == []
    assert len(plan.create) == 1
    assert "1 replica(s) on unreachable m2 unknown" in plan.notes[0]
    assert plan.create[0].name != "redisController-b"


def test_surplus_is_trimmed_to_the_exact_count_when_the_minion_is_back() -> None:
    back = cluster(
        Seen("a", minion="m2", created="2014-10-01"),
        Seen("b", minion="m2", created="2014-10-01"),
        Seen("c", minion="m1", created="2014-10-05"),
        Seen("d", minion="m3", created="2014-10-05"),
    )
    plan = plan_replicas([controller(3)], [], back)
    assert names(plan) == {"create": [], "keep": ["c", "a", "d"], "remove": ["b"]}


# --- controllers that would count the same pod ----------------------------------------------------------------


def test_controllers_with_selectors_on_different_keys_live_side_by_side() -> None:
    seed = controller(name="redisController")
    web = controller(name="web", selector={"app": "web"})
    web = replace(web, template=PodTemplate({"app": "web"}, REDIS_SPEC))
    plan = plan_replicas([seed, web], [], cluster())
    assert sorted(p.controller for p in plan.create) == ["redisController", "web"]


def test_a_pod_on_the_cluster_both_selectors_match_is_an_error_naming_both() -> None:
    seed = controller(name="redisController")
    web = controller(name="web", selector={"app": "web"})
    web = replace(web, template=PodTemplate({"app": "web"}, REDIS_SPEC))
    both = Seen("stray", minion="m2", controller="", labels={"name": "redis", "app": "web"})
    with pytest.raises(ManifestError) as error:
        plan_replicas([seed, web], [], cluster(both))
    assert str(error.value) == (
        "redisController.json: ReplicationController redisController: pod stray on m2 (labels app=web,name=redis) "
        "is matched by the selectors of ReplicationController redisController and ReplicationController web: "
        "each would count it; change a selector, or relabel or delete that pod"
    )


def test_max_unavailable_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_unavailable"):
        plan_replicas([controller()], [], cluster(), max_unavailable=0)


# --- rolling update ---------------------------------------------------------------------------------------------


def test_a_changed_template_rolls_out_one_step_per_old_replica() -> None:
    old = [Seen(f"redisController-{c}", minion=f"m{i + 1}") for i, c in enumerate("abc")]
    plan = plan_replicas([controller(3, spec=NEW_SPEC)], [], cluster(*old))
    assert names(plan) == {"create": [], "keep": [], "remove": []}
    assert [[p.name for p in s.remove] for s in plan.rollout] == [[p.name] for p in old[::-1]]
    assert all(len(s.create) == 1 and pod_hash(s.create[0]) == NEW for s in plan.rollout)
    assert len({s.create[0].name for s in plan.rollout}) == 3
    assert plan.rolling == {p.name for p in old}
    assert plan.notes == (
        "redisController: template changed: 0 of 3 replicas up to date, rolling out 3 in 3 step(s), "
        "at most 1 unavailable",
    )


def test_rollout_steps_take_max_unavailable_at_a_time_not_running_first() -> None:
    old = [Seen("a"), Seen("b", minion="m2"), Seen("c", minion="m3", state="exited", exit_code=1)]
    new = Seen("d", minion="m1", spec_hash=NEW)
    plan = plan_replicas([controller(4, spec=NEW_SPEC)], [], cluster(*old, new), max_unavailable=2)
    assert [p.name for p in plan.keep] == ["d"]
    assert [([p.name for p in s.remove], len(s.create)) for s in plan.rollout] == [(["c", "a"], 2), (["b"], 1)]


def test_scale_down_during_a_rollout_removes_old_replicas_first() -> None:
    old = [Seen("a", created="2014-10-01"), Seen("b", minion="m2", created="2014-10-01")]
    new = Seen("c", minion="m3", created="2014-10-09", spec_hash=NEW)
    plan = plan_replicas([controller(2, spec=NEW_SPEC)], [], cluster(*old, new))
    assert [(r.pod.name, r.reason) for r in plan.remove] == [("b", "scale down to 2 (3 live): older template")]
    assert [p.name for p in plan.keep] == ["c"]
    assert [[p.name for p in s.remove] for s in plan.rollout] == [["a"]]


def test_notes_say_which_pods_are_counted_but_not_owned() -> None:
    seed = plan_replicas([controller(1)], [standalone()], cluster())
    assert seed.notes == ("redisController: counts 1 pod(s) it does not own: redis",)
    crowded = cluster(Seen("redis", controller=""), Seen("redis2", controller=""), Seen("redisController-a"))
    plan = plan_replicas([controller(1)], [standalone("redis"), standalone("redis2")], crowded)
    assert [r.pod.name for r in plan.remove] == ["redisController-a"]
    assert "redisController: 3 live, 1 desired; 1 extra not its own, left alone" in plan.notes


def test_random_clusters_refuse_exactly_the_pods_two_selectors_match_and_keep_replicas_by_minion_and_name() -> None:
    """ManifestError exactly when a pod on a reachable minion is matched by two controllers' selectors; otherwise
    each controller (wanting more replicas than there are) keeps its matching replicas in (minion, name) order and
    removes, in that order, those its selector no longer matches (relabelled ones)."""
    rng = random.Random(11)

    def some_labels() -> dict[str, str]:
        return {k: rng.choice("ab") for k in rng.sample(["app", "tier", "env"], rng.randrange(1, 4))}

    for _ in range(300):
        rcs = [controller(9, name=f"rc{i}", selector=some_labels()) for i in range(rng.randrange(1, 4))]
        seen = [
            Seen(
                f"rc{c}-{n}",
                minion=rng.choice(["m1", "m2", "m3"]),
                controller=f"rc{c}",
                labels={**rcs[c].selector} if rng.random() < 0.7 else some_labels(),
            )
            for n in range(rng.randrange(6))
            for c in [rng.randrange(len(rcs))]
        ]
        observed = cluster(*seen, minions=("m1", "m2"), unreachable=("m3",))
        reachable = [s for s in seen if s.minion != "m3"]
        twice = any(sum(all(s.labels.get(k) == v for k, v in rc.selector.items()) for rc in rcs) > 1 for s in reachable)
        if twice:
            with pytest.raises(ManifestError):
                plan_replicas(rcs, [], observed)
            continue
        plan = plan_replicas(rcs, [], observed)
        by_place = sorted(reachable, key=lambda s: (s.minion, s.name))
        own_ok = [
            s.name
            for rc in rcs
            for s in by_place
            if s.controller == rc.name and rc.selector.items() <= s.labels.items()
        ]
        relabelled = [
            s.name
            for rc in rcs
            for s in by_place
            if s.controller == rc.name and not rc.selector.items() <= s.labels.items()
        ]
        assert [p.name for p in plan.keep] == own_ok
        assert [r.pod.name for r in plan.remove] == relabelled
