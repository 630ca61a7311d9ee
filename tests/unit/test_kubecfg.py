"""kubecfg mode's pure parts: its command lines, its tables, the records it keeps on the minions, and the view
of the cluster it plans with."""

from __future__ import annotations

import argparse
import json

import pytest

from kubeplay.cli.kubecfg import Path, parse_path, usage_problem
from kubeplay.cli.kubecfg_run import (
    controller_table,
    created_objects,
    kubecfg_view,
    pod_table,
    service_table,
    table,
    taken,
)
from kubeplay.cli.main import build_parser
from kubeplay.cli.views import ControllerRow, PodRow, ServiceRow, live_controller_rows
from kubeplay.dataclass import replace
from kubeplay.errors import InputError
from kubeplay.kubelet import records
from kubeplay.model import (
    Container,
    Desired,
    EnvVar,
    Pod,
    PodSpec,
    Port,
    Probe,
    Service,
    ServicePort,
    Source,
    Volume,
    VolumeMount,
)
from kubeplay.pods.spechash import pod_hash, spec_data, spec_from_data, spec_hash
from tests.unit.builders import Seen, cluster, pod, redis_controller
from tests.unit.fakes import FakeConnection, connections

# --- command lines ---------------------------------------------------------------------------------------------

WALKTHROUGH = [
    ("-c redis.json create /pods", "create", Path("pods"), "redis.json"),
    ("list /pods", "list", Path("pods"), None),
    ("-c redisController.json create /replicationControllers", "create", Path("replicationControllers"), None),
    ("list /replicationControllers", "list", Path("replicationControllers"), None),
    ("get /pods/redis", "get", Path("pods", "redis"), None),
    ("delete /pods/redis", "delete", Path("pods", "redis"), None),
    (
        "delete /replicationControllers/redisController",
        "delete",
        Path("replicationControllers", "redisController"),
        None,
    ),
    ("-h http://localhost:8080 list /services", "list", Path("services"), None),
]


@pytest.mark.parametrize(("line", "verb", "path", "config"), WALKTHROUGH)
def test_the_walkthroughs_command_lines_parse_verbatim(line: str, verb: str, path: Path, config: str | None) -> None:
    args = build_parser().parse_args(["kubecfg", *line.split()])
    assert (args.verb, args.path) == (verb, path)
    if config:
        assert args.config == config
    assert usage_problem(args.verb, args.path, args.config) is None
    assert args.host == ("http://localhost:8080" if "-h" in line else None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/pods", Path("pods")),
        ("pods/", Path("pods")),
        ("/replicationcontrollers/web", Path("replicationControllers", "web")),
        ("/Services/redis", Path("services", "redis")),
    ],
)
def test_paths_are_read_as_kubecfg_trimmed_them(text: str, expected: Path) -> None:
    assert parse_path(text) == expected
    assert str(parse_path(str(expected))) == str(expected)


@pytest.mark.parametrize("text", ["/minions", "/pods/a/b", "", "/pods//x", "/podz"])
def test_other_paths_are_usage_errors(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="/pods, /replicationControllers, /services"):
        parse_path(text)


@pytest.mark.parametrize(
    ("verb", "path", "config", "problem"),
    [
        ("get", Path("pods"), None, "get needs a name"),
        ("delete", Path("services"), None, "delete needs a name"),
        ("create", Path("pods"), None, "create needs the file"),
        ("create", Path("pods", "redis"), "redis.json", "create takes no name"),
        ("list", Path("pods", "redis"), None, "list takes no name"),
        ("list", Path("pods"), "redis.json", "-c FILE is for create"),
    ],
)
def test_verbs_paths_and_files_that_do_not_go_together(verb: str, path: Path, config: str | None, problem: str) -> None:
    found = usage_problem(verb, path, config)
    assert found is not None and found.startswith(problem)


def test_a_usage_error_exits_5(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["kubecfg", "list", "/minions"])
    assert exited.value.code == 5
    assert "/RESOURCE" in capsys.readouterr().err


# --- tables ----------------------------------------------------------------------------------------------------

SEED_PODS = """\
ID                  Image(s)            Host                Labels              Status
----------          ----------          ----------          ----------          ----------
redis               dockerfile/redis    127.0.0.1/          name=redis          Running"""
"""The seed's `kubecfg list /pods`, as the 2014 article printed it."""

SEED_CONTROLLERS = """\
ID                  Image(s)            Selector            Replicas
----------          ----------          ----------          ----------
redisController     dockerfile/redis    name=redis          1"""


def test_the_seeds_pod_table_is_printed_as_kubecfg_printed_it() -> None:
    row = PodRow("redis", ("dockerfile/redis",), "127.0.0.1", "", {"name": "redis"}, "Running")
    assert pod_table([row]) == SEED_PODS


def test_the_seeds_controller_table_is_printed_as_kubecfg_printed_it() -> None:
    row = ControllerRow("redisController", ("dockerfile/redis",), {"name": "redis"}, 1, 0)
    assert controller_table([row]) == SEED_CONTROLLERS


