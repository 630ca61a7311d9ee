"""The service stage's pure part: portals read back, what new containers get, and each minion's sync plan."""

from __future__ import annotations

import pytest

from kubeplay.cli.views import endpoint_rows, service_rows
from kubeplay.errors import KubeplayError
from kubeplay.model import (
    INFRA_CONTAINER,
    Inventory,
    Observed,
    ObservedContainer,
    ObservedMinion,
    ObservedPod,
    Port,
    Service,
    ServicePort,
    Source,
)
from kubeplay.proxy import rules as proxy
from kubeplay.proxy.plan import (
    MinionNetwork,
    ServicePlan,
    plan_services,
    plan_sync,
    serving_pods,
)
from kubeplay.proxy.routes import FORWARD_CHAIN, Route
from kubeplay.proxy.sync import backend_problem

WEB = Service("web", {"tier": "front"}, {"app": "web"}, (ServicePort(80, "http"),), Source("web.yaml"))
REDIS = Service(
    "redis-master", {}, {"app": "redis"}, (ServicePort(6379, 6379),), Source("redis.yaml"), portal_ip="10.0.0.11"
)


def minion(n: int, reachable: bool = True) -> ObservedMinion:
    return ObservedMinion(f"m{n}", reachable, bridge_subnet=f"172.2{n}.0.0/16", address=f"10.99.0.1{n}")


def cluster(*minions: ObservedMinion) -> Observed:
    return Observed({m.name: m for m in minions})


def inventory(pod_network: bool = True) -> Inventory:
    return Inventory((), {}, {}, "inv.ini", portal_net="10.0.0.0/16", pod_network=pod_network)


def pod(name: str, minion: str, ip: str, labels: dict[str, str], state: str = "running") -> ObservedPod:
    ports = (Port(80, name="http"),)
    infra = ObservedContainer(
        "i" + name, "", name, INFRA_CONTAINER, "h", "pause", "running", pod_labels=labels, ip=ip, ports=ports
    )
    app = ObservedContainer("a" + name, "", name, "httpd", "h", "httpd", state, pod_labels=labels)
    return ObservedPod(name, minion, (infra, app))


def networks(*names: str, **rules: proxy.Ruleset) -> dict[str, MinionNetwork]:
    return {n: MinionNetwork(n, rules.get(n, proxy.Ruleset())) for n in names}


def test_portals_read_back_from_the_minions_are_kept() -> None:
    earlier = proxy.render([WEB], {"web": "10.0.7.7"}, {})
    plan = plan_services([WEB, REDIS], cluster(minion(1)), networks("m1", m1=earlier), inventory())
    assert plan.portals == {"web": "10.0.7.7", "redis-master": "10.0.0.11"}
    assert plan.hosts == {"redis-master": "10.0.0.11", "web": "10.0.7.7"}
    env = {e.name: e.value for e in plan.env}
    assert env["REDIS_MASTER_SERVICE_HOST"] == "10.0.0.11"
    assert env["WEB_PORT_80_TCP"] == "tcp://10.0.7.7:80"


def test_overlapping_pod_subnets_stop_the_run_unless_the_pod_network_is_off() -> None:
    clash = ObservedMinion("m9", True, bridge_subnet="172.21.128.0/17", address="10.99.0.19")
    observed = cluster(minion(1), clash)
    with pytest.raises(KubeplayError, match="pod subnets overlap"):
        plan_services([WEB], observed, networks("m1", "m9"), inventory())
    assert plan_services([WEB], observed, networks("m1", "m9"), inventory(pod_network=False)).routes == {}


def _plan(*minions: ObservedMinion, pod_network: bool = True) -> ServicePlan:
    return plan_services([WEB], cluster(*minions), networks(*(m.name for m in minions)), inventory(pod_network))


def test_a_minion_in_sync_gets_nothing_written() -> None:
    m1, m2 = minion(1), minion(2)
    plan = _plan(m1, m2)
    pods = [pod("web-a", "m2", "172.22.0.2", {"app": "web"})]
    first = plan_sync(plan, {"m1": m1, "m2": m2}, pods, networks("m1", "m2"))
    assert all(s.changes for s in first)
    replace = ("ip", "route", "replace", "172.22.0.0/16", "via", "10.99.0.12", "proto", "107")
    assert first[0].route_commands == (replace,)
    written = {s.minion: MinionNetwork(s.minion, s.desired, plan.routes[s.minion]) for s in first}
    again = plan_sync(plan, {"m1": m1, "m2": m2}, pods, written)
    assert [s.changes for s in again] == [False, False]
    assert [s.restore for s in again] == ["", ""]


