"""The blocks `describe` prints, from what was observed and planned: pure."""

from __future__ import annotations

from kubeplay.cli import describing, views
from kubeplay.connectors.base import ContainerState
from kubeplay.dataclass import replace
from kubeplay.model import Container, Desired, ObservedPod, Port, Service, ServicePort, Source
from kubeplay.planner.pods import Options, plan_pods
from kubeplay.planner.scheduler import get_scheduler
from tests.unit.builders import Seen, cluster, inventory, pod, redis_controller


def test_a_controller_names_each_replica_that_fits_nowhere_with_each_minions_reason() -> None:
    rc = redis_controller(replicas=4)  # host port 6379: one replica per minion
    placed = pod("redisController-aaaaa", labels={"name": "redis"}, controller=rc.name)
    observed = cluster(Seen(placed, minion="m1"))
    plan = plan_pods(Desired(controllers=(rc,)), observed, inventory(), Options(get_scheduler("default")))
    lines = describing.controller_block(rc, observed.pods, plan)
    assert describing.line("Replicas", "4 desired, 1 live, 1 running") in lines
    pending = lines[lines.index("Pending replicas:") + 1 :]
    creates = [text for text in pending if "the next apply creates it" in text]
    stuck = [text for text in pending if "unschedulable: 2 minions: 2 port 6379/TCP taken" in text]
    assert len(creates) == 1 and len(stuck) == 2
    assert pending.count("    m1: port 6379/TCP taken") == 2 and pending.count("    m2: port 6379/TCP taken") == 2


def test_a_declared_pod_not_on_the_cluster_is_pending_with_the_minion_the_next_apply_picks() -> None:
    web = pod("web", Container("httpd", "kubeplay/httpd"), labels={"app": "web"})
    plan = plan_pods(Desired(pods=(web,)), cluster(), inventory(), Options(get_scheduler("default")))
    pending = describing.pending_reason("web", plan)
    assert pending is not None and pending.status == "Pending"
    assert "the next apply creates it (new pod, scheduled on m1)" in pending.reason
    block = describing.pending_pod_block(web, pending)
    assert describing.line("Status", "Pending") in block and describing.line("Image", "kubeplay/httpd", 4) in block
    assert describing.pending_reason("other", plan) is None


def test_a_service_without_rules_on_any_minion_is_pending_and_lists_its_endpoints() -> None:
    web = pod("web", Container("httpd", "kubeplay/httpd", ports=(Port(80),)), labels={"app": "web"})
    service = Service("web", {}, {"app": "web"}, (ServicePort(80, 80),), Source("svc.yaml", 3))
    made = Seen(web, minion="m1").containers()
    pods = [ObservedPod("web", "m1", tuple(replace(c, ip="172.17.0.5") if c.container == "POD" else c for c in made))]
    block = describing.service_block(service, "10.0.0.9", False, pods)
    assert describing.line("Portal IP", "10.0.0.9 (given on the next apply)") in block
    assert any(text.startswith("Status:") and "Pending" in text for text in block)
    assert describing.line("Ports", "80/TCP -> 80") in block
    assert describing.line("Endpoints", "172.17.0.5:80 (web)") in block
    assert describing.line("Portal IP", "10.0.0.9") in describing.service_block(service, "10.0.0.9", True, pods)


def test_the_last_exit_of_a_restarted_container_says_its_code_is_not_kept() -> None:
    ran = ContainerState("running", 0, "2026-01-01T00:00:05Z", "2026-01-01T00:00:04Z", 1)
    assert describing._last_exit(ran) == "at 2026-01-01T00:00:04Z (its code is not kept once restarted)"
    died = ContainerState("exited", 137, "", "2026-01-01T00:00:04Z", 0, oom_killed=True)
    assert describing._last_exit(died) == "137 at 2026-01-01T00:00:04Z (killed: out of memory)"


def test_a_minion_block_lists_its_pods_or_says_they_are_unknown() -> None:
    inv = inventory("m1", "m2")
    observed = cluster(Seen(pod("redis"), minion="m1"), minions=("m1",), unreachable=("m2",))
    m1 = describing.minion_block(views.minion_row(inv.minions[0], observed.minions["m1"]), observed.minions["m1"].pods)
    assert describing.line("Pods", 1) in m1 and any(text.startswith("  redis ") for text in m1)
    m2 = describing.minion_block(views.minion_row(inv.minions[1], observed.minions["m2"]), ())
    assert describing.line("Reachable", "no") in m2 and describing.line("Error", "timed out") in m2
    assert m2[-1] == describing.line("Pods", "unknown: it could not be reached")