def test_a_cell_wider_than_a_column_widens_it_by_three_and_the_last_column_is_not_padded() -> None:
    text = table(("ID", "Status"), [("redisController-x7k2q", "Running")])
    assert text.splitlines() == [
        "ID                      Status",
        "----------              ----------",
        "redisController-x7k2q   Running",
    ]


def test_the_service_table_has_kubecfgs_columns_and_port_numbers() -> None:
    row = ServiceRow("redis", {"name": "redis"}, {"name": "redis"}, "10.0.0.11", ("6379/TCP",))
    header, dashes, line = service_table([row]).splitlines()
    assert header.split() == ["Name", "Labels", "Selector", "IP", "Port"]
    assert dashes.split() == ["----------"] * 5
    assert line.split() == ["redis", "name=redis", "name=redis", "10.0.0.11", "6379"]


def test_an_empty_list_is_the_header_and_the_dashes() -> None:
    assert pod_table([]).splitlines()[1].split() == ["----------"] * 5


# --- records ---------------------------------------------------------------------------------------------------

RICH = Pod(
    "rich",
    {"name": "rich", "tier": "db"},
    PodSpec(
        (
            Container(
                "main",
                "registry.local:5000/app:1.2",
                command=("run", "--fast"),
                ports=(Port(80, 8080, "TCP", "", "http"), Port(53, 0, "UDP")),
                env=(EnvVar("MODE", "prod"),),
                cpu=250,
                memory=64 << 20,
                volume_mounts=(VolumeMount("data", "/data", read_only=True),),
                liveness_probe=Probe("httpGet", port="http", path="/healthz", initial_delay_seconds=3),
            ),
        ),
        volumes=(Volume("data", "/var/lib/kubeplay/data/x"),),
        restart_policy="onFailure",
        node_selector={"disk": "ssd"},
    ),
    Source("rich.json"),
)
SERVICE = Service(
    "redis",
    {"name": "redis"},
    {"name": "redis"},
    (ServicePort(6379, "redis", "TCP", "main"), ServicePort(53, 53, "UDP", "dns")),
    Source("redis-service.json"),
    portal_ip="10.0.0.11",
    session_affinity="ClientIP",
    public_ips=("192.0.2.7",),
)


def test_a_kept_spec_reads_back_with_the_same_hash() -> None:
    document = json.loads(json.dumps(spec_data(RICH.spec, RICH.labels)))
    assert spec_hash(spec_from_data(document["spec"]), RICH.labels) == pod_hash(RICH)


@pytest.mark.parametrize("obj", [RICH, redis_controller(3), SERVICE], ids=["pod", "controller", "service"])
def test_every_kind_reads_back_from_its_record(obj: records.KubecfgObject) -> None:
    record = records.record_of(obj, "kubecfg", "2026-11-30T00:00:00+00:00")
    back = records.decode(record)
    assert replace(back, source=obj.source) == obj
    assert record.volume == f"kpcfg_kubecfg_{records.kind_of(obj)}_{obj.name}"


def test_a_replica_of_a_recorded_controller_has_the_hash_of_one_made_from_the_manifest() -> None:
    rc = redis_controller(1)
    back = records.decode(records.record_of(rc, "kubecfg", "t"))
    assert isinstance(back, type(rc))
    assert pod_hash(back.replica("redisController-bcdfg")) == pod_hash(rc.replica("redisController-bcdfg"))


def _held(*found: records.Record) -> dict[str, dict[str, str]]:
    return {r.volume: r.labels() for r in found}


def test_records_merge_over_minions_the_newest_copy_winning_and_the_rest_rewritten() -> None:
    old = records.record_of(redis_controller(1), "kubecfg", "2026-11-29T10:00:00+00:00")
    new = records.record_of(redis_controller(3), "kubecfg", "2026-11-30T10:00:00+00:00")
    pod_record = records.record_of(pod(), "kubecfg", "2026-11-30T10:00:00+00:00")
    merged = records.merge({"m1": _held(old, pod_record), "m2": _held(new), "m3": {}})
    assert merged.records[old.volume] == new
    found = [replace(o, source=Source("x")) for o in merged.of_project("kubecfg")]
    assert found == [replace(o, source=Source("x")) for o in (pod(), redis_controller(3))]
    assert merged.missing == {"m1": (new,), "m2": (pod_record,), "m3": (pod_record, new)}
    assert merged.of_project("other") == []


def test_a_record_that_does_not_read_back_is_ignored_with_a_warning() -> None:
    good = records.record_of(pod(), "kubecfg", "t")
    bad = replace(records.record_of(pod("evil"), "kubecfg", "t"), body='{"name": "evil", "spec": 3}')
    renamed = records.Record("pods", "x", "kubecfg", good.body)  # its body names another pod
    merged = records.merge({"m1": _held(good, bad, renamed)})
    assert [o.name for o in merged.of_project("kubecfg")] == ["redis"]
    assert len(merged.warnings) == 2
    assert all("does not read back" in w for w in merged.warnings)
    assert merged.missing == {}


