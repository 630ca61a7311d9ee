"""What a killed run leaves, and how the next run repairs it (issue 9, item 4), through the in-memory Docker.

Each shape a kill can leave is planned on its own (half-made pods, never-started and dead containers, leftover
volumes), the executor's answer to a name that is already taken is checked, and then whole runs are killed
before each of their changes in turn: the run after must converge, with no failure and nothing left over.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeplay import reconcile
from kubeplay.connectors.base import ContainerConfig, MinionConnection
from kubeplay.dataclass import replace
from kubeplay.kubelet.execute import Environment, MinionExecutor
from kubeplay.kubelet.observe import observe_minion
from kubeplay.model import INFRA_CONTAINER, Container, Desired, Minion, Observed, Pod
from kubeplay.planner.pods import Action, Options, plan_pods
from kubeplay.planner.scheduler import get_scheduler
from kubeplay.pods.labels import LABEL_HASH, LABEL_POD, LABEL_PROJECT
from kubeplay.pods.spechash import spec_hash
from kubeplay.proxy import rules as proxy
from kubeplay.proxy.rules import Ruleset
from tests.unit.builders import REDIS_IMAGE, Seen, cluster, inventory, pod, redis_controller
from tests.unit.fakes import FakeConnection, FakeDocker, Fuse, Killed
from tests.unit.test_execute import WEB
from tests.unit.test_proxy import scenario
from tests.unit.test_reconcile import Screen

REDIS = pod()
PAIR = pod("pair", Container("a", REDIS_IMAGE), Container("b", REDIS_IMAGE), labels={"name": "pair"})
NEVER = replace(REDIS, spec=replace(REDIS.spec, restart_policy="never"))


def plan_lines(desired: Desired, observed: Observed) -> list[str]:
    plan = plan_pods(desired, observed, inventory(), Options(scheduler=get_scheduler("default")))
    return [f"{a.minion} {a.verb} {a.subject}: {a.reason}" for a in plan.actions]


def with_containers(seen: Seen, *changed: tuple[str, str]) -> Observed:
    """The cluster holding ``seen``, with some of its containers put in another state: (container, state)."""
    states = dict(changed)
    containers = tuple(replace(c, state=states.get(c.container, c.state)) for c in seen.containers())
    observed = cluster()
    observed.minions["m1"] = replace(observed.minions["m1"], containers=containers)
    return observed


# --- the planner: every shape a kill leaves ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desired", "observed", "reason"),
    [
        (REDIS, cluster(Seen(REDIS, missing=("redis",))), "container redis missing"),
        (REDIS, cluster(Seen(REDIS, missing=(INFRA_CONTAINER,))), "infra container missing"),
        (PAIR, cluster(Seen(PAIR, missing=("b",))), "container b missing"),
        (NEVER, with_containers(Seen(NEVER), ("redis", "created")), "container redis never started"),
        (REDIS, with_containers(Seen(REDIS), ("redis", "created")), "container redis never started"),
        (REDIS, with_containers(Seen(REDIS, infra_state="exited"), (INFRA_CONTAINER, "dead")), "container POD dead"),
        (REDIS, with_containers(Seen(REDIS), ("redis", "dead")), "container redis dead"),
    ],
    ids=[
        "infra without its app",
        "app without its infra",
        "one of two apps never created",
        "app created, never started, restartPolicy never",
        "app created, never started, restartPolicy always",
        "dead infra container",
        "dead app container",
    ],
)
def test_a_half_made_or_broken_pod_is_replaced_where_it_is(desired: Pod, observed: Observed, reason: str) -> None:
    assert plan_lines(Desired((desired,)), observed) == [f"m1 replace {desired.name}: {reason}"]


def test_a_container_the_spec_does_not_have_makes_the_pod_replaced() -> None:
    seen = Seen(PAIR)
    stray = replace(seen.containers()[1], id="stray", name="kp_pair_c", container="c")
    unlabelled = replace(stray, id="bare", name="kp_pair_d", container="")
    for extra, reason in ((stray, "unexpected container c"), (unlabelled, "unexpected container (unlabelled)")):
        observed = cluster()
        observed.minions["m1"] = replace(observed.minions["m1"], containers=(*seen.containers(), extra))
        assert plan_lines(Desired((PAIR,)), observed) == [f"m1 replace pair: {reason}"]


def test_containers_made_from_two_specs_make_the_pod_replaced() -> None:
    containers = list(Seen(PAIR).containers())
    containers[2] = replace(containers[2], spec_hash="0123456789abcdef")
    observed = cluster()
    observed.minions["m1"] = replace(observed.minions["m1"], containers=tuple(containers))
    assert plan_lines(Desired((PAIR,)), observed) == ["m1 replace pair: containers made from different specs"]


def test_an_exited_container_is_still_started_not_replaced() -> None:
    assert plan_lines(Desired((REDIS,)), with_containers(Seen(REDIS), ("redis", "exited"))) == [
        "m1 start redis: restartPolicy always"
    ]


def test_volumes_left_by_a_pod_that_is_gone_are_removed_and_those_of_a_pod_still_there_kept() -> None:
    observed = cluster(Seen(REDIS))
    left = (
        ("kp_gone_cache", "gone", "default"),
        ("kp_gone_data", "gone", "default"),
        ("kp_redis_data", "redis", "default"),
    )
    observed.minions["m1"] = replace(observed.minions["m1"], volumes=left)
    observed.minions["m2"] = replace(observed.minions["m2"], volumes=(("kp_redis_data", "redis", "default"),))
    assert plan_lines(Desired((REDIS,)), observed) == [
        "m1 remove gone: volume kp_gone_cache, kp_gone_data left by a pod that is gone",
        "m2 remove redis: volume kp_redis_data left by a pod that is gone",  # redis is on m1, not here
    ]


def test_a_half_made_replica_counts_as_not_running_and_goes_first_on_scale_down() -> None:
    half = replace(REDIS, name="redisController-bcdfg", controller="redisController")
    whole = replace(half, name="redisController-ghjkl")
    observed = cluster(Seen(half, missing=("redis",)), Seen(whole, minion="m2"))
    assert plan_lines(Desired((), (redis_controller(1),)), observed) == [
        "m1 remove redisController-bcdfg: scale down to 1 (2 live): not running"
    ]


# --- observation ------------------------------------------------------------------------------------------------


def test_observation_sees_containers_in_every_state_and_kubeplays_volumes() -> None:
    conn = FakeConnection()
    docker = conn.fake_docker
    MinionExecutor(conn, Environment()).create_pod(WEB)
    for name, state in (("kp_web_a", "created"), ("kp_web_b", "dead"), ("kp_web_POD", "exited")):
        docker.named(name).state = state
    docker.volume_names.add("kp_other_scratch")  # not labelled: not kubeplay's to judge
    minion = observe_minion(conn)
    assert sorted((c.container, c.state) for c in minion.containers) == [
        ("POD", "exited"),
        ("a", "created"),
        ("b", "dead"),
    ]
    assert minion.volumes == (("kp_web_scratch", "web", "default"),)


# --- the executor: a name already taken ---------------------------------------------------------------------------


def test_a_leftover_of_the_same_pod_holding_the_name_is_removed_with_its_pod_mates_and_the_pod_made() -> None:
    conn = FakeConnection()
    executor = MinionExecutor(conn, Environment())
    executor.create_pod(WEB)
    docker = conn.fake_docker
    docker.named("kp_web_a").state = "created"
    leftovers = set(docker.held)
    executor.create_pod(WEB)  # as if the run had not observed them: the infra container's name is taken
    assert not leftovers & set(docker.held)
    assert sorted(c.config.name for c in docker.held.values()) == ["kp_web_POD", "kp_web_a", "kp_web_b"]
    assert {c.state for c in docker.held.values()} == {"running"}


def test_a_foreign_container_holding_the_name_is_left_alone_and_only_its_pod_fails() -> None:
    conn = FakeConnection()
    docker = conn.fake_docker
    foreign = docker.create(ContainerConfig(name="kp_web_b", image="busybox", labels={"owner": "someone"}))
    executor = MinionExecutor(conn, Environment())
    result = executor.perform(Action("create", "m1", "new pod", pod="web", desired=WEB))
    assert not result.ok
    assert "kp_web_b is taken by a container that is not kubeplay's pod web" in result.error
    assert list(docker.held) == [foreign]
    assert docker.volume_names == set()


def test_emptydir_volumes_are_made_labelled_with_their_pod() -> None:
    conn = FakeConnection()
    MinionExecutor(conn, Environment()).create_pod(WEB)
    assert conn.fake_docker.volume_labels == {"kp_web_scratch": {LABEL_POD: "web", LABEL_PROJECT: "default"}}


# --- whole runs, killed before each of their changes in turn ------------------------------------------------------

CONTROLLER = """\
apiVersion: v1
kind: ReplicationController
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{app: web}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      volumes: [{{name: scratch}}]
      containers:
        - name: httpd
          image: kubeplay/httpd
          env: [{{name: VERSION, value: "{version}"}}]
          volumeMounts: [{{name: scratch, mountPath: /scratch}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{selector: {{app: web}}, ports: [{{port: 80}}]}}
"""
Minions = dict[str, FakeConnection]


def inputs_for(folder: Path, replicas: int, version: str = "1") -> reconcile.Inputs:
    (folder / "web.yaml").write_text(CONTROLLER.format(replicas=replicas, version=version))
    (folder / "hosts.ini").write_text("[minions]\nm1\nm2\n\n[all:vars]\nkubeplay_pod_network = false\n")
    return reconcile.load([str(folder / "web.yaml")], str(folder / "hosts.ini"), {}, None, "crash")


def fresh_minions() -> Minions:
    return {
        name: FakeConnection(name, FakeDocker(minion=name, images={"kubeplay/httpd:latest"})) for name in ("m1", "m2")
    }


def apply(inputs: reconcile.Inputs, minions: Minions, fuse: Fuse | None = None) -> reconcile.Outcome:
    """One apply, one minion and one action at a time (so the n-th change is always the same one)."""
    for conn in minions.values():
        conn.fake_docker.fuse = fuse

    def connect(minion: Minion) -> MinionConnection:
        return minions[minion.name]

    with reconcile.observe(inputs, connect, forks=1, network=True) as seen:
        options = reconcile.ApplyOptions(get_scheduler("default"), forks=1)
        return reconcile.apply(inputs, seen, options, Screen())


def changes_of(inputs: reconcile.Inputs, minions: Minions) -> int:
    """How many changes an apply makes (on these minions, which it then leaves converged)."""
    counting = Fuse(changes=1 << 30)
    assert not apply(inputs, minions, counting).failed
    return counting.done


def exact_state(inputs: reconcile.Inputs, minions: Minions) -> list[str]:
    """How the minions differ from exactly the desired replicas, each whole, running and of the current template,
    with their emptyDir volumes and nothing else; [] when they do not."""
    (rc,) = inputs.desired.controllers
    template = spec_hash(rc.template.spec, rc.template.labels)
    wrong = []
    pods: set[str] = set()
    for conn in minions.values():
        docker = conn.fake_docker
        held: dict[str, list[str]] = {}
        for c in docker.held.values():
            labels = c.config.labels
            held.setdefault(labels[LABEL_POD], []).append(f"{c.config.name} {c.state} {labels[LABEL_HASH]}")
        for name, containers in held.items():
            if sorted(containers) != [f"kp_{name}_POD running {template}", f"kp_{name}_httpd running {template}"]:
                wrong.append(f"{conn.minion.name}: {sorted(containers)}")
        if docker.volume_names != {f"kp_{name}_scratch" for name in held}:
            wrong.append(f"{conn.minion.name}: volumes {sorted(docker.volume_names)} for pods {sorted(held)}")
        pods |= held.keys()
    if len(pods) != rc.replicas:
        wrong.append(f"{len(pods)} pods, {rc.replicas} desired")
    return wrong


SCENARIOS: dict[str, tuple[dict[str, int | str] | None, dict[str, int | str]]] = {
    "cold apply of 3 replicas": (None, {"replicas": 3}),
    "scale-down from 4 to 1": ({"replicas": 4}, {"replicas": 1}),
    "rolling update of 2 replicas": ({"replicas": 2, "version": "1"}, {"replicas": 2, "version": "2"}),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_run_killed_before_any_one_of_its_changes_is_repaired_by_the_next(scenario: str, tmp_path: Path) -> None:
    before, after = SCENARIOS[scenario]
    (tmp_path / "before").mkdir()
    target = inputs_for(tmp_path, **after)  # type: ignore[arg-type]

    def start() -> Minions:
        minions = fresh_minions()
        if before is not None:
            assert not apply(inputs_for(tmp_path / "before", **before), minions).failed  # type: ignore[arg-type]
        return minions

    total = changes_of(target, start())
    assert total >= 6
    for n in range(total):
        minions = start()
        with pytest.raises(Killed):
            apply(target, minions, Fuse(n))
        recovery = apply(target, minions)
        assert [r.error for r in recovery.results if not r.ok] == [], f"killed after {n} changes"
        assert not recovery.failed, f"killed after {n} changes"
        assert exact_state(target, minions) == [], f"killed after {n} changes"
        assert not apply(target, minions).plan.pods.changes, f"killed after {n} changes"


# --- the proxy: a restore killed between its nat and filter commits ------------------------------------------------


def test_rules_left_with_nat_committed_and_filter_not_are_finished_by_the_next_run_filter_only() -> None:
    """iptables-restore commits table by table: a run killed in between leaves the new nat table beside the old
    filter table. The next run reads both, and writes exactly the table that still differs."""
    before, after = scenario(1), scenario(2)
    half = Ruleset(
        chains={"nat": after.chains["nat"], "filter": before.chains["filter"]},
        jumps={"nat": after.jumps.get("nat", {}), "filter": before.jumps.get("filter", {})},
    )
    assert before.chains["filter"] != after.chains["filter"]
    text = proxy.to_restore(after, half)
    assert text.startswith("*filter\n") and "*nat" not in text
    assert proxy.to_restore(after, after) == ""
