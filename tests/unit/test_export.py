"""`export --to kubernetes`: every manifest kubeplay ships or tests with, exported, loads into the official
Kubernetes Python client's models (nothing unknown to them, nothing required missing), and carries its fields over."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient, V1Container
from kubernetes.utils import parse_quantity

from kubeplay.dataclass import replace
from kubeplay.manifests import load_manifests
from kubeplay.manifests.kubernetes import Exported, export, inventory_notes, kubernetes_name, to_yaml
from kubeplay.model import Container, Desired, PodSpec, Service, ServicePort, Source
from tests.unit.builders import inventory, pod

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "unit" / "data" / "manifests"
MANIFESTS = sorted(
    p
    for folder in (ROOT / "manifests", FIXTURES)
    for p in folder.rglob("*")
    if p.is_file()
    and p.name.lower().removesuffix(".j2").endswith((".json", ".yaml", ".yml"))
    and not any(part.startswith(".") for part in p.relative_to(folder).parts)
)
"""Every manifest under manifests/ (examples included) and every valid fixture (tests/bad holds the invalid ones)."""
VARIABLES = {"lab_registry": "10.77.0.1:5000", "app": "web", "image": "nginx:1.7", "ports": [80, 443], "replicas": 4}
"""What the templates among them take (the lab's inventory gives lab_registry)."""
HANDLERS = {"httpGet": "http_get", "tcpSocket": "tcp_socket", "exec": "var_exec"}
"""A probe kind and the client model's attribute for it."""
MODELS = {"Deployment": "V1Deployment", "Service": "V1Service", "Pod": "V1Pod"}

client = ApiClient()
serialised: Callable[[Any], Any] = client.sanitize_for_serialization
quantity: Callable[[str], Decimal] = parse_quantity
"""(Both untyped in the client.)"""


def as_model(document: dict[str, Any]) -> Any:
    """The document as the Kubernetes client's model; it must serialise back to the same document, so no field
    was unknown to the model (the client drops those) or of another type."""
    model = client.deserialize(json.dumps(document), MODELS[document["kind"]], "application/json")
    assert serialised(model) == document
    return model


def check_containers(spec: PodSpec, exported: Any) -> None:
    """The containers of ``spec`` against the client's V1PodSpec ``exported``."""
    containers: list[V1Container] = exported.containers
    assert [(c.name, c.image) for c in containers] == [(c.name, c.image) for c in spec.containers]
    for c, k in zip(spec.containers, containers, strict=True):
        assert [(p.container_port, p.host_port or None) for p in k.ports or []] == [
            (p.container_port, p.host_port or None) for p in c.ports
        ]
        assert list(k.args or []) == list(c.command)
        assert [(e.name, e.value) for e in k.env or []] == [(e.name, e.value) for e in c.env]
        for side in ("requests", "limits"):
            given = getattr(k.resources, side) if k.resources else None
            cpu = quantity(given["cpu"]) * 1000 if given and "cpu" in given else Decimal(0)
            memory = quantity(given["memory"]) if given and "memory" in given else Decimal(0)
            assert (cpu, memory) == (Decimal(c.cpu), Decimal(c.memory))
        probe: Any = k.liveness_probe
        if c.liveness_probe is None:
            assert probe is None
        else:
            assert getattr(probe, HANDLERS[c.liveness_probe.kind]) is not None
            assert probe.initial_delay_seconds == c.liveness_probe.initial_delay_seconds
    assert exported.restart_policy.lower() == spec.restart_policy.lower()
    assert (exported.node_selector or {}) == spec.node_selector


def by_name(objects: list[Exported], kind: str, name: str) -> Any:
    (document,) = [o.document for o in objects if o.document["kind"] == kind and o.document["metadata"]["name"] == name]
    return as_model(document)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_manifest_exports_to_kubernetes_objects_with_its_fields(path: Path) -> None:
    desired = load_manifests([str(path)], VARIABLES)
    objects = export(desired)
    assert len(objects) == len(desired.pods) + len(desired.controllers) + len(desired.services)
    for rc in desired.controllers:
        deployment = by_name(objects, "Deployment", kubernetes_name(rc.name))
        assert deployment.api_version == "apps/v1"
        assert deployment.spec.replicas == rc.replicas
        assert deployment.spec.selector.match_labels == rc.selector
        assert deployment.spec.template.metadata.labels == rc.template.labels
        check_containers(rc.template.spec, deployment.spec.template.spec)
    for p in desired.pods:
        pod_model = by_name(objects, "Pod", kubernetes_name(p.name))
        assert (pod_model.metadata.labels or {}) == p.labels
        check_containers(p.spec, pod_model.spec)
    for s in desired.services:
        service = by_name(objects, "Service", s.name)
        assert service.spec.selector == s.selector
        assert [(p.port, p.target_port, p.protocol) for p in service.spec.ports] == [
            (p.port, p.target_port, p.protocol) for p in s.ports
        ]
        assert service.spec.cluster_ip is None  # a real cluster allocates its own, unless --keep-ips
    assert MANIFESTS, "no manifest found"
    assert list(yaml.safe_load_all(to_yaml(objects, ["header"]))) == [o.document for o in objects]


def test_keep_ips_keeps_the_portal_ip_as_cluster_ip() -> None:
    service = Service("db", {}, {"name": "db"}, (ServicePort(5432, "pg"),), Source("db.json"), portal_ip="10.0.0.9")
    (kept,) = export(Desired(services=(service,)), keep_ips=True)
    (dropped,) = export(Desired(services=(service,)))
    assert as_model(kept.document).spec.cluster_ip == "10.0.0.9"
    assert as_model(dropped.document).spec.cluster_ip is None
    assert any("10.0.0.9" in note for note in dropped.notes)


def test_what_kubernetes_reads_differently_is_noted_above_the_object() -> None:
    relaxed = pod("redisMaster", labels={"uses": "redisslave,redis-master"})
    (exported,) = export(Desired(pods=(relaxed,)))
    assert exported.document["metadata"]["name"] == "redis-master"
    notes = "\n".join(exported.notes)
    assert "named redis-master" in notes
    assert "label uses='redisslave,redis-master' is refused" in notes
    assert "hostPort 6379/TCP" in notes
    plain = pod("cache", Container("redis", "dockerfile/redis"), labels={"name": "cache"})
    assert export(Desired(pods=(plain,)))[0].notes == ()


def test_inventory_facts_without_kubernetes_objects_are_notes() -> None:
    inv = inventory("m1", "m2")
    first = replace(inv.minions[0], cordoned=True, labels={"disk": "ssd"})
    notes = inventory_notes(replace(inv, minions=(first, *inv.minions[1:])))
    assert notes == [
        "minion m1 is cordoned: kubectl cordon NODE (the node that takes its place)",
        "minion m1 has labels disk=ssd: kubectl label node NODE disk=ssd",
    ]
