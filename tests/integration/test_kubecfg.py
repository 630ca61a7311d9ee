"""kubecfg mode on the lab: the 2014 walkthrough's command lines typed verbatim, in a folder holding the seed's
files, through the `kubecfg` console script's entry point (and `kubeplay kubecfg`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, SEED, Lab, Run, kubeplay
from tests.integration.test_services import client, remove_kubeplay_network

pytestmark = pytest.mark.integration

RECORD_LABEL = "kubeplay.kubecfg"


def kubecfg(lab: Lab, folder: Path, line: str) -> Run:
    """`kubecfg LINE` as typed in ``folder``, the lab's inventory in $KUBEPLAY_INVENTORY (this checkout's code)."""
    env = {**os.environ, "KUBEPLAY_INVENTORY": str(lab.inventory), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "kubeplay.cli.kubecfg", *line.split()]
    proc = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def rows(run: Run) -> list[list[str]]:
    """The table's rows as words, after checking its header is followed by kubecfg's dashed line."""
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[1].split() == ["----------"] * len(lines[0].split())
    return [line.split() for line in lines[2:]]


def pods_running(lab: Lab) -> dict[str, str]:
    """Pod name -> the id of its infra container, of every running kubeplay pod."""
    return {
        c["Labels"]["kubeplay.pod"]: c["Id"]
        for found in lab.kubeplay_containers().values()
        for c in found
        if c["Labels"].get("kubeplay.container") == "POD" and c["State"] == "running"
    }


def records_on(lab: Lab) -> list[set[str]]:
    """The names of kubecfg's record volumes, per minion."""
    return [
        {v["Name"] for v in lab.docker(i).volumes(filters={"label": RECORD_LABEL})["Volumes"] or []}
        for i in range(lab.size)
    ]


def remove_records(lab: Lab) -> None:
    for i, names in enumerate(records_on(lab)):
        for name in names:
            lab.docker(i).remove_volume(name, force=True)


@pytest.fixture
def kc_lab(lab: Lab) -> Iterator[Lab]:
    remove_kubeplay_network(lab)
    remove_records(lab)
    yield lab
    lab.clean()
    remove_records(lab)
    remove_kubeplay_network(lab)


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    """A folder holding the seed's files, as the walkthrough's user had them."""
    folder = tmp_path / "walkthrough"
    folder.mkdir()
    for name in ("redis.json", "redisController.json", "redis-service.json"):
        shutil.copy(SEED / name, folder / name)
    return folder


def test_the_walkthrough_verbatim(kc_lab: Lab, seed: Path) -> None:
    created = kubecfg(kc_lab, seed, "-c redis.json create /pods")
    assert created.stdout.startswith("ID                  Image(s)            Host")
    ((name, image, host, labels, status),) = rows(created)
    assert (name, image, labels, status) == ("redis", "dockerfile/redis", "name=redis", "Running")
    assert host.startswith("minion-")
    assert rows(kubecfg(kc_lab, seed, "list /pods")) == [[name, image, host, labels, status]]

    controller = kubecfg(kc_lab, seed, "-c redisController.json create /replicationControllers")
    assert controller.stdout.startswith("ID                  Image(s)            Selector            Replicas\n")
    assert rows(controller) == [["redisController", "dockerfile/redis", "name=redis", "1"]]
    assert list(pods_running(kc_lab)) == ["redis"]  # the controller counts the seed's pod: no second one
    assert rows(kubecfg(kc_lab, seed, "list /replicationControllers")) == rows(controller)

    before = pods_running(kc_lab)
    again = kubecfg(kc_lab, seed, "-c redis.json create /pods")
    assert again.code == 1
    assert "pods/redis already exists" in again.stderr
    assert pods_running(kc_lab) == before
    assert rows(kubecfg(kc_lab, seed, "get /pods/redis")) == [[name, image, host, labels, status]]

    deleted = kubecfg(kc_lab, seed, "delete /pods/redis")
    assert deleted.stdout == "Status\n----------\nsuccess\n", deleted.stderr
    (replica,) = pods_running(kc_lab)  # the seed's last sentence: the controller made a new one
    assert replica.startswith("redisController-")
    missing = kubecfg(kc_lab, seed, "get /pods/redis")
    assert missing.code == 1 and "pods/redis not found" in missing.stderr

    for i, found in enumerate(kc_lab.kubeplay_containers().values()):  # its pod removed by hand, too
        for c in found:
            kc_lab.docker(i).remove_container(c["Id"], force=True, v=True)
    listed = rows(kubecfg(kc_lab, seed, "list /pods"))
    assert [r[0].startswith("redisController-") and r[-1] == "Running" for r in listed] == [True]
    assert len(pods_running(kc_lab)) == 1

    live = kubeplay("get", "rc", inventory=kc_lab.inventory)  # without -f: what the cluster says
    assert live.code == 0, live.stderr
    assert live.stdout.splitlines()[1].split() == ["redisController", "dockerfile/redis", "name=redis", "1"]

    stopped = kubeplay("kubecfg", "delete", "/replicationControllers/redisController", inventory=kc_lab.inventory)
    assert stopped.code == 0, stopped.stderr
    assert pods_running(kc_lab) == {}
    assert records_on(kc_lab) == [set()] * kc_lab.size
    assert rows(kubecfg(kc_lab, seed, "list /replicationControllers")) == []


