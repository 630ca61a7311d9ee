"""The whole run (reconcile.py) through in-memory minions: load, observe, plan, ask, execute, sync, and again."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from kubeplay import reconcile
from kubeplay.cli.exitcodes import EXIT_CHANGED, EXIT_ERROR, EXIT_UNREACHABLE, apply_exit_code
from kubeplay.connectors.base import Connector, MinionConnection
from kubeplay.dataclass import dataclass, field
from kubeplay.errors import ConnectionFailed, HostKeyChanged
from kubeplay.kubelet.execute import DRAIN_SECONDS, Result, Waiting
from kubeplay.model import Minion
from kubeplay.planner.pods import Plan
from kubeplay.planner.scheduler import get_scheduler
from kubeplay.pods.labels import LABEL_POD
from kubeplay.proxy.plan import MinionSync
from kubeplay.proxy.sync import READ_NETWORK, NetworkResult
from tests.unit.fakes import FakeConnection, FakeIptables

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
INSTANT = Waiting(poll=0, sleep=lambda seconds: None)
"""Rollout steps that neither wait between two looks at a new pod nor drain."""
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
def minions(minions: dict[str, FakeConnection]) -> dict[str, FakeConnection]:
    """The two in-memory minions, keeping their iptables from run to run, their calls in one journal."""
    journal: list[tuple[str, str, str]] = []
    for conn in minions.values():
        conn.iptables = FakeIptables()
        conn.fake_docker.journal = journal
    minions["m2"].fake_docker.ip_prefix = "172.18.0."
    return minions


@pytest.fixture
def inputs(tmp_path: Path) -> reconcile.Inputs:
    return loaded(tmp_path, MANIFESTS)


def loaded(tmp_path: Path, manifests: str) -> reconcile.Inputs:
    """The inputs of project shop with these manifests (written over the previous ones)."""
    (tmp_path / "shop").mkdir(exist_ok=True)
    (tmp_path / "shop" / "app.yaml").write_text(manifests)
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
    check: bool = False,
    ask: bool = False,
    waiting: Waiting = INSTANT,
    events: list[reconcile.Event] | None = None,
) -> reconcile.Outcome:
    options = reconcile.ApplyOptions(get_scheduler("default"), check=check, ask=ask, waiting=waiting)
    sink = events.append if events is not None else lambda event: None
    with reconcile.observe(inputs, connect_to(minions, down), forks=4, network=True) as seen:
        return reconcile.apply(inputs, seen, options, screen, sink)


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
    # services first: the service's rules on both minions before the pods (REJECT: no endpoint yet), then its
    # endpoints once the pods run
    for conn in minions.values():
        restores = [(stdin or b"").decode() for argv, stdin in conn.runs if argv[0] == "iptables-restore"]
        assert len(restores) == 2
        assert "has no endpoints" in restores[0] and "DNAT" not in restores[0]
        assert restores[1].count("-j DNAT") == 2 and "has no endpoints" not in restores[1]
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
    # each minion's service rules, then each action once, as it was done (the failed one with its error), then
    # each minion's endpoints
    assert sorted(actions, key=str) == sorted(outcome.results, key=str)
    assert [(e.action.pod, e.ok, e.error) for e in actions if not e.ok] == [("redis", False, "image is broken")]
    assert [events.index(w) for w in writes] == [0, 1, len(events) - 2, len(events) - 1]
    assert sorted((w.minion, w.what, w.ok) for w in writes) == [
        ("m1", "proxy rules", True),
        ("m1", "proxy rules (services first)", True),
        ("m2", "proxy rules", True),
        ("m2", "proxy rules (services first)", True),
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
    # the service's rules are as the first run left them, and redis is no endpoint: nothing is written
    assert [(e.action.verb, e.action.pod) for e in events if isinstance(e, Result)] == [("create", "redis")]
    assert len(events) == 1


# --- services first, and the endpoints as pods come and go ----------------------------------------------------------


def restores(conn: FakeConnection) -> list[str]:
    """The texts of the minion's iptables-restores, in order."""
    return [(stdin or b"").decode() for argv, stdin in conn.runs if argv[0] == "iptables-restore"]


def sent_to(restore: str) -> set[str]:
    """The endpoint IPs a restore text's DNAT rules send to (a nat table that differs is written in full)."""
    return set(re.findall(r"-j DNAT --to-destination ([0-9.]+):", restore))


