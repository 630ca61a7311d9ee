"""Projects scope a run: how the project is chosen, what the planner may touch, names another project holds, the
empty-input guard, other projects' proxy rules kept as they are, and which files under -f are manifests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubeplay import reconcile
from kubeplay.dataclass import replace
from kubeplay.errors import InputError
from kubeplay.manifests import load_manifests
from kubeplay.manifests.sources import is_manifest
from kubeplay.model import DEFAULT_PROJECT, Desired, Observed, ObservedMinion, Service, ServicePort, Source
from kubeplay.planner.pods import Options, Plan, plan_pods
from kubeplay.planner.scheduler import get_scheduler
from kubeplay.proxy import rules as proxy
from kubeplay.proxy.endpoints import Endpoint
from kubeplay.proxy.plan import MinionNetwork, ServicePlan, plan_services, plan_sync
from kubeplay.proxy.portals import allocate_portals
from tests.unit.builders import Seen, cluster, inventory, pod, redis_controller
from tests.unit.fakes import FakeConnection
from tests.unit.test_reconcile import MANIFESTS, Screen, connect_to, pods_on

# --- which project -----------------------------------------------------------------------------------------------


def test_the_project_is_p_then_the_inventory_then_the_environment_then_the_folder(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    file = str(shop / "app.yaml")
    inventory_says = {"kubeplay_project": "inv"}
    environment_says = {"KUBEPLAY_PROJECT": "env"}
    assert reconcile.resolve_project("cli", inventory_says, environment_says, [file]) == "cli"
    assert reconcile.resolve_project(None, inventory_says, environment_says, [file]) == "inv"
    assert reconcile.resolve_project(None, {}, environment_says, [file]) == "env"
    assert reconcile.resolve_project(None, {}, {}, [file, "-"]) == "shop"  # a file: its folder's name
    assert reconcile.resolve_project(None, {}, {}, [str(shop)]) == "shop"  # a folder: its own name
    assert reconcile.resolve_project(None, {}, {}, [str(shop) + os.sep]) == "shop"
    assert reconcile.resolve_project(None, {}, {}, ["-", file]) == DEFAULT_PROJECT  # stdin
    assert reconcile.resolve_project(None, {}, {}, []) == DEFAULT_PROJECT


@pytest.mark.parametrize(
    ("explicit", "folder", "named"),
    [
        ("Shop", "shop", "'Shop' (from -p"),
        ("-x", "shop", "'-x' (from -p"),
        ("my_app", "shop", "'my_app' (from -p"),  # a name given as such is never changed
        (None, "___", "'' (from the folder of -f"),  # a folder's name with nothing left of it
    ],
)
def test_a_project_that_is_no_dns_label_is_a_clear_error(
    tmp_path: Path, explicit: str | None, folder: str, named: str
) -> None:
    path = tmp_path / folder
    path.mkdir()
    with pytest.raises(InputError) as raised:
        reconcile.resolve_project(explicit, {}, {}, [str(path)])
    message = str(raised.value)
    assert f"project name {named}" in message
    assert "name the project with -p NAME" in message


@pytest.mark.parametrize(
    ("folder", "project"),
    [
        ("Shop_Manifests", "shop-manifests"),
        ("web.app", "web-app"),
        ("_tmp_", "tmp"),
        ("test_kill_at0", "test-kill-at0"),
    ],
)
def test_a_folder_name_is_made_a_project_name_as_compose_does(tmp_path: Path, folder: str, project: str) -> None:
    path = tmp_path / folder
    path.mkdir()
    assert reconcile.resolve_project(None, {}, {}, [str(path)]) == project


# --- the planner -------------------------------------------------------------------------------------------------


def plan(desired: Desired, observed: Observed, project: str = "shop") -> Plan:
    options = Options(scheduler=get_scheduler("default"), project=project)
    return plan_pods(desired, observed, inventory(), options)


def test_an_apply_never_removes_another_projects_pods_but_they_hold_their_host_ports() -> None:
    blog = Seen(pod("blog-redis"), minion="m1", project="blog")
    old = Seen(pod("old", labels={"name": "old"}), minion="m2", project="shop")
    result = plan(Desired(pods=(pod("cache"),)), cluster(blog, old))
    lines = [f"{a.verb} {a.minion} {a.pod}" for a in result.actions]
    # cache wants host port 6379, which blog's pod holds on m1: it goes to m2; shop's own stale pod goes
    assert lines == ["remove m2 old", "create m2 cache"]
    assert result.project == "shop"


def test_pods_made_before_projects_are_of_the_project_default() -> None:
    unlabelled = Seen(pod("legacy"), project=DEFAULT_PROJECT)
    assert not plan(Desired(), cluster(unlabelled), project="shop").actions
    removed = plan(Desired(), cluster(unlabelled), project=DEFAULT_PROJECT).actions
    assert [(a.verb, a.pod) for a in removed] == [("remove", "legacy")]


def test_a_controller_counts_only_its_own_projects_replicas() -> None:
    theirs = Seen(replace(pod("redis-x1"), controller="other"), project="blog")
    result = plan(Desired(controllers=(redis_controller(1),)), cluster(theirs))
    assert [a.verb for a in result.actions] == ["create"] and result.actions[0].pod.startswith("redisController-")


def test_a_pod_name_of_another_project_is_an_error_naming_it() -> None:
    with pytest.raises(InputError) as raised:
        plan(Desired(pods=(pod("redis"),)), cluster(Seen(pod("redis"), minion="m2", project="blog")))
    assert str(raised.value) == (
        "redis.json: Pod redis: pod redis exists in project blog (on m2); kubeplay will not take it over: "
        "rename it, or apply with -p blog"
    )


def test_a_controller_name_of_another_project_is_an_error_naming_it() -> None:
    replica = Seen(replace(pod("redisController-abcde"), controller="redisController"), project="blog")
    with pytest.raises(InputError, match=r"replication controller redisController exists in project blog"):
        plan(Desired(controllers=(redis_controller(),)), cluster(replica))


def test_with_every_minion_unreachable_desired_pods_are_unknown_not_unschedulable() -> None:
    result = plan(Desired(pods=(pod("redis"),)), cluster(minions=(), unreachable=("m1", "m2")))
    assert result.unknown == ("redis",)
    assert not result.unschedulable and not result.actions
    assert set(result.unreachable) == {"m1", "m2"}


# --- services ----------------------------------------------------------------------------------------------------

WEB = Service("web", {}, {"app": "web"}, (ServicePort(80, 80),), Source("web.yaml"))
BLOG = Service("blog", {}, {"app": "blog"}, (ServicePort(80, 80),), Source("blog.yaml"))
M1 = ObservedMinion("m1", True, bridge_subnet="172.21.0.0/16", address="10.99.0.11")


def blog_rules() -> proxy.Ruleset:
    """m1's rules after project blog applied its service with one local endpoint."""
    endpoints = {"blog": (Endpoint("b", "172.21.0.7", 80),)}
    return proxy.render([BLOG], {"blog": "10.0.0.20"}, endpoints, local_pod_subnet=M1.bridge_subnet, project="blog")