def test_a_service_made_by_kubecfg_answers_on_its_portal_and_goes_with_delete(kc_lab: Lab, seed: Path) -> None:
    assert kubecfg(kc_lab, seed, "-c redis.json create /pods").code == 0
    created = kubecfg(kc_lab, seed, "-c redis-service.json create /services")
    ((name, labels, selector, ip, port),) = rows(created)
    assert (name, labels, selector, port) == ("redis", "name=redis", "name=redis", "6379")
    assert rows(kubecfg(kc_lab, seed, "list /services")) == [[name, labels, selector, ip, port]]
    assert rows(kubecfg(kc_lab, seed, "get /services/redis")) == [[name, labels, selector, ip, port]]
    assert "+PONG" in client(kc_lab, 2, f"printf 'PING\\r\\n' | nc -w 3 {ip} 6379")

    live = kubeplay("get", "services", inventory=kc_lab.inventory)  # without -f: what the rules say
    assert live.code == 0, live.stderr
    assert live.stdout.splitlines()[1].split() == ["redis", "name=redis", ip, "6379/TCP"]

    deleted = kubecfg(kc_lab, seed, "delete /services/redis")
    assert deleted.stdout.splitlines()[-1] == "success", deleted.stderr
    assert rows(kubecfg(kc_lab, seed, "list /services")) == []
    assert len(kubeplay("get", "services", inventory=kc_lab.inventory).stdout.splitlines()) <= 1
    assert list(pods_running(kc_lab)) == ["redis"]  # the pod stays: only the service was deleted


def test_kubecfg_never_touches_what_it_did_not_make(kc_lab: Lab, seed: Path, tmp_path: Path) -> None:
    web = {
        "id": "web",
        "kind": "Pod",
        "apiVersion": "v1beta1",
        "labels": {"app": "web"},
        "desiredState": {
            "manifest": {"version": "v1beta1", "containers": [{"name": "web", "image": "dockerfile/redis"}]}
        },
    }
    service = {"id": "web", "kind": "Service", "apiVersion": "v1beta1", "port": 80, "selector": {"app": "web"}}
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "web.json").write_text(json.dumps(web))
    (shop / "web-service.json").write_text(json.dumps(service))
    same = tmp_path / "same"
    same.mkdir()
    (same / "cache.json").write_text(json.dumps({**web, "id": "cache", "labels": {"app": "cache"}}))
    for folder, project in ((shop, "shop"), (same, "kubecfg")):  # another project, and kubecfg's own
        run = kubeplay("apply", "-f", str(folder), "-p", project, "--yes", inventory=kc_lab.inventory)
        assert run.code == 0, run.stderr
    others = pods_running(kc_lab)

    for line in ("-c redis.json create /pods", "list /pods", "delete /pods/redis", "list /services"):
        assert kubecfg(kc_lab, seed, line).code == 0
    assert pods_running(kc_lab) == others

    live = kubeplay("get", "services", inventory=kc_lab.inventory)
    assert live.code == 0, live.stderr
    ((name, selector, _ip, port),) = [line.split() for line in live.stdout.splitlines()[1:]]
    assert (name, selector, port) == ("web", "app=web", "80/TCP")
