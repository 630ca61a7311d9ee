"""`get minions`: each minion's row (capacity as the scheduler sees it, allocated from the pods' kept specs), its
cells and its JSON against the shipped schema; and the requests the scheduler reads back from a pod's label."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from kubeplay.cli import render, views
from kubeplay.dataclass import replace
from kubeplay.model import Container, Desired, ObservedPod
from kubeplay.planner.pods import Options, plan_pods
from kubeplay.planner.scheduler import PlacedPod, get_scheduler
from kubeplay.pods.labels import LABEL_SPEC, read_probes, read_requests
from kubeplay.pods.spechash import pod_document
from kubeplay.quantities import format_cpu, format_memory
from tests.unit.builders import Seen, cluster, inventory, pod


def sized(name: str, cpu: int, memory: int) -> Seen:
    """A running pod with one container requesting cpu (millicores) and memory (bytes), its spec kept in its label."""
    desired = pod(name, Container("main", "busybox", cpu=cpu, memory=memory), labels={"app": name})
    return Seen(desired, extra_labels={LABEL_SPEC: pod_document(desired)})


def test_allocated_is_the_sum_of_the_requests_of_the_pods_on_the_minion() -> None:
    observed = cluster(sized("a", 500, 64 << 20), sized("b", 250, 32 << 20), minions=("m1", "m2"))
    inv = inventory("m1", "m2")
    inv = replace(inv, minions=(replace(inv.minions[0], cpu=4000, labels={"disk": "ssd"}), inv.minions[1]))
    rows = views.minion_rows(inv, observed)
    m1, m2 = rows
    assert (m1.pods, m1.cpu_allocated, m1.memory_allocated) == (2, 750, 96 << 20)
    assert (m1.cpu_capacity, m1.labels) == (4000, {"disk": "ssd"})  # the inventory's capacity wins
    assert (m2.pods, m2.cpu_allocated, m2.memory_allocated, m2.cpu_capacity) == (0, 0, 0, 0)
    assert render.minion_cells(m1)[5:7] == ["750m/4", "96Mi/?"]


def test_an_unreachable_minion_is_listed_with_its_pods_and_allocations_unknown() -> None:
    observed = cluster(minions=("m1",), unreachable=("m2",))
    m1, m2 = views.minion_rows(inventory("m1", "m2"), observed)
    assert m1.reachable and m1.pods == 0
    assert not m2.reachable and m2.pods is None and m2.cpu_allocated is None and m2.error == "timed out"
    assert render.minion_cells(m2, wide=True)[2:5] == ["no", "no", "?"]
    assert render.minion_cells(m2, wide=True)[-1] == "timed out"


def test_minions_json_follows_its_schema() -> None:
    observed = cluster(sized("a", 500, 64 << 20), minions=("m1",), unreachable=("m2",))
    doc = {"schema": render.MINIONS_SCHEMA, "kind": "MinionList"}
    doc["items"] = [r.as_dict() for r in views.minion_rows(inventory("m1", "m2"), observed)]
    schema = json.loads((resources.files("kubeplay") / "schemas" / "minions.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({**doc, "schema": 2})


def test_the_scheduler_counts_an_observed_pods_requests_from_its_kept_spec() -> None:
    (seen,) = cluster(sized("a", 1500, 1 << 30), minions=("m1",)).pods
    assert read_requests(seen.infra.labels if seen.infra else {}) == (1500, 1 << 30)
    assert (PlacedPod.observed(seen).cpu, PlacedPod.observed(seen).memory) == (1500, 1 << 30)
    bare = ObservedPod("b", "m1", tuple(replace(c, labels={}) for c in seen.containers))
    assert (PlacedPod.observed(bare).cpu, PlacedPod.observed(bare).memory) == (0, 0)  # unknown: nothing counted


@pytest.mark.parametrize("text", ["", "not json", '{"spec": 3}', '{"spec": {"containers": [{"cpu": "x"}]}}'])
def test_a_kept_spec_not_as_kubeplay_writes_it_gives_no_requests_and_no_probes(text: str) -> None:
    assert read_requests({LABEL_SPEC: text}) == (0, 0)
    assert read_probes({LABEL_SPEC: text}) == {}


@pytest.mark.parametrize(("millicores", "shown"), [(0, "0"), (250, "250m"), (2000, "2"), (2500, "2500m")])
def test_cpu_is_shown_in_cores_or_millicores(millicores: int, shown: str) -> None:
    assert format_cpu(millicores) == shown


@pytest.mark.parametrize(
    ("size", "shown"), [(0, "0"), (512, "512"), (128 << 20, "128Mi"), (int(3.8 * (1 << 30)), "3.8Gi"), (4 << 30, "4Gi")]
)
def test_memory_is_shown_with_a_binary_suffix(size: int, shown: str) -> None:
    assert format_memory(size) == shown


def test_another_projects_pod_holds_its_requests_for_the_scheduler() -> None:
    """Its manifests are not given, so the requests come from the spec kept on its infra container."""
    other = replace(sized("theirs", 1500, 0), project="other")
    observed = cluster(other, minions=("m1",))
    inv = inventory("m1")
    inv = replace(inv, minions=(replace(inv.minions[0], cpu=2000),))
    mine = pod("mine", Container("main", "busybox", cpu=1000), labels={"app": "mine"})
    plan = plan_pods(Desired(pods=(mine,)), observed, inv, Options(get_scheduler("default"), project="shop"))
    assert plan.unschedulable == {"mine": "1 minion: 1 insufficient cpu"}