def test_an_unreachable_minion_is_untouched_and_its_routes_and_forward_rule_are_kept_elsewhere() -> None:
    m1, m2, m3 = minion(1), minion(2), minion(3, reachable=False)
    plan = _plan(m1, m2, m3)
    routes = (Route("172.22.0.0/16", "10.99.0.12"), Route("172.23.0.0/16", "10.99.0.13"))
    reads = {"m1": MinionNetwork("m1", routes=routes), "m2": MinionNetwork("m2")}
    syncs = {s.minion: s for s in plan_sync(plan, {"m1": m1, "m2": m2, "m3": m3}, [], reads)}
    assert set(syncs) == {"m1", "m2"}
    assert syncs["m1"].route_commands == ()
    forward = syncs["m1"].desired.chains["filter"][FORWARD_CHAIN]
    assert any("172.23.0.0/16" in rule for rule in forward)


def test_with_every_minion_reachable_a_route_to_a_gone_minion_is_removed() -> None:
    m1 = minion(1)
    reads = {"m1": MinionNetwork("m1", routes=(Route("172.23.0.0/16", "10.99.0.13"),))}
    (sync,) = plan_sync(_plan(m1), {"m1": m1}, [], reads)
    assert sync.route_commands == (("ip", "route", "del", "172.23.0.0/16", "via", "10.99.0.13", "proto", "107"),)


def test_pod_network_off_means_no_routes_and_no_forward_rules() -> None:
    m1, m2 = minion(1), minion(2)
    (sync, _) = plan_sync(_plan(m1, m2, pod_network=False), {"m1": m1, "m2": m2}, [], networks("m1", "m2"))
    assert sync.route_commands == ()
    assert FORWARD_CHAIN not in sync.desired.chains.get("filter", {})


def test_limit_and_unreadable_minions_are_left_alone() -> None:
    m1, m2 = minion(1), minion(2)
    reads = {"m1": MinionNetwork("m1", error="iptables-save: not found"), "m2": MinionNetwork("m2")}
    assert [s.minion for s in plan_sync(_plan(m1, m2), {"m1": m1, "m2": m2}, [], reads)] == ["m2"]
    assert plan_sync(_plan(m1, m2), {"m1": m1, "m2": m2}, [], networks("m1", "m2"), limit={"m1"})[0].minion == "m1"


def test_only_running_pods_without_a_failed_probe_serve() -> None:
    pods = [
        pod("web-a", "m1", "172.21.0.2", {"app": "web"}),
        pod("web-b", "m1", "172.21.0.3", {"app": "web"}, state="exited"),
        pod("web-c", "m2", "172.22.0.2", {"app": "web"}),
    ]
    serving = serving_pods(pods, {("m2", "web-c")})
    assert endpoint_rows([WEB], serving)[0].endpoints == ("172.21.0.2:80",)


def test_service_rows_list_manifest_services_then_ones_only_the_minions_know() -> None:
    rows = service_rows([WEB], {"web": "10.0.0.5"}, {"web": "10.0.0.5", "old": "10.0.0.9"})
    assert [(r.name, r.ip, r.ports) for r in rows] == [("web", "10.0.0.5", ("80/TCP",)), ("old", "10.0.0.9", ())]


def test_rules_in_another_backend_than_dockers_are_refused() -> None:
    nft_with_legacy_docker = "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n"
    assert "another backend" in backend_problem(nft_with_legacy_docker)
    both_here = nft_with_legacy_docker + "*nat\n:DOCKER - [0:0]\nCOMMIT\n"
    assert backend_problem(both_here) == ""


def test_a_partial_run_keeps_the_projects_other_services_their_rules_and_their_portals() -> None:
    """kubecfg mode (``removed`` given): only the services named go, the planned ones are written, every other
    service of the project stays as read, and its portal IP is never given to a planned one."""
    applied = proxy.render([WEB, REDIS], {"web": "10.0.7.7", "redis-master": "10.0.0.11"}, {}, project="kubecfg")
    mine = Service("cache", {}, {"app": "cache"}, (ServicePort(6379, 6379),), Source("cache.json"), "10.0.7.7")
    read = networks("m1", m1=applied)
    with pytest.raises(KubeplayError, match=r"10\.0\.7\.7"):  # web's address is web's
        plan_services([mine], cluster(minion(1)), read, inventory(), "kubecfg", removed=frozenset())
    free = Service("cache", {}, {"app": "cache"}, (ServicePort(6379, 6379),), Source("cache.json"))
    plan = plan_services([free], cluster(minion(1)), read, inventory(), "kubecfg", removed=frozenset({"redis-master"}))
    assert plan.portals["cache"] not in ("10.0.7.7", "10.0.0.11")
    assert (plan.keeps("kubecfg", "web"), plan.keeps("kubecfg", "redis-master"), plan.keeps("kubecfg", "cache")) == (
        True,
        False,
        False,
    )
    (sync,) = plan_sync(plan, {"m1": minion(1)}, [], read)
    assert set(proxy.observed_portals(sync.desired)) == {"web", "cache"}