def web_ips(minions: dict[str, FakeConnection]) -> dict[str, str]:
    """Web pod -> its IP, on every minion."""
    return {
        c.config.labels[LABEL_POD]: c.ip
        for conn in minions.values()
        for c in conn.fake_docker.held.values()
        if c.ip and c.config.labels[LABEL_POD].startswith("web-")
    }


def applied(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection]
) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Apply once, then forget what was done: the web pods' IPs, and the minions' journal, empty."""
    run(inputs, minions, Screen())
    journal = minions["m1"].fake_docker.journal or []
    journal.clear()
    for conn in minions.values():
        conn.runs.clear()
    return web_ips(minions), journal


def test_every_minions_service_rules_are_written_before_the_first_container_is_created(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection]
) -> None:
    run(inputs, minions, Screen())
    journal = minions["m1"].fake_docker.journal or []
    first_create = next(n for n, (_, method, _) in enumerate(journal) if method == "create")
    assert {m for m, _, what in journal[:first_create] if what == "iptables-restore"} == {"m1", "m2"}
    for conn in minions.values():
        assert sent_to(restores(conn)[-1]) == set(web_ips(minions).values())


def test_an_apply_that_changes_nothing_only_reads_each_minion(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection]
) -> None:
    run(inputs, minions, Screen())
    for conn in minions.values():
        conn.runs.clear()
        conn.fake_docker.calls.clear()
    outcome = run(inputs, minions, Screen())
    assert not outcome.changed and outcome.network == () and outcome.results == ()
    for conn in minions.values():
        assert [argv for argv, _ in conn.runs] == [READ_NETWORK], "rules and routes read by one program"
        assert [method for method, _ in conn.fake_docker.calls].count("containers") == 1, "no second list"


def test_a_new_replica_gets_its_endpoint_in_one_write(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection], tmp_path: Path
) -> None:
    run(inputs, minions, Screen())
    outcome = run(loaded(tmp_path, MANIFESTS.replace("replicas: 2", "replicas: 3")), minions, Screen())
    assert sorted((n.minion, n.what) for n in outcome.network) == [("m1", "proxy rules"), ("m2", "proxy rules")]
    assert len(web_ips(minions)) == 3
    for conn in minions.values():
        assert sent_to(restores(conn)[-1]) == set(web_ips(minions).values())


def test_a_replica_going_away_leaves_every_minions_endpoints_and_is_drained_before_it_is_removed(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection], tmp_path: Path
) -> None:
    ips, journal = applied(inputs, minions)
    slept: list[float] = []
    waiting = Waiting(poll=0, sleep=slept.append)
    outcome = run(loaded(tmp_path, MANIFESTS.replace("replicas: 2", "replicas: 1")), minions, Screen(), waiting=waiting)
    (gone,) = [a.pod for a in outcome.plan.pods.actions if a.verb == "remove"]
    removed = next(n for n, (_, method, what) in enumerate(journal) if method == "remove" and gone in what)
    assert {m for m, _, what in journal[:removed] if what == "iptables-restore"} == {"m1", "m2"}
    for conn in minions.values():
        assert sent_to(restores(conn)[-1]) == {ip for pod, ip in ips.items() if pod != gone}
    assert slept == [DRAIN_SECONDS]
    assert {n.what for n in outcome.network} == {"proxy rules (services first)"}, "no second write"


def test_a_rollout_takes_each_old_pod_out_of_every_minions_endpoints_before_removing_it(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection], tmp_path: Path
) -> None:
    old, journal = applied(inputs, minions)
    changed = MANIFESTS.replace("image: kubeplay/httpd}", "image: kubeplay/httpd, env: [{name: V, value: '2'}]}")
    outcome = run(loaded(tmp_path, changed), minions, Screen())
    assert len(outcome.plan.pods.rollout) == 2 and all(r.ok for r in outcome.results)
    new = {pod: ip for pod, ip in web_ips(minions).items() if pod not in old}
    assert len(new) == 2 and len(web_ips(minions)) == 2
    # replay the journal: what every minion's rules send to when each old pod is removed
    written = {name: iter(restores(conn)) for name, conn in minions.items()}
    now: dict[str, set[str]] = {name: set(old.values()) for name in minions}
    for minion, method, what in journal:
        if what == "iptables-restore":
            now[minion] = sent_to(next(written[minion]))
        elif method == "remove" and what.endswith("_httpd"):
            pod = what.removeprefix("kp_").removesuffix("_httpd")
            assert all(old[pod] not in ips and len(ips) == 2 for ips in now.values()), (pod, now)
    assert all(ips == set(new.values()) for ips in now.values())
    assert "proxy rules (rollout)" in {n.what for n in outcome.network}
