"""The pure pieces around observation: Docker's container list parsed (docker-py's entry -> ContainerSummary ->
ObservedContainer), labels read back, pod status, spec diffs, probe helpers and the recap/controller summaries.

Docker list entries live in data/containers/, one per file: {"entry": <GET /containers/json item>, "expected":
{<ObservedContainer field>: value}}, in the shape Docker 20.10 returns them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kubeplay.cli.views import controller_rows, pod_status, recap_rows
from kubeplay.connectors.dockerread import container_summary
from kubeplay.dataclass import asdict, replace
from kubeplay.kubelet.execute import Result
from kubeplay.kubelet.observe import parse_container, utc_iso
from kubeplay.kubelet.probe import desired_spec, http_status
from kubeplay.model import (
    INFRA_CONTAINER,
    Container,
    Desired,
    EnvVar,
    ObservedPod,
    Pod,
    Port,
)
from kubeplay.planner.pods import Action, Failure, Plan
from kubeplay.pods.diff import spec_diff
from kubeplay.pods.labels import (
    LABEL_CONTROLLER,
    LABEL_POD_LABELS,
    LABEL_PORTS,
    LABEL_SPEC,
    container_labels,
    ports_label,
    read_pod_labels,
    read_ports,
)
from kubeplay.pods.spechash import pod_document
from tests.unit.builders import REDIS_IMAGE, Seen, cluster, inventory, pod, redis_controller

CONTAINERS = sorted((Path(__file__).parent / "data" / "containers").glob("*.json"))
REDIS = pod()

# --- Docker's container list ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CONTAINERS, ids=lambda p: p.stem)
def test_parse_container(path: Path) -> None:
    case = json.loads(path.read_text())
    parsed = parse_container(container_summary(case["entry"]))
    observed = asdict(parsed)
    observed["ports"] = [asdict(p) for p in parsed.ports]
    assert {k: observed[k] for k in case["expected"]} == case["expected"]
    assert observed["labels"] == case["entry"]["Labels"]


@pytest.mark.parametrize(
    "timestamp", [1, 1_417_348_800, 253_402_300_799, 253_402_300_800, -1, -62_135_596_800, 10**12, 10**20]
)
def test_creation_times_are_written_as_datetime_writes_them(timestamp: int) -> None:
    try:
        expected = datetime.fromtimestamp(timestamp, UTC).isoformat()
    except (ValueError, OverflowError, OSError) as exc:
        with pytest.raises(type(exc)):
            utc_iso(timestamp)
    else:
        assert utc_iso(timestamp) == expected


def test_parse_container_tolerates_missing_fields() -> None:
    parsed = parse_container(container_summary({"Id": "abc", "Labels": None, "NetworkSettings": None, "Names": None}))
    assert (parsed.id, parsed.name, parsed.pod, parsed.created, parsed.ip, parsed.labels) == ("abc", "", "", "", "", {})


# --- labels -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ports",
    [
        (),
        (Port(6379, host_port=6379),),
        (Port(53, host_port=5353, protocol="UDP", name="dns"), Port(8080, name="metrics")),
    ],
    ids=["none", "published", "udp-and-named"],
)
def test_ports_label_round_trips(ports: tuple[Port, ...]) -> None:
    with_ports = pod("p", Container("a", "x", ports=ports[:1]), Container("b", "y", ports=ports[1:]))
    assert read_ports({LABEL_PORTS: ports_label(with_ports)}) == ports


@pytest.mark.parametrize("labels", [{}, {"name": "redis"}, {"app.kubernetes.io/name": "web", "tier": ""}])
def test_pod_labels_round_trip(labels: dict[str, str]) -> None:
    written = container_labels(replace(REDIS, labels=labels), "redis", "h", "default")
    assert read_pod_labels(written) == labels


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"name"', "{}"])
def test_unreadable_labels_read_as_empty(text: str) -> None:
    assert read_pod_labels({LABEL_POD_LABELS: text}) == {}
    assert read_ports({LABEL_PORTS: text}) == ()


def test_controller_label_names_the_controller() -> None:
    assert container_labels(replace(REDIS, controller="redisController"), "redis", "h", "default")[
        LABEL_CONTROLLER
    ] == ("redisController")


# --- pod status -------------------------------------------------------------------------------------------------


def observed_pod(seen: Seen) -> ObservedPod:
    (only,) = cluster(seen).pods
    return only


PAIR = pod("pair", Container("a", REDIS_IMAGE), Container("b", REDIS_IMAGE), labels={"name": "pair"})


@pytest.mark.parametrize(
    ("seen", "status"),
    [
        pytest.param(Seen(REDIS), "Running", id="all running"),
        pytest.param(Seen(REDIS, state="created"), "Pending", id="app created, not started"),
        pytest.param(Seen(REDIS, state="restarting"), "Pending", id="app restarting"),
        pytest.param(Seen(REDIS, missing=("redis",)), "Pending", id="infra only"),
        pytest.param(Seen(REDIS, missing=(INFRA_CONTAINER,)), "Pending", id="no infra"),
        pytest.param(Seen(REDIS, state="exited", exit_code=137), "Failed", id="app killed"),
        pytest.param(Seen(REDIS, state="dead", exit_code=1), "Failed", id="app dead"),
        pytest.param(Seen(REDIS, state="exited", exit_code=0), "Terminated", id="app done"),
        pytest.param(Seen(PAIR, state="exited", exit_code=0), "Terminated", id="both apps done"),
        pytest.param(Seen(PAIR, state="exited", exit_code=2), "Failed", id="both apps failed"),
    ],
)
def test_pod_status(seen: Seen, status: str) -> None:
    assert pod_status(observed_pod(seen)) == status


# --- spec diff --------------------------------------------------------------------------------------------------


def with_spec_label(seen: Seen, document: str) -> ObservedPod:
    return observed_pod(replace(seen, extra_labels={LABEL_SPEC: document}))


def test_changed_image_is_a_minus_and_a_plus_line_with_the_field_path() -> None:
    old = with_spec_label(Seen(REDIS), pod_document(REDIS))
    new = replace(REDIS, spec=replace(REDIS.spec, containers=(replace(REDIS.spec.containers[0], image="redis:2.8"),)))
    assert spec_diff(old, new) == [
        '- spec.containers[0].image: "dockerfile/redis"',
        '+ spec.containers[0].image: "redis:2.8"',
    ]


def test_added_env_and_changed_label() -> None:
    old = with_spec_label(Seen(REDIS), pod_document(REDIS))
    container = replace(REDIS.spec.containers[0], env=(EnvVar("MODE", "master"),))
    new = replace(REDIS, labels={"name": "redis-master"}, spec=replace(REDIS.spec, containers=(container,)))
    assert spec_diff(old, new) == [
        '- labels.name: "redis"',
        '+ labels.name: "redis-master"',
        "- spec.containers[0].env: []",
        '+ spec.containers[0].env[0].name: "MODE"',
        '+ spec.containers[0].env[0].value: "master"',
    ]


def test_same_spec_has_no_diff() -> None:
    assert spec_diff(with_spec_label(Seen(REDIS), pod_document(REDIS)), REDIS) == []


def test_unknown_old_spec_is_one_line() -> None:
    assert spec_diff(observed_pod(Seen(REDIS)), REDIS) == [
        "~ the running pod's spec is unknown (no kubeplay.spec label): replaced as a whole"
    ]


# --- probe helpers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "status"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200),
        (b"HTTP/1.0 404 Not Found\r\n\r\n", 404),
        (b"HTTP/1.1 500", 500),
        (b"HTTP/1.1 301 Moved Permanently\r\nLocation: /\r\n\r\n", 301),
        (b"", 0),
        (b"-ERR unknown command 'GET'\r\n", 0),
        (b"SSH-2.0-OpenSSH_8.9\r\n", 0),
        (b"RTSP/1.0 200 OK\r\n\r\n", 0),
        (b"HTTP/1.1 OK\r\n", 0),
    ],
)
def test_http_status(response: bytes, status: int) -> None:
    assert http_status(response) == status


RC = redis_controller(2)


def test_desired_spec_of_a_standalone_pod_is_that_pod() -> None:
    assert desired_spec(observed_pod(Seen(REDIS)), Desired((REDIS,), (RC,))) is REDIS


def test_desired_spec_of_a_replica_is_its_controllers_template() -> None:
    replica = pod("redisController-bcdfg", controller="redisController")
    spec = desired_spec(observed_pod(Seen(replica)), Desired((REDIS,), (RC,)))
    expected = Pod("redisController-bcdfg", {"name": "redis"}, REDIS.spec, RC.source, "redisController", RC.selector)
    assert spec == expected


def test_desired_spec_of_a_pod_no_longer_wanted_is_none() -> None:
    orphan = pod("oldController-bcdfg", controller="oldController")
    assert desired_spec(observed_pod(Seen(orphan)), Desired((REDIS,), (RC,))) is None


# --- summaries --------------------------------------------------------------------------------------------------


def test_recap_counts_ok_changed_failed_unreachable_per_minion() -> None:
    def action(minion: str, name: str) -> Action:
        return Action("create", minion, "new pod", pod=name)

    plan = Plan(
        actions=(),
        failures=(Failure("m2", "app", "image redis:2.8 is not on m2, imagePullPolicy PullNever"),),
        unreachable={"m3": "timed out"},
        converged={"m1": 3},
    )
    results = [
        Result(action("m1", "a"), True),
        Result(action("m1", "b"), False, "port taken"),
        Result(action("m2", "c"), True),
    ]
    rows = recap_rows(plan, results, inventory("m1", "m2", "m3"))
    assert [(r.minion, r.as_dict()) for r in rows] == [
        ("m1", {"ok": 3, "changed": 1, "failed": 1, "unreachable": 0}),
        ("m2", {"ok": 0, "changed": 1, "failed": 1, "unreachable": 0}),
        ("m3", {"ok": 0, "changed": 0, "failed": 0, "unreachable": 1}),
    ]


def test_controller_rows_count_running_pods_matching_the_selector() -> None:
    replica = pod("redisController-bcdfg", controller="redisController")
    observed = cluster(
        Seen(REDIS),
        Seen(replica, minion="m2"),
        Seen(pod("redisController-cdfgh", controller="redisController"), state="exited", exit_code=1),
        Seen(pod("web", labels={"name": "web"}), minion="m2"),
        Seen(pod("elsewhere", controller="redisController"), minion="m3"),
        unreachable=["m3"],
    )
    (row,) = controller_rows(Desired((), (RC,)), observed)
    assert (row.name, row.images, row.selector, row.desired, row.running) == (
        "redisController",
        (REDIS_IMAGE,),
        {"name": "redis"},
        2,
        2,
    )
    assert row.replicas_text == "2"
    assert replace(row, running=1).replicas_text == "1/2"
