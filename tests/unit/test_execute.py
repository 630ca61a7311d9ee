"""The executor through an in-memory Docker: pods created infra first and torn down app first, rolled back when
they fail half-way, and rolling-update steps run in their order."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from kubeplay.connectors.base import PullProgress
from kubeplay.dataclass import dataclass, field, replace
from kubeplay.kubelet.execute import (
    DRAIN_SECONDS,
    PODS_AT_ONCE,
    Environment,
    MinionExecutor,
    Pulling,
    Rerouted,
    Result,
    Waiting,
    execute,
    side_by_side,
)
from kubeplay.kubelet.observe import observe_minion
from kubeplay.model import INFRA_CONTAINER, Container, EnvVar, Observed, ObservedPod, Pod, Probe, Volume, VolumeMount
from kubeplay.planner.pods import Action, Plan
from kubeplay.planner.rollout import PlacedStep
from kubeplay.pods.infra import INFRA_IMAGE
from tests.unit.builders import REDIS_IMAGE, pod
from tests.unit.fakes import FakeConnection, FakeDocker, connections

WEB = pod(
    "web",
    Container("a", "nginx", volume_mounts=(VolumeMount("scratch", "/tmp"),)),
    Container("b", "busybox"),
    labels={"app": "web"},
)
WEB = replace(WEB, spec=replace(WEB.spec, volumes=(Volume("scratch"),)))


def run(conn: FakeConnection, *actions: Action) -> list[Result]:
    return execute(Plan(actions=actions), connections(conn), Environment(), lambda line: None, forks=1)


def observed(conn: FakeConnection, name: str) -> ObservedPod:
    """The pod as observation sees it on the fake."""
    minion = observe_minion(conn)
    (found,) = [p for p in Observed({minion.name: minion}).pods if p.name == name]
    return found


def created(conn: FakeConnection, the_pod: Pod) -> ObservedPod:
    MinionExecutor(conn, Environment()).create_pod(the_pod)
    return observed(conn, the_pod.name)


def lifecycle(fake: FakeDocker) -> list[tuple[str, str]]:
    """The calls that change something, in order."""
    return [c for c in fake.calls if c[0] in ("create", "start", "remove", "remove_volume", "pull", "import_image")]


# --- pods -------------------------------------------------------------------------------------------------------


def test_a_pod_is_its_infra_container_first_then_each_app_container_joining_its_network() -> None:
    conn = FakeConnection()
    environment = Environment(env=(EnvVar("DB_SERVICE_HOST", "10.0.0.10"),), hosts={"db": "10.0.0.10"})
    results = execute(
        Plan(actions=(Action("create", "m1", "new pod", pod="web", desired=WEB),)),
        connections(conn),
        environment,
        lambda line: None,
        forks=1,
    )
    assert [r.ok for r in results] == [True]
    fake = conn.fake_docker
    assert lifecycle(fake) == [
        ("create", "kp_web_POD"),
        ("start", "kp_web_POD"),
        ("create", "kp_web_a"),
        ("start", "kp_web_a"),
        ("create", "kp_web_b"),
        ("start", "kp_web_b"),
    ]
    infra = fake.named("kp_web_POD")
    assert (infra.config.image, infra.config.extra_hosts) == (INFRA_IMAGE, {"db": "10.0.0.10"})
    for app in ("kp_web_a", "kp_web_b"):
        config = fake.named(app).config
        assert config.network_mode == f"container:{infra.id}"
        assert config.env == {"DB_SERVICE_HOST": "10.0.0.10"}
    assert {c.state for c in fake.held.values()} == {"running"}
    assert fake.volume_names == {"kp_web_scratch"}


def test_replace_removes_the_old_pod_apps_first_with_its_volumes_then_creates_the_new_one() -> None:
    conn = FakeConnection()
    old = created(conn, WEB)
    conn.fake_docker.calls.clear()
    new = replace(WEB, labels={"app": "web", "v": "2"})
    (result,) = run(conn, Action("replace", "m1", "spec changed", pod="web", desired=new, observed=old))
    assert result.ok
    steps = lifecycle(conn.fake_docker)
    assert steps[:4] == [
        ("remove", "kp_web_a"),
        ("remove", "kp_web_b"),
        ("remove", "kp_web_POD"),
        ("remove_volume", "kp_web_scratch"),
    ]
    assert steps[4:6] == [("create", "kp_web_POD"), ("start", "kp_web_POD")]
    assert observed(conn, "web").labels == {"app": "web", "v": "2"}


def test_remove_takes_the_containers_and_the_pods_volumes_only() -> None:
    conn = FakeConnection()
    old = created(conn, WEB)
    other = replace(WEB, name="web2")
    created(conn, other)
    (result,) = run(conn, Action("remove", "m1", "not in the manifests", pod="web", observed=old))
    assert result.ok
    assert {c.config.name for c in conn.fake_docker.held.values()} == {"kp_web2_POD", "kp_web2_a", "kp_web2_b"}
    assert conn.fake_docker.volume_names == {"kp_web2_scratch"}


def test_removing_a_pod_already_gone_is_converged() -> None:
    conn = FakeConnection()
    old = created(conn, WEB)
    for cid in list(conn.fake_docker.held):
        conn.fake_docker.remove(cid)
    (result,) = run(conn, Action("remove", "m1", "not in the manifests", pod="web", observed=old))
    assert result == Result(result.action, True)


def test_remove_pod_by_name_finds_the_pod_by_its_label() -> None:
    conn = FakeConnection()
    created(conn, WEB)
    executor = MinionExecutor(conn, Environment())
    assert executor.remove_pod_by_name("web") is True
    assert conn.fake_docker.held == {}
    assert [c for c in lifecycle(conn.fake_docker) if c[0] == "remove"][-1] == ("remove", "kp_web_POD")
    assert executor.remove_pod_by_name("web") is False


def test_start_starts_exactly_the_containers_the_restart_policy_brings_back() -> None:
    conn = FakeConnection()
    old = created(conn, WEB)
    for container in conn.fake_docker.held.values():
        container.state = "exited"
    ids = tuple(c.id for c in old.containers if c.container in (INFRA_CONTAINER, "b"))
    conn.fake_docker.calls.clear()
    (result,) = run(conn, Action("start", "m1", "restartPolicy onFailure", pod="web", observed=old, containers=ids))
    assert result.ok
    assert lifecycle(conn.fake_docker) == [("start", "kp_web_POD"), ("start", "kp_web_b")]
    assert conn.fake_docker.named("kp_web_a").state == "exited"


@pytest.mark.parametrize("method", ["create", "start"])
def test_a_pod_that_fails_half_way_is_removed_with_its_volumes(method: str) -> None:
    conn = FakeConnection()
    conn.fake_docker.fail(method, "kp_web_b", "no such image: busybox")
    (result,) = run(conn, Action("create", "m1", "new pod", pod="web", desired=WEB))
    assert (result.ok, result.error) == (False, "no such image: busybox")
    assert conn.fake_docker.held == {}
    assert conn.fake_docker.volume_names == set()
    removed = [s for m, s in lifecycle(conn.fake_docker) if m == "remove"]
    assert removed == (["kp_web_b"] if method == "start" else []) + ["kp_web_a", "kp_web_POD"]


def test_a_failed_action_does_not_stop_the_minions_other_actions() -> None:
    conn = FakeConnection()
    conn.fake_docker.fail("pull", "redis:2.8", "pull redis:2.8: manifest unknown")
    results = run(
        conn,
        Action("pull", "m1", "image not present", image="redis:2.8"),
        Action("create", "m1", "new pod", pod="web", desired=WEB),
    )
    assert [(r.ok, r.error) for r in results] == [(False, "pull redis:2.8: manifest unknown"), (True, "")]


def test_pull_asks_for_the_reference_docker_lists_the_image_under() -> None:
    conn = FakeConnection()
    (result,) = run(conn, Action("pull", "m1", "imagePullPolicy PullAlways", image=REDIS_IMAGE))
    assert result.ok
    assert lifecycle(conn.fake_docker) == [("pull", "dockerfile/redis:latest")]


def test_a_pulls_progress_reaches_the_listener_as_it_comes_then_its_result() -> None:
    lines = (PullProgress("abc", "Downloading", 5, 10), PullProgress("abc", "Pull complete"))
    conn = FakeConnection(docker=FakeDocker(pull_progress=lines))
    pull = Action("pull", "m1", "image not present", image=REDIS_IMAGE)
    heard: list[Result | Pulling] = []
    execute(
        Plan(actions=(pull,)),
        connections(conn),
        Environment(),
        lambda line: None,
        1,
        done=heard.append,
        pulling=heard.append,
    )
    assert heard[:2] == [Pulling(pull, line) for line in lines]
    assert isinstance(heard[2], Result) and heard[2].ok and len(heard) == 3


def test_provision_imports_kubeplays_infra_image() -> None:
    conn = FakeConnection()
    (result,) = run(conn, Action("provision", "m1", "infra image missing", image=INFRA_IMAGE))
    assert result.ok
    assert lifecycle(conn.fake_docker) == [("import_image", INFRA_IMAGE)]
    assert INFRA_IMAGE in conn.fake_docker.images


# --- rollout steps ----------------------------------------------------------------------------------------------

NEW = pod("cache-new", labels={"app": "cache"}, controller="cache")
OLD = pod("cache-old", labels={"app": "cache"}, controller="cache")
INSTANT = Waiting(timeout=3, poll=1, clock=lambda: 0.0, sleep=lambda s: None)


class Ticking:
    """A clock that moves on by each sleep."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Sleeps:
    """Every sleep a rollout asks for, none slept; a clock that stands still."""

    slept: list[float] = field(default_factory=list)

    def waiting(self) -> Waiting:
        return Waiting(timeout=3, poll=1, clock=lambda: 0.0, sleep=self.slept.append)


