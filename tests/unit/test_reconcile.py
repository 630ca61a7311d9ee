"""The whole run (reconcile.py) through in-memory minions: load, observe, plan, ask, execute, sync, and again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kubeplay import reconcile
from kubeplay.cli.exitcodes import EXIT_CHANGED, EXIT_ERROR, EXIT_UNREACHABLE, apply_exit_code
from kubeplay.connectors.base import Connector, MinionConnection
from kubeplay.errors import ConnectionFailed, HostKeyChanged
from kubeplay.kubelet.execute import Result
from kubeplay.model import Minion
from kubeplay.planner.pods import Plan
from kubeplay.planner.scheduler import get_scheduler
from kubeplay.proxy.plan import MinionSync
from kubeplay.proxy.sync import NetworkResult
from tests.unit.fakes import FakeConnection

MANIFESTS = """\
apiVersion: v1
kind: Pod
metadata: {name: redis, labels: {name: redis}}
spec:
  containers: [{name: redis, image: dockerfile/redis, ports: [{containerPort: 6379, hostPort: 6379}]}]
---
apiVersion: v1
kind: ReplicationController
metadata: {name: web}
spec:
  replicas: 2
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: httpd, image: kubeplay/httpd}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""
INVENTORY = "[minions]\nm1\nm2\n\n[all:vars]\nkubeplay_pod_network = false\n"


@dataclass
class Screen:
    """A view that records what a person would have seen, and answers the question as told."""

    answer: bool = True
    lines: list[str] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    networks: list[tuple[bool, int]] = field(default_factory=list)
    asked: int = 0

    def progress(self, message: str) -> None:
        self.lines.append(message)

    def planned(self, plan: Plan) -> None:
        self.plans.append(plan)

    def network_planned(self, syncs: Sequence[MinionSync], *, check: bool) -> None:
        self.networks.append((check, sum(1 for s in syncs if s.changes)))

    def confirm(self, plan: Plan, syncs: Sequence[MinionSync]) -> bool:
        self.asked += 1
        return self.answer


@pytest.fixture
def inputs(tmp_path: Path) -> reconcile.Inputs:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "app.yaml").write_text(MANIFESTS)
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    return reconcile.load([str(tmp_path / "shop" / "app.yaml")], str(tmp_path / "hosts.ini"), {}, None, environ={})


def connect_to(minions: dict[str, FakeConnection], down: Sequence[str] = ()) -> Connector:
    def connect(minion: Minion) -> MinionConnection:
        if minion.name in down:
            raise ConnectionFailed(minion.name, "connection refused")
        return minions[minion.name]

    return connect


def run(
    inputs: reconcile.Inputs,
    minions: dict[str, FakeConnection],
    screen: Screen,
    *,
    down: Sequence[str] = (),
    **options: bool,
) -> reconcile.Outcome:
    with reconcile.observe(inputs, connect_to(minions, down), forks=4, network=True) as seen:
        return reconcile.apply(inputs, seen, reconcile.ApplyOptions(get_scheduler("default"), **options), screen)


def pods_on(minions: dict[str, FakeConnection]) -> dict[str, list[str]]:
    """Each minion's kubeplay containers by Docker name."""
    return {name: sorted(c.config.name for c in conn.fake_docker.held.values()) for name, conn in minions.items()}


def test_one_apply_creates_every_pod_then_writes_the_proxy_rules_and_a_second_changes_no_pod(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection]
) -> None:
    screen = Screen()
    first = run(inputs, minions, screen)
    assert first.results and all(r.ok for r in first.results)
    containers = [c for names in pods_on(minions).values() for c in names]
    pods = {c.rsplit("_", 1)[0] for c in containers}
    assert len(pods) == 3 and "kp_redis" in pods and sum(p.startswith("kp_web-") for p in pods) == 2
    # every pod is its infra container and its app container
    apps = {p: "redis" if p == "kp_redis" else "httpd" for p in pods}
    assert sorted(containers) == sorted(f"{p}_{c}" for p in pods for c in ("POD", apps[p]))
    # the service's rules were written on both minions, after the pods (one iptables-restore each)
    for conn in minions.values():
        restores = [argv for argv, _ in conn.runs if argv[0] == "iptables-restore"]
        assert len(restores) == 1
    assert apply_exit_code(first, detailed=True) == EXIT_CHANGED
    assert screen.asked == 0 and len(screen.plans) == 1

    before = pods_on(minions)
    second = run(inputs, minions, Screen())
    assert not second.plan.pods.actions and not second.plan.pods.rollout
    assert second.results == ()
    assert pods_on(minions) == before


