"""`kubeplay graph` on the lab: after the seed manifests (and the redis service) are applied, the DOT text holds a
node for every pod (inside its minion), every service and every controller, an edge for every endpoint, and a
pending node for a declared pod that runs nowhere; -o x.svg draws it with Graphviz."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dotgraph import parse_dot
from tests.integration.conftest import PROJECT, SEED_ARGS, Lab, kubeplay

pytestmark = pytest.mark.integration

LONELY = {
    "id": "lonely",
    "kind": "Pod",
    "apiVersion": "v1beta1",
    "desiredState": {"manifest": {"version": "v1beta1", "id": "lonely", "containers": [{"name": "a", "image": "x"}]}},
    "labels": {"name": "lonely"},
}
"""A pod the test declares but never applies: Pending in the picture."""


@pytest.fixture
def seeded(lab: Lab) -> Iterator[Lab]:
    run = kubeplay("apply", *SEED_ARGS, "-p", PROJECT, "--yes", inventory=lab.inventory)
    assert run.code == 0, run.stderr
    yield lab
    gone = kubeplay("delete", *SEED_ARGS, "-p", PROJECT, "--yes", inventory=lab.inventory)
    assert gone.code == 0, gone.stderr


def _items(lab: Lab, kind: str) -> list[dict[str, object]]:
    run = kubeplay("get", kind, *SEED_ARGS, "-o", "json", inventory=lab.inventory)
    assert run.code == 0, run.stderr
    items = run.json()["items"]
    assert isinstance(items, list)
    return items


def test_graph_draws_every_pod_service_and_endpoint(seeded: Lab, tmp_path: Path) -> None:
    lonely = tmp_path / "lonely.json"
    lonely.write_text(json.dumps(LONELY))
    run = kubeplay("graph", *SEED_ARGS, "-f", str(lonely), "-p", PROJECT, inventory=seeded.inventory)
    assert run.code == 0, run.stderr
    g = parse_dot(run.stdout)

    pods, services, endpoints = _items(seeded, "pods"), _items(seeded, "services"), _items(seeded, "endpoints")
    assert pods and services and any(e["endpoints"] for e in endpoints)
    for p in pods:
        node = f"pod/{p['host']}/{p['id']}"
        assert g.parent[node] == f"cluster_minion/{p['host']}"
        assert g.nodes[node]["label"].startswith(f"{p['id']}\n{p['status']}\n{p['podIP']}")
    for s in services:
        assert f"service/{s['id']}" in g.nodes
    edges = {(t, h, a.get("label", "")) for t, h, a in g.edges}
    for e in endpoints:
        for address in e["endpoints"]:  # type: ignore[attr-defined]
            pod = next(p for p in pods if address.startswith(f"{p['podIP']}:"))
            assert (f"service/{e['id']}", f"pod/{pod['host']}/{pod['id']}", address) in edges
    assert all(t in g.nodes and h in g.nodes for t, h, _ in g.edges)
    assert {f"minion/{m.name}" for m in seeded.layout.minions} <= g.nodes.keys()
    assert g.nodes["pending/pod/lonely"]["label"] == "lonely\nPending: not placed"
    assert "rc/redisController" in g.nodes

    svg = tmp_path / "cluster.svg"
    drawn = kubeplay("graph", *SEED_ARGS, "-p", PROJECT, "-o", str(svg), inventory=seeded.inventory)
    assert drawn.code == 0, drawn.stderr
    assert drawn.stdout == ""
    assert f"wrote the picture to {svg}" in drawn.stderr
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert all(f">{p['id']}</text>" in text for p in pods)