# --- create, and the view kubecfg plans with -------------------------------------------------------------------


def test_create_takes_only_objects_of_the_paths_kind_and_no_secret() -> None:
    assert created_objects(Desired(pods=(pod(),)), Path("pods"), "redis.json") == [pod()]
    with pytest.raises(InputError, match="create it with /replicationControllers"):
        created_objects(Desired(controllers=(redis_controller(),)), Path("pods"), "redisController.json")
    secret = pod("db", Container("db", "postgres", env=(EnvVar("DB_PASSWORD", "hunter2"),)))
    with pytest.raises(InputError, match="DB_PASSWORD looks secret"):
        created_objects(Desired(pods=(secret,)), Path("pods"), "db.json")
    with pytest.raises(InputError, match="holds no object"):
        created_objects(Desired(), Path("services"), "empty.json")


def test_a_name_is_taken_by_kubecfgs_own_objects_and_by_any_projects_pods_controllers_and_services() -> None:
    observed = cluster(Seen(pod("web", labels={"app": "web"}), project="shop"))
    assert taken(pod(), [pod()], observed, {}) == "pods/redis already exists"
    assert taken(pod("web"), [], observed, {}) == "pods/web already exists (on m1, project shop)"
    assert taken(pod("other"), [], observed, {}) == ""
    replica = pod("redisController-bcdfg", controller="redisController")
    in_use = cluster(Seen(replica, minion="m2", project="default"))
    assert "project default" in taken(redis_controller(), [], in_use, {})
    assert taken(SERVICE, [], observed, {"redis": "shop"}) == "services/redis already exists (project shop)"
    assert taken(SERVICE, [], observed, {}) == ""


def test_the_projects_pods_kubecfg_did_not_make_are_seen_as_another_projects() -> None:
    mine = pod()
    replica = pod("redisController-bcdfg", controller="redisController")
    applied = pod("web", labels={"app": "web"})
    elsewhere = pod("shop", labels={"app": "shop"})
    observed = cluster(
        Seen(mine, project="kubecfg"),
        Seen(replica, minion="m2", project="kubecfg"),
        Seen(applied, minion="m2", project="kubecfg"),
        Seen(elsewhere, project="shop"),
    )
    view = kubecfg_view(observed, "kubecfg", [mine, redis_controller()])
    projects = {p.name: p.project for p in view.pods}
    assert projects == {
        "redis": "kubecfg",
        "redisController-bcdfg": "kubecfg",
        "web": "kubecfg (not kubecfg's)",
        "shop": "shop",
    }


# --- get rc without -f -----------------------------------------------------------------------------------------


def test_controllers_are_read_from_their_replicas_labels_and_from_kubecfgs_records() -> None:
    web = replace(redis_controller(2), name="web", selector={"app": "web"})
    web = replace(web, template=replace(web.template, labels={"app": "web"}))
    replicas = [Seen(web.replica(f"web-{s}"), minion=m, project="shop") for s, m in (("bcdfg", "m1"), ("ghjkl", "m2"))]
    stopped = replace(replicas[1], state="exited", exit_code=1)
    observed = cluster(replicas[0], stopped, Seen(pod(), project="kubecfg"))
    rows = live_controller_rows(observed, [("kubecfg", redis_controller(1))])
    found = [(r.name, r.images, r.selector, r.replicas_text) for r in rows]
    assert found == [
        ("redisController", ("dockerfile/redis",), {"name": "redis"}, "1"),  # the standalone redis counts
        ("web", ("dockerfile/redis",), {"app": "web"}, "1"),  # the one running replica
    ]


def test_records_are_written_to_every_minion_read_back_repaired_and_removed() -> None:
    conns = connections(FakeConnection("m1"), FakeConnection("m2"))
    rc = records.record_of(redis_controller(1), "kubecfg", "t")
    assert records.write(conns, {"m1": [rc]}, forks=2) == []  # m2 was unreachable when it was created
    merged = records.merge(records.read(conns, forks=2))
    assert [o.name for o in merged.of_project("kubecfg")] == ["redisController"]
    assert merged.missing == {"m2": (rc,)}
    assert records.write(conns, merged.missing, forks=2) == []
    assert records.merge(records.read(conns, forks=2)).missing == {}
    assert records.remove(conns, [rc], forks=2) == []
    assert records.read(conns, forks=2) == {"m1": {}, "m2": {}}


def test_a_record_that_cannot_be_written_is_reported() -> None:
    broken = FakeConnection("m2")
    broken.fake_docker.fail("create_volume", message="no space left on device")
    conns = connections(FakeConnection("m1"), broken)
    rc = records.record_of(redis_controller(1), "kubecfg", "t")
    errors = records.write(conns, {"m1": [rc], "m2": [rc]}, forks=2)
    assert len(errors) == 1 and errors[0].startswith("m2: cannot record replicationControllers/redisController")