def sync(rules: proxy.Ruleset, services: ServicePlan) -> proxy.Ruleset:
    (one,) = plan_sync(services, {"m1": M1}, [], {"m1": MinionNetwork("m1", rules)})
    return one.desired


def shop_services(rules: proxy.Ruleset, *services: Service) -> ServicePlan:
    network = {"m1": MinionNetwork("m1", rules)}
    return plan_services(services, Observed({"m1": M1}), network, replace(inventory(), pod_network=False), "shop")


def test_another_projects_service_rules_are_kept_as_read_and_a_second_run_writes_nothing() -> None:
    before = blog_rules()
    after = sync(before, shop_services(before, WEB))
    assert set(proxy.kept_services(after, lambda project, name: project == "blog")[0].chains) == set(
        proxy.kept_services(before, lambda project, name: True)[0].chains
    )
    assert proxy.observed_projects(after) == {"blog": "blog", "web": "shop"}
    assert any("-d 172.21.0.7/32 -j MASQUERADE" in r for r in after.chains["nat"][proxy.POSTROUTING_CHAIN])
    assert proxy.in_sync(after, sync(after, shop_services(after, WEB)))


def test_a_project_removes_only_its_own_services_rules() -> None:
    both = sync(blog_rules(), shop_services(blog_rules(), WEB))
    shop_gone = sync(both, shop_services(both))
    assert proxy.observed_projects(shop_gone) == {"blog": "blog"}
    assert proxy.in_sync(shop_gone, blog_rules())


def test_a_service_name_of_another_project_is_an_error() -> None:
    with pytest.raises(InputError, match=r"service blog exists in project blog; kubeplay will not take it over"):
        shop_services(blog_rules(), replace(BLOG, source=Source("shop.yaml")))


