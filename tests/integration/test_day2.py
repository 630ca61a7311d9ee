"""The day-2 verbs on the lab, through the CLI users type (issue 12): `get minions`, `describe`, `logs`, `exec`.

Every test starts from a lab without kubeplay pods and leaves none behind (the ``lab`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import PROJECT, Lab, Run, kubeplay

pytestmark = pytest.mark.integration

EXIT_OK, EXIT_ERROR, EXIT_UNREACHABLE = 0, 1, 4


def manifest(kind: str, name: str, spec: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def redis_container(**extra: Any) -> dict[str, Any]:
    return {"name": "redis", "image": "dockerfile/redis", "imagePullPolicy": "IfNotPresent", **extra}


def write(path: Path, *documents: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n---\n".join(json.dumps(d) for d in documents))
    return path


def apply(lab: Lab, path: Path) -> Run:
    return kubeplay("apply", "-f", str(path), "--yes", "-p", PROJECT, inventory=lab.inventory)


def pod_minions(lab: Lab) -> dict[str, str]:
    """Pod name -> the minion it runs on, as `get pods -o json` says."""
    run = kubeplay("get", "pods", "-o", "json", inventory=lab.inventory)
    assert run.code == EXIT_OK, run.stderr
    return {item["id"]: item["host"] for item in run.json()["items"]}


# --- get minions --------------------------------------------------------------------------------------------------


def test_get_minions_rows_show_capacity_and_the_requests_of_the_pods_placed(lab: Lab, tmp_path: Path) -> None:
    limits = {"resources": {"limits": {"cpu": "250m", "memory": "64Mi"}}}
    pods = [
        manifest("Pod", f"sized-{i}", {"containers": [redis_container(**limits)]}, {"app": "sized"}) for i in range(2)
    ]
    assert apply(lab, write(tmp_path / "m" / "sized.yaml", *pods)).code == EXIT_OK
    where = pod_minions(lab)

    run = kubeplay("get", "minions", "-o", "json", inventory=lab.inventory)
    assert run.code == EXIT_OK, run.stderr
    doc = run.json()
    assert doc["schema"] == 1 and doc["kind"] == "MinionList"
    items = {item["name"]: item for item in doc["items"]}
    assert sorted(items) == [m.name for m in lab.layout.minions]
    for i, m in enumerate(lab.layout.minions):
        mine = [p for p, on in where.items() if on == m.name]
        item = items[m.name]
        assert (item["reachable"], item["cordoned"], item["address"]) == (True, False, m.address)
        assert item["pods"] == len(mine)
        assert item["cpu"] == {"capacity": lab.docker(i).info()["NCPU"] * 1000, "allocated": 250 * len(mine)}
        assert item["memory"]["allocated"] == (64 << 20) * len(mine)

    table = kubeplay("get", "nodes", inventory=lab.inventory)
    assert table.code == EXIT_OK, table.stderr
    header, *rows = [line.split() for line in table.stdout.splitlines()]
    assert header == ["Name", "Address", "Reachable", "Cordoned", "Pods", "CPU", "Memory", "Labels"]
    busy = where["sized-0"]
    row = next(r for r in rows if r[0] == busy)
    count = sum(1 for on in where.values() if on == busy)
    assert row[2:6] == ["yes", "no", str(count), f"{250 * count}m/{lab.docker(0).info()['NCPU']}"]
    assert row[6].startswith(f"{64 * count}Mi/")
