"""`kubeplay graph`'s DOT text: every name escaped, minions holding their pods, services pointing at their
endpoints, controllers at their replicas, unreachable minions and pending pods marked."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kubeplay.cli.picture import cluster_dot, dot_quote, picture_format
from kubeplay.dataclass import replace
from kubeplay.errors import InputError
from kubeplay.model import INFRA_CONTAINER, Desired, Observed, ObservedMinion, Service, ServicePort, Source
from tests.dotgraph import parse_dot, unquote
from tests.unit.builders import Seen, cluster, pod, redis_controller

HOSTILE = [
    'a"b',
    "back\\slash",
    'end\\"',
    "new\nline",
    "\\N \\G \\l \\n",
    "tab\tcr\resc\x1b[31m",
    'x"]; "evil" -> "pwn',
    "<b>html</b>",
    "ünïcødé ✓",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_quoted_string_reads_back_as_its_text_with_control_characters_shown(text: str) -> None:
    quoted = dot_quote(text)
    shown = text.replace("\t", "\\x09").replace("\r", "\\x0d").replace("\x1b", "\\x1b")
    assert unquote(quoted) == shown
    assert "\n" not in quoted and "\r" not in quoted


def _running(seen: Seen, ip: str) -> list[ObservedMinion]:
    """The minion of ``seen`` with its pod's infra container holding ``ip``."""
    minion = cluster(seen, minions=[seen.minion]).minions[seen.minion]
    containers = tuple(replace(c, ip=ip) if c.container == INFRA_CONTAINER else c for c in minion.containers)
    return [replace(minion, containers=containers, address="10.77.0.11")]


def _service(name: str, selector: dict[str, str]) -> Service:
    return Service(name, {}, selector, (ServicePort(6379, 6379),), Source("svc.json"))


def test_minions_hold_their_pods_and_services_point_at_their_endpoints() -> None:
    redis = Seen(pod("redis-1", labels={"name": "redis"}), minion="m1")
    other = Seen(pod("web", labels={"name": "web"}), minion="m2")
    minions = {m.name: m for m in [*_running(redis, "172.20.0.2"), *_running(other, "172.21.0.2")]}
    minions["m3"] = ObservedMinion("m3", False, "timed out")
    desired = Desired(services=(_service("redis-master", {"name": "redis"}),))
    g = parse_dot(cluster_dot(Observed(minions), desired, {"redis-master": "10.0.0.5"}, {}, "default"))
    assert g.parent["pod/m1/redis-1"] == "cluster_minion/m1"
    assert g.parent["pod/m2/web"] == "cluster_minion/m2"
    assert "10.0.0.5 6379/TCP" in g.nodes["service/redis-master"]["label"]
    assert [(t, h, a["label"]) for t, h, a in g.edges] == [
        ("service/redis-master", "pod/m1/redis-1", "172.20.0.2:6379")
    ]
    assert "unreachable" in g.clusters["cluster_minion/m3"]["label"]
    assert g.clusters["cluster_minion/m3"]["color"] == "red"
    assert "timed out" in g.nodes["minion/m3"]["label"]


def test_controllers_point_at_their_replicas_and_missing_ones_are_pending() -> None:
    replica = Seen(pod("redis-x1", controller="redisController"), minion="m1")
    observed = cluster(replica, minions=["m1"])
    desired = Desired(pods=(pod("lonely", labels={"name": "lonely"}),), controllers=(redis_controller(3),))
    g = parse_dot(cluster_dot(observed, desired, {}, {}, "default"))
    edges = {(t, h) for t, h, _ in g.edges}
    assert ("rc/redisController", "pod/m1/redis-x1") in edges
    assert ("rc/redisController", "pending/rc/redisController") in edges
    assert g.nodes["pending/rc/redisController"]["label"].startswith("2 replicas of redisController")
    assert g.nodes["pending/pod/lonely"]["label"] == "lonely\nPending: not placed"
    assert "dashed" in g.nodes["pending/pod/lonely"]["style"]
    assert g.parent["pending/pod/lonely"] == "kubeplay"  # outside every minion


def test_a_pod_of_an_unreachable_cluster_is_unknown_not_pending() -> None:
    observed = cluster(minions=["m1"], unreachable=["m2"])
    g = parse_dot(cluster_dot(observed, Desired(pods=(pod("redis"),)), {}, {}, "default"))
    assert g.nodes["pending/pod/redis"]["label"] == "redis\nUnknown: m2 unreachable"


def test_hostile_names_stay_inside_their_labels() -> None:
    name = 'x"]; "evil" -> "pwn\n\\N'
    seen = Seen(pod(name, labels={"name": 'v"\\'}), minion="m1")
    observed = cluster(seen, minions=["m1"])
    svc = _service("s\\", {"name": 'v"\\'})
    dot = cluster_dot(observed, Desired(services=(svc,)), {"s\\": "10.0.0.9"}, {'old"': "10.0.0.8"}, "default")
    g = parse_dot(dot)
    assert g.nodes[f"pod/m1/{name}"]["label"].startswith(name)
    assert set(g.nodes) == {"minion/m1", f"pod/m1/{name}", "service/s\\", 'service/old"'}
    assert all(t in g.nodes and h in g.nodes for t, h, _ in g.edges)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (scripts/setup installs it)")
def test_graphviz_reads_hostile_names_without_complaint() -> None:
    seen = Seen(pod('x"]; "evil" -> "pwn\n\\N', labels={"a": "b"}), minion='m"1')
    dot = cluster_dot(cluster(seen, minions=['m"1']), Desired(pods=(pod("p\\"),)), {}, {}, "default")
    run = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=False, timeout=60)
    assert run.returncode == 0 and run.stderr == b"", run.stderr
    assert b"&quot;evil&quot;" in run.stdout


@pytest.mark.parametrize(("path", "fmt"), [(None, "dot"), ("x.svg", "svg"), ("a/b.PNG", "png"), ("g.dot", "dot")])
def test_the_picture_format_follows_the_suffix(path: str | None, fmt: str) -> None:
    assert picture_format(path) == fmt


def test_another_suffix_is_refused_before_anything_connects() -> None:
    with pytest.raises(InputError, match=r"x\.jpg: the picture is written as \.svg, \.png or \.dot"):
        picture_format("x.jpg")