def two_minions() -> tuple[FakeConnection, FakeConnection, list[tuple[str, str, str]]]:
    journal: list[tuple[str, str, str]] = []
    m1 = FakeConnection("m1", FakeDocker(minion="m1", journal=journal))
    m2 = FakeConnection("m2", FakeDocker(minion="m2", journal=journal))
    return m1, m2, journal


def roll(
    steps: tuple[PlacedStep, ...], *conns: FakeConnection, waiting: Waiting = INSTANT
) -> tuple[list[Result], list[str]]:
    """The results of running the steps, and the progress lines said meanwhile."""
    said: list[str] = []
    results = execute(Plan(actions=(), rollout=steps), connections(*conns), Environment(), said.append, 1, waiting)
    return results, said


def changes(journal: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [j for j in journal if j[1] in ("create", "remove", "containers")]


def test_a_step_placed_elsewhere_creates_the_new_pod_and_waits_until_it_runs_before_removing_the_old() -> None:
    m1, m2, journal = two_minions()
    old = created(m1, OLD)
    journal.clear()
    results, said = roll((PlacedStep("cache", ((NEW, "m2"),), (old,)),), m1, m2)
    assert [(r.action.verb, r.action.minion, r.ok) for r in results] == [("create", "m2", True), ("remove", "m1", True)]
    assert changes(journal) == [
        ("m2", "create", "kp_cache-new_POD"),
        ("m2", "create", "kp_cache-new_redis"),
        ("m2", "containers", "kubeplay.pod=cache-new"),
        ("m1", "remove", "kp_cache-old_redis"),
        ("m1", "remove", "kp_cache-old_POD"),
    ]
    assert said == [
        "rollout cache: step 1/1: cache-new running on m2",
        "rollout cache: step 1/1: removed cache-old on m1",
    ]


def test_a_step_placed_in_place_removes_the_old_pod_first() -> None:
    m1, m2, journal = two_minions()
    old = created(m1, OLD)
    journal.clear()
    results, said = roll((PlacedStep("cache", ((NEW, "m1"),), (old,), in_place=True),), m1, m2)
    assert [(r.action.verb, r.ok) for r in results] == [("remove", True), ("create", True)]
    assert [j for j in changes(journal) if j[1] != "containers"] == [
        ("m1", "remove", "kp_cache-old_redis"),
        ("m1", "remove", "kp_cache-old_POD"),
        ("m1", "create", "kp_cache-new_POD"),
        ("m1", "create", "kp_cache-new_redis"),
    ]
    assert said[0] == "rollout cache: step 1/1 (in place): removed cache-old on m1"


def test_a_failed_step_stops_the_rollout_and_keeps_its_old_pod() -> None:
    m1, m2, journal = two_minions()
    old, old2 = created(m1, OLD), created(m1, replace(OLD, name="cache-old2"))
    m2.fake_docker.fail("create", "kp_cache-new_redis", "no room")
    steps = (
        PlacedStep("cache", ((NEW, "m2"),), (old,)),
        PlacedStep("cache", ((replace(NEW, name="cache-new2"), "m2"),), (old2,)),
    )
    results, said = roll(steps, m1, m2)
    assert [(r.action.verb, r.ok, r.error) for r in results] == [("create", False, "no room")]
    assert [j for j in journal if j[1] == "remove"] == [("m2", "remove", "kp_cache-new_POD")]  # the rollback only
    assert {c.config.name for c in m1.fake_docker.held.values()} == {
        "kp_cache-old_POD",
        "kp_cache-old_redis",
        "kp_cache-old2_POD",
        "kp_cache-old2_redis",
    }
    assert m2.fake_docker.held == {}
    assert said[-1] == "rollout cache: stopped at step 1; the next run goes on from here"


def test_a_new_pod_that_does_not_come_up_in_time_stops_the_rollout() -> None:
    m1, m2, _ = two_minions()
    old = created(m1, OLD)
    m2.fake_docker.started_state = "exited"
    ticking = Ticking()
    waiting = Waiting(timeout=3, poll=1, clock=ticking.clock, sleep=ticking.sleep)
    (result,), _ = roll((PlacedStep("cache", ((NEW, "m2"),), (old,)),), m1, m2, waiting=waiting)
    assert (result.ok, result.error) == (False, "not running within 3 s")
    assert ticking.now == 3
    assert "kp_cache-old_POD" in {c.config.name for c in m1.fake_docker.held.values()}


def test_a_step_whose_new_pod_fits_nowhere_is_not_started() -> None:
    m1, m2, journal = two_minions()
    old = created(m1, OLD)
    journal.clear()
    results, said = roll((PlacedStep("cache", ((NEW, ""),), (old,)),), m1, m2)
    assert (results, changes(journal)) == ([], [])
    assert said == [
        "rollout cache: step 1/1: cache-new cannot be scheduled",
        "rollout cache: stopped at step 1; the next run goes on from here",
    ]


# --- rollout steps and the service proxy ------------------------------------------------------------------------


class Proxy:
    """A ``Reroute`` that records each change in the minions' shared journal, and answers as told."""

    def __init__(self, journal: list[tuple[str, str, str]], ok: bool = True) -> None:
        self.journal = journal
        self.ok = ok
        self.serving: set[str] = set()

    def __call__(self, serve: Sequence[ObservedPod], stop: Sequence[ObservedPod]) -> Rerouted:
        change = " ".join([*(f"+{p.name}@{p.ip}" for p in serve), *(f"-{p.name}" for p in stop)])
        self.journal.append(("proxy", "reroute", change))
        if self.ok:
            self.serving = (self.serving | {p.name for p in serve}) - {p.name for p in stop}
        return Rerouted(ok=self.ok, changed=self.ok)


def reroll(
    step: PlacedStep, proxy: Proxy, *conns: FakeConnection, waiting: Waiting = INSTANT
) -> tuple[list[Result], list[str]]:
    said: list[str] = []
    plan = Plan(actions=(), rollout=(step,))
    return execute(plan, connections(*conns), Environment(), said.append, 1, waiting, reroute=proxy), said


def steps_of(journal: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Creates of infra containers, removals of app containers and reroutes, in order."""
    return [
        j
        for j in journal
        if (j[1] == "create" and j[2].endswith("_POD"))
        or (j[1] == "remove" and not j[2].endswith("_POD"))
        or j[1] == "reroute"
    ]


def test_a_step_puts_its_new_pod_in_the_endpoints_and_takes_the_old_one_out_then_drains_before_removing_it() -> None:
    m1, m2, journal = two_minions()
    old = created(m1, OLD)
    journal.clear()
    proxy, sleeps = Proxy(journal), Sleeps()
    results, _ = reroll(PlacedStep("cache", ((NEW, "m2"),), (old,)), proxy, m1, m2, waiting=sleeps.waiting())
    assert all(r.ok for r in results)
    new_ip = m2.fake_docker.named("kp_cache-new_POD").ip
    assert steps_of(journal) == [
        ("m2", "create", "kp_cache-new_POD"),
        ("proxy", "reroute", f"+cache-new@{new_ip} -cache-old"),
        ("m1", "remove", "kp_cache-old_redis"),
    ]
    assert sleeps.slept == [DRAIN_SECONDS], "the old pod's requests in flight get the drain time"
    assert proxy.serving == {"cache-new"}


def test_a_step_in_place_takes_the_old_pod_out_first_and_puts_the_new_one_in_once_it_runs() -> None:
    m1, m2, journal = two_minions()
    old = created(m1, OLD)
    journal.clear()
    proxy, sleeps = Proxy(journal), Sleeps()
    step = PlacedStep("cache", ((NEW, "m1"),), (old,), in_place=True)
    results, _ = reroll(step, proxy, m1, m2, waiting=sleeps.waiting())
    assert all(r.ok for r in results)
    new_ip = m1.fake_docker.named("kp_cache-new_POD").ip
    assert steps_of(journal) == [
        ("proxy", "reroute", "-cache-old"),
        ("m1", "remove", "kp_cache-old_redis"),
        ("m1", "create", "kp_cache-new_POD"),
        ("proxy", "reroute", f"+cache-new@{new_ip}"),
    ]
    assert sleeps.slept == [DRAIN_SECONDS]


def test_when_the_rules_cannot_be_written_everywhere_the_old_pod_is_not_stopped() -> None:
    m1, m2, journal = two_minions()
    old = created(m1, OLD)
    journal.clear()
    results, said = reroll(PlacedStep("cache", ((NEW, "m2"),), (old,)), Proxy(journal, ok=False), m1, m2)
    assert [(r.action.verb, r.ok) for r in results] == [("create", True)]
    assert not [j for j in journal if j[1] == "remove"]
    assert said[-2:] == [
        "rollout cache: step 1/1: the proxy rules could not be written on every minion",
        "rollout cache: stopped at step 1; the next run goes on from here",
    ]


LIVENESS = Probe("tcpSocket", port=6379)


def test_a_new_pod_failing_its_liveness_probe_is_never_put_in_the_endpoints_and_the_old_one_stays() -> None:
    m1, m2, journal = two_minions()
    old = created(m1, OLD)
    journal.clear()
    (redis,) = NEW.spec.containers
    probed = replace(NEW, spec=replace(NEW.spec, containers=(replace(redis, liveness_probe=LIVENESS),)))
    ticking = Ticking()
    proxy = Proxy(journal)
    waiting = Waiting(timeout=3, poll=1, clock=ticking.clock, sleep=ticking.sleep)
    results, _ = reroll(PlacedStep("cache", ((probed, "m2"),), (old,)), proxy, m1, m2, waiting=waiting)
    ((verb, ok, error),) = [(r.action.verb, r.ok, r.error) for r in results]
    assert (verb, ok) == ("create", False)
    assert error.startswith("running, but failing its liveness probe after 3 s: redis: tcpSocket 172.17.0.2:6379:")
    assert proxy.serving == set() and not [j for j in journal if j[1] in ("reroute", "remove")]

    journal.clear()
    m2.fake_docker.held.clear()
    m2.tcp[("172.17.0.3", 6379)] = b""  # the next new pod's IP: it listens
    results, _ = reroll(PlacedStep("cache", ((probed, "m2"),), (old,)), proxy, m1, m2, waiting=waiting)
    assert all(r.ok for r in results) and proxy.serving == {"cache-new"}
    assert m2.exchanges[-1] == ("172.17.0.3", 6379, b"")


def test_new_pods_one_after_another_are_batched_and_every_other_action_stands_alone() -> None:
    pull = Action("pull", "m1", "image not present", image="redis:2.8")
    new = [Action("create", "m1", "new pod", pod=f"p{i}", desired=pod(f"p{i}")) for i in range(4)]
    gone = Action("remove", "m1", "deleted", pod="old", observed=ObservedPod("old", "m1", ()))
    batches = side_by_side([pull, new[0], new[1], gone, new[2], new[3]])
    assert batches == [[pull], [new[0], new[1]], [gone], [new[2], new[3]]]


class MeetingDocker(FakeDocker):
    """Starts a container only once as many starts as ``expected`` are under way at once (or 5 s went by)."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.meeting = threading.Barrier(expected)
        self.met = False

    def start(self, container_id: str) -> None:
        if not self.met:
            try:
                self.meeting.wait(5)
                self.met = True
            except threading.BrokenBarrierError:
                pass
        super().start(container_id)


def test_a_minions_new_pods_are_made_side_by_side_and_reported_in_the_plans_order() -> None:
    docker = MeetingDocker(PODS_AT_ONCE)
    conn = FakeConnection(docker=docker)
    new = [Action("create", "m1", "new pod", pod=f"p{i}", desired=pod(f"p{i}")) for i in range(PODS_AT_ONCE + 1)]
    results = run(conn, *new)
    assert docker.met, "the first starts were under way together"
    assert [r.action.pod for r in results] == [a.pod for a in new] and all(r.ok for r in results)
    assert sorted(p.name for p in observe_minion(conn).pods) == [a.pod for a in new]