def test_check_shows_the_plan_and_changes_nothing(inputs: reconcile.Inputs, minions: dict[str, FakeConnection]) -> None:
    screen = Screen()
    outcome = run(inputs, minions, screen, check=True)
    assert outcome.checked and outcome.changed
    assert [a.verb for a in outcome.plan.pods.actions].count("create") == 3
    assert pods_on(minions) == {"m1": [], "m2": []}
    assert all(argv[0] != "iptables-restore" for conn in minions.values() for argv, _ in conn.runs)
    assert screen.networks == [(True, 2)]
    assert apply_exit_code(outcome, detailed=True) == EXIT_CHANGED


def test_a_declined_question_changes_nothing_and_fails(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection]
) -> None:
    screen = Screen(answer=False)
    outcome = run(inputs, minions, screen, ask=True)
    assert screen.asked == 1 and outcome.declined
    assert pods_on(minions) == {"m1": [], "m2": []}
    assert apply_exit_code(outcome, detailed=False) == EXIT_ERROR


def test_an_unreachable_minion_is_left_alone_and_the_run_exits_4(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection]
) -> None:
    outcome = run(inputs, minions, Screen(), down=("m2",))
    assert outcome.plan.pods.unreachable == {"m2": "connection refused"}
    assert {a.minion for a in outcome.plan.pods.actions} == {"m1"}
    assert pods_on(minions)["m2"] == [] and minions["m2"].runs == []
    assert apply_exit_code(outcome, detailed=False) == EXIT_UNREACHABLE


def test_a_failed_create_fails_the_run_and_the_other_minion_still_gets_its_pods(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection]
) -> None:
    for conn in minions.values():
        conn.fake_docker.fail("create", "kp_redis_redis", "image is broken")
    outcome = run(inputs, minions, Screen())
    failed = [r for r in outcome.results if not r.ok]
    assert [(r.action.pod, r.error) for r in failed] == [("redis", "image is broken")]
    assert not any(c.startswith("kp_redis") for names in pods_on(minions).values() for c in names)  # rolled back
    assert sum(c.endswith("_httpd") for names in pods_on(minions).values() for c in names) == 2
    assert apply_exit_code(outcome, detailed=False) == EXIT_ERROR


def test_a_changed_host_key_is_an_error_not_an_unreachable_minion_and_the_other_minion_is_applied(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection]
) -> None:
    def connect(minion: Minion) -> MinionConnection:
        if minion.name == "m2":
            raise HostKeyChanged("m2", "host key of m2 CHANGED")
        return minions[minion.name]

    with reconcile.observe(inputs, connect, forks=4, network=True) as seen:
        outcome = reconcile.apply(inputs, seen, reconcile.ApplyOptions(get_scheduler("default")), Screen())
    assert outcome.plan.pods.refused == {"m2": "host key of m2 CHANGED"} and outcome.plan.pods.unreachable == {}
    assert pods_on(minions)["m2"] == [] and minions["m2"].runs == []
    assert pods_on(minions)["m1"], "the other minion is applied"
    assert apply_exit_code(outcome, detailed=False) == EXIT_ERROR


def test_every_action_and_network_write_is_reported_as_an_event_with_its_duration(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection]
) -> None:
    events: list[reconcile.Event] = []
    options = reconcile.ApplyOptions(get_scheduler("default"))
    for conn in minions.values():
        conn.fake_docker.fail("create", "kp_redis_redis", "image is broken")
    with reconcile.observe(inputs, connect_to(minions), forks=4, network=True) as seen:
        outcome = reconcile.apply(inputs, seen, options, Screen(), on_event=events.append)
    actions = [e for e in events if isinstance(e, Result)]
    writes = [e for e in events if isinstance(e, NetworkResult)]
    # each action once, as it was done (the failed one with its error), then each minion's proxy rules
    assert sorted(actions, key=str) == sorted(outcome.results, key=str)
    assert [(e.action.pod, e.ok, e.error) for e in actions if not e.ok] == [("redis", False, "image is broken")]
    assert events.index(writes[0]) == len(actions)
    assert sorted((w.minion, w.what, w.ok) for w in writes) == [
        ("m1", "proxy rules", True),
        ("m2", "proxy rules", True),
    ]
    assert len(events) == len(actions) + len(writes)  # no pull progress unless asked for (pull_progress)
    assert all(e.seconds >= 0 for e in actions) and all(w.seconds >= 0 for w in writes)
    planned = sorted((a.minion, a.verb, a.subject) for a in outcome.plan.pods.actions)
    assert sorted((e.action.minion, e.action.verb, e.action.subject) for e in actions) == planned
    assert [a for a in planned if a[1] == "create"] and len(planned) == len(actions)

    events.clear()
    for conn in minions.values():
        conn.fake_docker.failing.clear()
    with reconcile.observe(inputs, connect_to(minions), forks=4, network=True) as seen:
        reconcile.apply(inputs, seen, options, Screen(), on_event=events.append)
    assert [(e.action.verb, e.action.pod) for e in events if isinstance(e, Result)] == [("create", "redis")]
    assert isinstance(events[0], Result) and all(isinstance(e, NetworkResult) for e in events[1:])