def test_another_projects_portal_ip_is_never_given_out_again() -> None:
    wanted = replace(WEB, portal_ip="10.0.0.20")
    with pytest.raises(InputError, match=r"10\.0\.0\.20 is already the portal IP of service blog \(project blog\)"):
        allocate_portals([wanted], {"blog": "10.0.0.20"}, "10.0.0.0/24", {"blog": "blog"})
    # a /30 has two usable addresses: with blog holding one, web gets the other
    assert allocate_portals([WEB], {"blog": "10.0.0.1"}, "10.0.0.0/30", {"blog": "blog"}) == {"web": "10.0.0.2"}


# --- the empty-input guard, on the whole run ---------------------------------------------------------------------

INVENTORY = "[minions]\nm1\nm2\n\n[all:vars]\nkubeplay_pod_network = false\n"


def load(tmp_path: Path, folder: str, text: str | None) -> reconcile.Inputs:
    path = tmp_path / folder
    path.mkdir(exist_ok=True)
    for old in path.iterdir():
        old.unlink()
    if text is not None:
        (path / "app.yaml").write_text(text)
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    return reconcile.load([str(path)], str(tmp_path / "hosts.ini"), {}, None, environ={})


def run(
    inputs: reconcile.Inputs, minions: dict[str, FakeConnection], *, allow_empty: bool = False
) -> reconcile.Outcome:
    options = reconcile.ApplyOptions(get_scheduler("default"), allow_empty=allow_empty)
    with reconcile.observe(inputs, connect_to(minions), forks=4, network=True) as seen:
        return reconcile.apply(inputs, seen, options, Screen())


def test_an_empty_folder_is_refused_while_the_project_has_pods_and_allowed_with_allow_empty(
    tmp_path: Path, minions: dict[str, FakeConnection]
) -> None:
    run(load(tmp_path, "shop", MANIFESTS), minions)
    blog = MANIFESTS.replace("name: redis", "name: blog-redis").replace("6379", "6380").replace("web", "blogweb")
    run(load(tmp_path, "blog", blog), minions)
    before = pods_on(minions)
    assert sum(len(names) for names in before.values()) == 12  # 6 pods of 2 containers

    empty = load(tmp_path, "shop", None)
    assert empty.project == "shop" and not empty.desired.pods
    with pytest.raises(reconcile.EmptyInputRefused) as refused:
        run(empty, minions)
    assert str(refused.value) == "3 pods of project shop would be removed; pass --allow-empty to remove them"
    assert pods_on(minions) == before

    outcome = run(empty, minions, allow_empty=True)
    assert sorted(a.pod.split("-")[0] for a in outcome.plan.pods.actions) == ["redis", "web", "web"]
    left = {c.rsplit("_", 1)[0] for names in pods_on(minions).values() for c in names}
    assert left == {"kp_blog-redis"} | {p for p in left if p.startswith("kp_blogweb-")} and len(left) == 3


def test_an_empty_input_with_nothing_of_the_project_on_the_cluster_is_fine(
    tmp_path: Path, minions: dict[str, FakeConnection]
) -> None:
    outcome = run(load(tmp_path, "shop", ""), minions)
    assert not outcome.failed and not outcome.plan.pods.actions


# --- which files are manifests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a.json", "A.JSON", "b.YML", "c.Yaml", "d.yaml.j2", "e.Yaml.J2", "f.JSON.j2"])
def test_manifest_extensions_match_in_any_case(name: str) -> None:
    assert is_manifest(name)


@pytest.mark.parametrize("name", ["README.md", "a.json.bak", "j2", "notes.txt"])
def test_other_files_are_no_manifests(name: str) -> None:
    assert not is_manifest(name)


def test_an_upper_case_json_file_is_read_as_json_and_other_files_are_named_in_warnings(tmp_path: Path) -> None:
    (tmp_path / "REDIS.JSON").write_text(
        '{"id": "redis", "kind": "Pod", "apiVersion": "v1beta1",'
        ' "desiredState": {"manifest": {"version": "v1beta1", "id": "redis",'
        ' "containers": [{"name": "redis", "image": "dockerfile/redis"}]}}}'
    )
    (tmp_path / "README.md").write_text("# notes")
    (tmp_path / ".hidden").write_text("")
    warnings: list[str] = []
    desired = load_manifests([str(tmp_path)], warnings=warnings)
    assert [p.name for p in desired.pods] == ["redis"]
    assert warnings == [
        f"{tmp_path / 'README.md'}: not a manifest (not .json, .yaml or .yml, or a .j2 of them): skipped"
    ]


def test_a_folder_that_cannot_be_read_is_an_error_not_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputError) as raised:
        load_manifests([str(tmp_path)])
    assert str(raised.value) == f"{locked}: cannot read this folder: Permission denied"
