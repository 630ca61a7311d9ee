"""Host paths by consent and secrets kept hidden, through the CLI against the lab's real dockerd and sshd."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubeplay.pods.secrets import MASK
from tests.integration.conftest import PROJECT, Lab, kubeplay
from tests.integration.test_pods import app, apply, container_ids, find_pod, pod_yaml, write

HTTPD = "{{ lab_registry }}/kubeplay/httpd"
"""The lab's busybox image (a .j2 manifest names it): it has cat."""


def mounting(name: str, host_path: str, image: str = "dockerfile/redis") -> str:
    """A pod whose container mounts ``host_path`` of its minion at /data."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "volumes": [{"name": "data", "hostPath": {"path": host_path}}],
                "containers": [
                    {
                        "name": "main",
                        "image": image,
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    }
                ],
            },
        }
    )


def test_a_host_path_of_root_is_refused_before_anything_changes(lab: Lab, tmp_path: Path) -> None:
    manifest = write(tmp_path, "root.json", mounting("rooted", "/"))
    run = apply(lab, manifest)
    assert run.code == 1
    assert "no minion of the inventory allows this pod" in run.stderr
    assert "privileged hostPath / not allowed (kubeplay_host_paths, kubeplay_allow_privileged)" in run.stderr
    assert "observing" not in run.stderr  # refused before connecting to any minion
    assert container_ids(lab) == set()
    granted = kubeplay(
        "apply", "-f", str(manifest), "--yes", "-e", "kubeplay_allow_privileged=yes", inventory=lab.inventory
    )
    assert granted.code == 1 and "not with -e" in granted.stderr
    assert container_ids(lab) == set()


def test_a_host_path_under_kubeplay_host_paths_is_mounted(lab: Lab, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello.txt").write_text("from the minion\n")
    inventory = tmp_path / "inv.ini"
    inventory.write_text(lab.inventory.read_text() + f'kubeplay_host_paths=["{shared}"]\n')
    manifest = write(tmp_path, "shared.json.j2", mounting("shared", str(shared), HTTPD))
    run = kubeplay("apply", "-f", str(manifest), "--yes", inventory=inventory)
    assert run.code == 0, run.stdout + run.stderr
    index, containers = find_pod(lab, "shared")
    main = lab.docker(index).inspect_container(app(containers)["Id"])
    assert main["HostConfig"]["Binds"] == [f"{shared}:/data:rw"]
    exec_id = lab.docker(index).exec_create(main["Id"], ["cat", "/data/hello.txt"])["Id"]
    assert lab.docker(index).exec_start(exec_id) == b"from the minion\n"
    elsewhere = write(tmp_path, "elsewhere.json", mounting("elsewhere", str(tmp_path)))
    refused = kubeplay("apply", "-f", str(elsewhere), "--yes", inventory=inventory)
    assert refused.code == 1 and f"hostPath {tmp_path} not allowed (kubeplay_host_paths)" in refused.stderr


def with_password(name: str, password: str) -> str:
    env = [{"name": "DB_PASSWORD", "value": password}, {"name": "MODE", "value": "primary"}]
    return pod_yaml(name, env=env)


def labels_of_pod(lab: Lab, pod: str) -> list[dict[str, Any]]:
    index, containers = find_pod(lab, pod)
    return [lab.docker(index).inspect_container(c["Id"])["Config"]["Labels"] for c in containers]


def test_secret_env_values_are_masked_and_never_stored_in_labels(lab: Lab, tmp_path: Path) -> None:
    manifest = write(tmp_path, "db.json", with_password("db", "first-s3cret-value"))
    assert apply(lab, manifest).code == 0
    for labels in labels_of_pod(lab, "db"):
        assert all("first-s3cret-value" not in value for value in labels.values()), labels
    write(tmp_path, "db.json", with_password("db", "second-s3cret-value"))

    text = kubeplay("apply", "-f", str(manifest), "-p", PROJECT, "--check", "--diff", inventory=lab.inventory)
    assert f"- spec.containers[0].env[0].value: {MASK}" in text.stdout, text.stdout + text.stderr
    assert f"+ spec.containers[0].env[0].value: {MASK}" in text.stdout
    assert "s3cret" not in text.stdout + text.stderr

    as_json = kubeplay(
        "apply", "-f", str(manifest), "-p", PROJECT, "--check", "--diff", "-o", "json", inventory=lab.inventory
    )
    (replaced,) = as_json.json()["plan"]
    assert replaced["verb"] == "replace" and f"+ spec.containers[0].env[0].value: {MASK}" in replaced["diff"]
    assert "s3cret" not in as_json.stdout

    shown = kubeplay(
        "apply",
        "-f",
        str(manifest),
        "-p",
        PROJECT,
        "--check",
        "--diff",
        "-o",
        "json",
        "--show-secrets",
        inventory=lab.inventory,
    )
    assert '+ spec.containers[0].env[0].value: "second-s3cret-value"' in shown.json()["plan"][0]["diff"]

    assert apply(lab, manifest).code == 0
    for labels in labels_of_pod(lab, "db"):
        assert all("s3cret" not in value for value in labels.values()), labels
    index, containers = find_pod(lab, "db")
    env = lab.docker(index).inspect_container(app(containers)["Id"])["Config"]["Env"]
    assert "DB_PASSWORD=second-s3cret-value" in env  # the container itself still gets its value
