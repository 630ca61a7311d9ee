"""The verbs that keep the manifest files the truth, on the lab through the CLI (issue 12): `scale` edits the file
(comments and key order kept) and converges, `run` writes a controller's file and its pods run, `rollout status`
follows a rolling update to its end.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import PROJECT, ROOT, SEED, Lab, kubeplay
from tests.integration.test_replication import EXIT_OK, running_replicas

pytestmark = pytest.mark.integration

CACHE_YAML = """\
# The cache tier. Keep this comment: scale must not touch it.
apiVersion: v1
kind: ReplicationController
metadata:
  name: cache          # the service selects app=cache
spec:
  replicas: 1   # start small
  selector: {app: cache}
  template:
    metadata:
      labels:
        app: cache
    spec:
      containers:
        - name: redis
          image: 'dockerfile/redis'   # quoted on purpose
          imagePullPolicy: IfNotPresent
          env: [{name: GENERATION, value: "1"}]
"""


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def project_folder(tmp_path: Path, *files: tuple[str, str]) -> Path:
    folder = tmp_path / PROJECT
    folder.mkdir()
    for name, text in files:
        (folder / name).write_text(text)
    return folder


def nothing_to_change(lab: Lab, folder: Path) -> bool:
    """`apply` of the folder changes nothing: the cluster is as the files say."""
    run = kubeplay("apply", "-f", str(folder), "-p", PROJECT, "--yes", "--detailed-exitcode", inventory=lab.inventory)
    assert run.code in (0, 2), run.stderr
    return run.code == 0


def test_scale_edits_a_commented_yaml_file_in_place_and_converges(lab: Lab, tmp_path: Path) -> None:
    folder = project_folder(tmp_path, ("cache.yaml", CACHE_YAML))
    file = folder / "cache.yaml"
    scaled = kubeplay(
        "scale", "rc", "cache", "--replicas", "3", "-f", str(file), "-p", PROJECT, "--yes", inventory=lab.inventory
    )
    assert scaled.code == EXIT_OK, scaled.stderr
    assert changed_lines(CACHE_YAML, file.read_text()) == [
        "-  replicas: 1   # start small\n",
        "+  replicas: 3   # start small\n",
    ]
    assert "+  replicas: 3   # start small" in scaled.stdout  # the diff shown
    assert len(running_replicas(lab, "cache")) == 3
    assert nothing_to_change(lab, folder)  # the file is the truth: a later apply keeps 3


def test_scale_edits_the_seed_s_json_keeping_its_key_order_and_converges(lab: Lab, tmp_path: Path) -> None:
    seed = (SEED / "redisController.json").read_text()
    folder = project_folder(tmp_path, ("redisController.json", seed))
    file = folder / "redisController.json"
    assert kubeplay("apply", "-f", str(folder), "-p", PROJECT, "--yes", inventory=lab.inventory).code == EXIT_OK
    assert len(running_replicas(lab, "redisController")) == 1
    scaled = kubeplay(
        "scale", "rc", "redisController", "--replicas", "2", "-f", str(folder), "-p", PROJECT, "--yes",
        inventory=lab.inventory,
    )  # fmt: skip
    assert scaled.code == EXIT_OK, scaled.stderr
    edited = file.read_text()
    assert changed_lines(seed, edited) == ['-     "replicas": 1,\n', '+     "replicas": 2,\n']
    assert list(json.loads(edited)) == list(json.loads(seed))  # the key order
    assert len(running_replicas(lab, "redisController")) == 2
    assert nothing_to_change(lab, folder)


def test_run_writes_a_controller_file_and_get_pods_shows_its_replicas(lab: Lab, tmp_path: Path) -> None:
    file = tmp_path / PROJECT / "hello.yaml"
    ran = kubeplay(
        "run", "hello", "--image", "dockerfile/redis", "--replicas", "2", "--port", "6379", "-l", "app=hello",
        "-o", str(file), "-p", PROJECT, "--yes", inventory=lab.inventory,
    )  # fmt: skip
    assert ran.code == EXIT_OK, ran.stderr
    got = kubeplay("get", "pods", "-l", "app=hello", "-o", "json", inventory=lab.inventory)
    assert got.code == EXIT_OK, got.stderr
    items = got.json()["items"]
    assert [(i["controller"], i["status"]) for i in items] == [("hello", "Running")] * 2
    again = kubeplay("run", "hello", "--image", "busybox", "-o", str(file), "--yes", inventory=lab.inventory)
    assert again.code != EXIT_OK and "exists" in again.stderr
    assert nothing_to_change(lab, file.parent)


def test_rollout_status_follows_a_template_change_to_its_end(lab: Lab, tmp_path: Path) -> None:
    folder = project_folder(tmp_path, ("cache.yaml", CACHE_YAML.replace("replicas: 1", "replicas: 3")))
    assert kubeplay("apply", "-f", str(folder), "-p", PROJECT, "--yes", inventory=lab.inventory).code == EXIT_OK
    status = ["rollout", "status", "rc", "cache", "-f", str(folder), "-p", PROJECT, "-i", str(lab.inventory)]
    done = kubeplay(*status, "--timeout", "30")
    assert done.code == EXIT_OK, done.stderr
    assert done.stdout.splitlines() == ["cache: rolled out: 3 of 3 replicas updated and running"]

    (folder / "cache.yaml").write_text((folder / "cache.yaml").read_text().replace('value: "1"', 'value: "2"'))
    stale = kubeplay(*status, "--timeout", "1", "--interval", "0.5")
    assert stale.code == 1
    assert "cache: 0 of 3 replicas updated, 0 of them running; 3 old" in stale.stdout
    assert "timed out after 1 s" in stale.stderr

    follow = subprocess.Popen(
        [sys.executable, "-m", "kubeplay.cli", *status, "--timeout", "240", "--interval", "0.5"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert follow.stdout is not None
    first = follow.stdout.readline()  # it has looked once, before the apply starts: all three replicas are old
    assert first == "cache: 0 of 3 replicas updated, 0 of them running; 3 old\n"
    applied = kubeplay("apply", "-f", str(folder), "-p", PROJECT, "--yes", inventory=lab.inventory)
    assert applied.code == EXIT_OK, applied.stderr
    out, err = follow.communicate(timeout=240)
    assert follow.returncode == EXIT_OK, err
    assert out.splitlines()[-1] == "cache: rolled out: 3 of 3 replicas updated and running"
    assert nothing_to_change(lab, folder)
