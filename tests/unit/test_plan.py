"""The planner on in-memory clusters: one table of (desired, observed) -> actions with their reasons.

Each action is written as "minion verb subject: reason", in the order the plan gives them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from kubeplay.dataclass import dataclass, field, replace
from kubeplay.model import (
    INFRA_CONTAINER,
    Container,
    Desired,
    Inventory,
    Observed,
    Pod,
    Port,
    PullPolicy,
    RestartPolicy,
)
from kubeplay.planner.pods import Action, Options, Plan, plan_pods
from kubeplay.planner.scheduler import get_scheduler
from kubeplay.pods.infra import INFRA_IMAGE
from tests.unit.builders import IMAGES, REDIS_IMAGE, Seen, cluster, inventory, pod, redis_controller

REDIS = pod()
WEB = pod("web", Container("web", "nginx", ports=(Port(80, host_port=8080),)), labels={"name": "web"})
OLD_REPLICA = pod("oldController-bcdfg", labels={"name": "old"}, controller="oldController")
REDIS_RC = redis_controller()
PAUSE = "gcr.io/google_containers/pause:0.8.0"
PROBE_FAILED = "redis: httpGet http://172.17.0.2:6379/healthz: status 500"


def policy(restart_policy: RestartPolicy) -> Pod:
    return replace(REDIS, spec=replace(REDIS.spec, restart_policy=restart_policy))


def pulling(name: str, image: str, pull_policy: PullPolicy) -> Pod:
    return pod(name, Container("app", image, image_pull_policy=pull_policy), labels={"name": name})


def line(action: Action) -> str:
    return f"{action.minion} {action.verb} {action.subject}: {action.reason}"


@dataclass(frozen=True)
class Case:
    id: str
    desired: Desired
    observed: Observed
    actions: list[str]
    inventory: Inventory = field(default_factory=inventory)
    limit: frozenset[str] | None = None
    probe_failures: Mapping[tuple[str, str], str] = field(default_factory=dict)
    converged: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


CASES = [
    # --- one pod through its life -------------------------------------------------------------------------------
    Case(
        "new pod is scheduled and created", Desired((REDIS,)), cluster(), ["m1 create redis: new pod, scheduled on m1"]
    ),
    Case("converged pod: nothing to do", Desired((REDIS,)), cluster(Seen(REDIS)), [], converged={"m1": 1}),
    Case(
        "spec changed: replaced where it runs",
        Desired((REDIS,)),
        cluster(Seen(REDIS, minion="m2", spec_hash="0123456789abcdef")),
        ["m2 replace redis: spec changed"],
    ),
    Case(
        "app container removed by hand",
        Desired((REDIS,)),
        cluster(Seen(REDIS, missing=("redis",))),
        ["m1 replace redis: container redis missing"],
    ),
    Case(
        "infra container removed by hand",
        Desired((REDIS,)),
        cluster(Seen(REDIS, missing=(INFRA_CONTAINER,))),
        ["m1 replace redis: infra container missing"],
    ),
    Case(
        "infra container died under a running app",
        Desired((REDIS,)),
        cluster(Seen(REDIS, infra_state="exited")),
        ["m1 replace redis: infra container died"],
    ),
    Case(
        "liveness probe failed",
        Desired((REDIS,)),
        cluster(Seen(REDIS)),
        [f"m1 replace redis: liveness probe failed: {PROBE_FAILED}"],
        probe_failures={("m1", "redis"): PROBE_FAILED},
    ),
    Case(
        "a probe failure on another minion's pod of that name changes nothing here",
        Desired((REDIS,)),
        cluster(Seen(REDIS)),
        [],
        probe_failures={("m2", "redis"): PROBE_FAILED},
        converged={"m1": 1},
    ),
    # --- restart policies ---------------------------------------------------------------------------------------
    Case(
        "exited under restartPolicy always: started",
        Desired((REDIS,)),
        cluster(Seen(REDIS, state="exited", exit_code=0)),
        ["m1 start redis: restartPolicy always"],
    ),
    Case(
        "failed under restartPolicy onFailure: started",
        Desired((policy("onFailure"),)),
        cluster(Seen(policy("onFailure"), state="exited", exit_code=1)),
        ["m1 start redis: restartPolicy onFailure"],
    ),
    Case(
        "succeeded under restartPolicy onFailure: left alone",
        Desired((policy("onFailure"),)),
        cluster(Seen(policy("onFailure"), state="exited", exit_code=0)),
        [],
        converged={"m1": 1},
    ),
    Case(
        "failed under restartPolicy never: left alone",
        Desired((policy("never"),)),
        cluster(Seen(policy("never"), state="exited", exit_code=1)),
        [],
        converged={"m1": 1},
    ),
    # --- removal ------------------------------------------------------------------------------------------------
    Case("pod gone from the manifests", Desired(), cluster(Seen(REDIS)), ["m1 remove redis: not in the manifests"]),
    Case(
        "replica of a controller gone from the manifests",
        Desired(),
        cluster(Seen(OLD_REPLICA, minion="m2")),
        ["m2 remove oldController-bcdfg: replication controller oldController is gone from the manifests"],
    ),
    Case(
        "duplicates: the oldest running copy stays",
        Desired((REDIS,)),
        cluster(Seen(REDIS, created="2014-10-02T00:00:00+00:00"), Seen(REDIS, minion="m2")),
        ["m1 remove redis: duplicate of redis on m2"],
        converged={"m2": 1},
    ),
    Case(
        "duplicates: a running copy beats an older stopped one",
        Desired((REDIS,)),
        cluster(
            Seen(REDIS, state="exited", exit_code=1), Seen(REDIS, minion="m2", created="2014-10-05T00:00:00+00:00")
        ),
        ["m1 remove redis: duplicate of redis on m2"],
        converged={"m2": 1},
    ),
    # --- unreachable minions ------------------------------------------------------------------------------------
    Case(
        "pods on an unreachable minion are never removed",
        Desired(),
        cluster(Seen(REDIS, minion="m2"), minions=["m1"], unreachable=["m2"]),
        [],
    ),
    Case(
        "a standalone pod that may be on an unreachable minion is created here, with a note",
        Desired((REDIS,)),
        cluster(Seen(REDIS, minion="m2"), minions=["m1"], unreachable=["m2"]),
        ["m1 create redis: new pod, scheduled on m1"],
        notes=[
            "pod redis: not found on reachable minions; it may be on unreachable m2 "
            "(a duplicate is removed once that minion is back)"
        ],
    ),
    # --- --limit ------------------------------------------------------------------------------------------------
    Case(
        "--limit: only the limited minions are acted on and scheduled to",
        Desired((WEB,)),
        cluster(Seen(REDIS)),
        ["m2 pull nginx: image not present", "m2 create web: new pod, scheduled on m2"],
        limit=frozenset({"m2"}),
    ),
    Case(
        "--limit: a replace outside the limit is left for later",
        Desired((REDIS,)),
        cluster(Seen(REDIS, spec_hash="0123456789abcdef")),
        [],
        limit=frozenset({"m2"}),
    ),
    # --- images -------------------------------------------------------------------------------------------------
    Case(
        "PullAlways pulls even when the image is there",
        Desired((pulling("app", REDIS_IMAGE, "PullAlways"),)),
        cluster(),
        ["m1 pull dockerfile/redis: imagePullPolicy PullAlways", "m1 create app: new pod, scheduled on m1"],
    ),
    Case(
        "PullIfNotPresent: present under its :latest name, no pull",
        Desired((pulling("app", REDIS_IMAGE, "PullIfNotPresent"),)),
        cluster(),
        ["m1 create app: new pod, scheduled on m1"],
    ),
    Case(
        "PullIfNotPresent: missing, pulled before the create",
        Desired((pulling("app", "localhost:5000/app", "PullIfNotPresent"),)),
        cluster(),
        ["m1 pull localhost:5000/app: image not present", "m1 create app: new pod, scheduled on m1"],
    ),
    Case(
        "PullIfNotPresent: a registry image present under its full name",
        Desired((pulling("app", "localhost:5000/app", "PullIfNotPresent"),)),
        cluster(images={"m1": {*IMAGES, "localhost:5000/app:latest"}}),
        ["m1 create app: new pod, scheduled on m1"],
    ),
    Case(
        "PullNever with the image present: created",
        Desired((pulling("app", "redis:2.8", "PullNever"),)),
        cluster(images={"m1": {*IMAGES, "redis:2.8"}}),
        ["m1 create app: new pod, scheduled on m1"],
    ),
    Case(
        "PullNever with a Docker Hub name: Docker lists it without docker.io/library/",
        Desired((pulling("app", "docker.io/library/redis:2.8", "PullNever"),)),
        cluster(images={"m1": {*IMAGES, "redis:2.8"}}),
        ["m1 create app: new pod, scheduled on m1"],
    ),
    Case(
        "PullNever with the image missing: a failure, no create",
        Desired((pulling("app", "redis:2.8", "PullNever"),)),
        cluster(),
        [],
        failures=["m1 app: image redis:2.8 is not on m1, imagePullPolicy PullNever"],
    ),
    Case(
        "PullNever with the image missing on a bare minion: no provision or pull for a pod that is not created",
        Desired(
            (
                pod(
                    "app",
                    Container("a", "redis:2.8", image_pull_policy="PullNever"),
                    Container("b", "busybox:1", image_pull_policy="PullAlways"),
                    labels={"name": "app"},
                ),
            )
        ),
        cluster(minions=("m1",), images={"m1": set()}),
        [],
        failures=["m1 app: image redis:2.8 is not on m1, imagePullPolicy PullNever"],
    ),
    Case(
        "a new image in a changed spec is pulled before the replace",
        Desired((pulling("app", "redis:2.8", "PullIfNotPresent"),)),
        cluster(Seen(pulling("app", REDIS_IMAGE, "PullIfNotPresent"), minion="m2")),
        ["m2 pull redis:2.8: image not present", "m2 replace app: spec changed"],
    ),
    Case(
        "kubeplay's infra image is provisioned where it is missing",
        Desired((REDIS,)),
        cluster(images={"m1": {"dockerfile/redis:latest"}}),
        [
            f"m1 provision {INFRA_IMAGE}: kubeplay's infra image is not on the minion yet",
            "m1 create redis: new pod, scheduled on m1",
        ],
    ),
    Case(
        "an infra image named in the inventory is pulled where it is missing",
        Desired((REDIS,)),
        cluster(),
        [f"m1 pull {PAUSE}: infra image missing", "m1 create redis: new pod, scheduled on m1"],
        inventory=inventory("m1", "m2", infra_image=PAUSE),
    ),
    Case(
        "an infra image named in the inventory and present: no pull",
        Desired((REDIS,)),
        cluster(images={"m1": {*IMAGES, PAUSE}}),
        ["m1 create redis: new pod, scheduled on m1"],
        inventory=inventory("m1", "m2", infra_image=PAUSE),
    ),
    Case(
        "no image actions on a minion with nothing to create",
        Desired((REDIS,)),
        cluster(Seen(REDIS), images={"m1": set(), "m2": set()}),
        [],
        converged={"m1": 1},
    ),
    # --- the seed -----------------------------------------------------------------------------------------------
    Case(
        "seed pair on an empty cluster: the standalone pod is the controller's one replica",
        Desired((REDIS,), (REDIS_RC,)),
        cluster(),
        ["m1 create redis: new pod, scheduled on m1"],
    ),
    Case(
        "seed pair running: nothing to do",
        Desired((REDIS,), (REDIS_RC,)),
        cluster(Seen(REDIS)),
        [],
        converged={"m1": 1},
    ),
]


def run(case: Case) -> Plan:
    options = Options(scheduler=get_scheduler("default"), limit=case.limit, probe_failures=case.probe_failures)
    return plan_pods(case.desired, case.observed, case.inventory, options)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_plan(case: Case) -> None:
    result = run(case)
    assert [line(a) for a in result.actions] == case.actions
    assert result.converged == case.converged
    assert [f"{f.minion} {f.pod}: {f.reason}" for f in result.failures] == case.failures
    assert [n for n in result.notes if n.startswith("pod ")] == case.notes
    assert result.changes is bool(case.actions)


def test_actions_carry_the_pods_they_act_on() -> None:
    changed = cluster(Seen(REDIS, minion="m2", spec_hash="0123456789abcdef"))
    (replace_action,) = run(Case("", Desired((REDIS,)), changed, [])).actions
    assert replace_action.desired == REDIS
    assert replace_action.observed is not None
    assert replace_action.observed.minion == "m2"
    assert {c.container for c in replace_action.observed.containers} == {INFRA_CONTAINER, "redis"}


def test_start_brings_the_infra_container_back_first() -> None:
    observed = cluster(Seen(REDIS, state="exited", exit_code=137, infra_state="exited"))
    (start,) = run(Case("", Desired((REDIS,)), observed, [])).actions
    assert (start.verb, start.containers) == ("start", ("redis-POD@m1", "redis-redis@m1"))


def test_start_leaves_running_containers_alone() -> None:
    two = pod("pair", Container("a", REDIS_IMAGE), Container("b", REDIS_IMAGE), labels={"name": "pair"})
    seen = Seen(two)
    b_exited = tuple(replace(c, state="exited", exit_code=2) if c.container == "b" else c for c in seen.containers())
    observed = cluster()
    observed.minions["m1"] = replace(observed.minions["m1"], containers=b_exited)
    (start,) = run(Case("", Desired((two,)), observed, [])).actions
    assert start.containers == ("pair-b@m1",)


def test_unreachable_minions_are_reported_with_why() -> None:
    result = run(Case("", Desired(), cluster(minions=["m1"], unreachable=["m2"]), []))
    assert result.unreachable == {"m2": "timed out"}


def test_actions_run_per_minion_remove_provision_pull_replace_create_start() -> None:
    fresh = pulling("fresh", "redis:2.8", "PullAlways")
    stopped = pod("stopped", labels={"name": "stopped"}, restart_policy="always")
    stopped = replace(stopped, spec=replace(stopped.spec, containers=(Container("redis", REDIS_IMAGE),)))
    observed = cluster(
        Seen(WEB),
        Seen(REDIS, spec_hash="0123456789abcdef"),
        Seen(stopped, state="exited", exit_code=1),
        Seen(pod("zgone", labels={"name": "zgone"}), minion="m2"),
        minions=["m1", "m2"],
        images={"m1": {REDIS_IMAGE + ":latest", "nginx:latest"}},
    )
    result = run(Case("", Desired((REDIS, fresh, stopped)), observed, [], inventory=inventory("m1")))
    assert [(a.minion, a.verb, a.subject) for a in result.actions] == [
        ("m1", "remove", "web"),
        ("m1", "provision", INFRA_IMAGE),
        ("m1", "pull", "redis:2.8"),
        ("m1", "replace", "redis"),
        ("m1", "create", "fresh"),
        ("m1", "start", "stopped"),
        ("m2", "remove", "zgone"),
    ]


def test_a_pod_that_fits_nowhere_is_unschedulable_not_created() -> None:
    other = replace(REDIS, name="redis2")
    result = run(Case("", Desired((REDIS, other)), cluster(minions=["m1"]), [], inventory=inventory("m1")))
    assert [line(a) for a in result.actions] == ["m1 create redis: new pod, scheduled on m1"]
    assert list(result.unschedulable) == ["redis2"]
    assert "6379" in result.unschedulable["redis2"]


def test_a_controller_alone_creates_its_replica_with_a_reason() -> None:
    (create,) = run(Case("", Desired((), (REDIS_RC,)), cluster(), [])).actions
    assert create.verb == "create"
    assert create.pod.startswith("redisController-")
    assert create.reason == "replica of redisController, scheduled on m1"
    assert create.desired is not None and create.desired.controller == "redisController"
