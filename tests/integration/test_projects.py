"""Projects, the empty-input guard and delete, on the lab through the CLI as users type it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE
from tests.integration.conftest import ROOT, Lab, Run, kubeplay

pytestmark = pytest.mark.integration


def pod_json(name: str, host_port: int = 0) -> str:
    port = {"containerPort": 6379, **({"hostPort": host_port} if host_port else {})}
    container = {"name": "main", "image": "dockerfile/redis", "ports": [port]}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [container]},
        }
    )


def folder(parent: Path, name: str, **pods: int) -> Path:
    """A folder ``name`` holding one manifest per pod (pod name -> host port, 0 for none)."""
    path = parent / name
    path.mkdir(exist_ok=True)
    for pod, port in pods.items():
        (path / f"{pod}.json").write_text(pod_json(pod, port))
    return path


def apply(lab: Lab, *args: str) -> Run:
    return kubeplay("apply", *args, "--yes", inventory=lab.inventory)


def pods(lab: Lab) -> dict[str, tuple[str, str]]:
    """Pod name -> (minion, project), from the minions' Docker directly."""
    found = {}
    for minion, containers in lab.kubeplay_containers().items():
        for c in containers:
            found[c["Labels"]["kubeplay.pod"]] = (minion, c["Labels"].get("kubeplay.project", ""))
    return found


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A scratch folder whose subfolders are named as projects (a tmp_path's own name is no DNS label)."""
    path = tmp_path / "w"
    path.mkdir()
    return path


def test_two_folders_applied_in_turn_both_keep_their_pods(lab: Lab, work: Path) -> None:
    shop = folder(work, "shop", cart=0, till=0)
    blog = folder(work, "blog", posts=0)
    first = apply(lab, "-f", str(shop))
    assert first.code == EXIT_OK, first.stderr
    assert first.stdout.startswith("PLAN for project shop"), first.stdout
    second = apply(lab, "-f", str(blog))
    assert second.code == EXIT_OK, second.stderr
    assert "remove" not in second.stdout, second.stdout
    assert {name: project for name, (_, project) in pods(lab).items()} == {
        "cart": "shop",
        "till": "shop",
        "posts": "blog",
    }
    again = kubeplay("apply", "-f", str(shop), "--check", "--detailed-exitcode", inventory=lab.inventory)
    assert again.code == EXIT_OK, again.stdout + again.stderr
    wide = kubeplay("get", "pods", "-o", "json", "-p", "blog", inventory=lab.inventory)
    assert [(p["id"], p["project"]) for p in wide.json()["items"]] == [("posts", "blog")]


def test_a_pod_name_of_another_project_is_refused_and_not_taken_over(lab: Lab, work: Path) -> None:
    assert apply(lab, "-f", str(folder(work, "shop", redis=0))).code == EXIT_OK
    before = pods(lab)
    run = apply(lab, "-f", str(folder(work, "blog", redis=0)))
    assert run.code == EXIT_ERROR
    minion = before["redis"][0]
    assert f"pod redis exists in project shop (on {minion}); kubeplay will not take it over" in run.stderr
    assert pods(lab) == before


def test_an_empty_folder_is_refused_and_with_allow_empty_removes_exactly_its_projects_pods(
    lab: Lab, work: Path
) -> None:
    assert apply(lab, "-f", str(folder(work, "shop", cart=0, till=0))).code == EXIT_OK
    assert apply(lab, "-f", str(folder(work, "blog", posts=0))).code == EXIT_OK
    before = pods(lab)
    empty = folder(work, "empty")
    refused = apply(lab, "-f", str(empty), "-p", "shop")
    assert refused.code == EXIT_ERROR
    assert "2 pods of project shop would be removed; pass --allow-empty to remove them" in refused.stderr
    assert pods(lab) == before
    allowed = apply(lab, "-f", str(empty), "-p", "shop", "--allow-empty")
    assert allowed.code == EXIT_OK, allowed.stderr
    assert pods(lab) == {"posts": before["posts"]}


def test_an_empty_stdin_is_refused_too(lab: Lab, work: Path) -> None:
    assert apply(lab, "-f", str(folder(work, "default", cart=0))).code == EXIT_OK
    run = kubeplay("apply", "-f", "-", "--yes", inventory=lab.inventory, stdin="")
    assert run.code == EXIT_ERROR
    assert "1 pod of project default would be removed" in run.stderr
    assert set(pods(lab)) == {"cart"}


def test_an_unreadable_subfolder_is_an_error_and_changes_nothing(lab: Lab, work: Path) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is needed to run kubeplay without root's right to read any folder")
    shop = folder(work, "shop", cart=0)
    more = shop / "more"
    more.mkdir()
    (more / "till.json").write_text(pod_json("till"))
    more.chmod(0o000)
    try:
        # root reads any folder: kubeplay runs without capabilities, so the folder's mode 000 holds for it too
        argv = ["setpriv", "--bounding-set=-all", sys.executable, "-m", "kubeplay.cli", "apply", "-f", str(shop)]
        argv += ["-i", str(lab.inventory), "--yes"]
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == EXIT_ERROR, proc.stdout + proc.stderr
        assert f"{more}: cannot read this folder: Permission denied" in proc.stderr
        assert pods(lab) == {}
    finally:
        more.chmod(0o755)


def test_upper_case_extensions_are_read_and_other_files_named_in_a_warning(lab: Lab, work: Path) -> None:
    shop = folder(work, "shop")
    (shop / "CART.JSON").write_text(pod_json("cart"))
    (shop / "notes.txt").write_text("not a manifest")
    run = apply(lab, "-f", str(shop))
    assert run.code == EXIT_OK, run.stderr
    assert set(pods(lab)) == {"cart"}
    assert f"warning: {shop / 'notes.txt'}: not a manifest" in run.stderr


def test_delete_with_limit_deletes_only_there_and_check_changes_nothing(lab: Lab, work: Path) -> None:
    spread = folder(work, "shop", **{f"r{i}": 6379 for i in range(lab.size)})  # one per minion (the host port)
    assert apply(lab, "-f", str(spread)).code == EXIT_OK
    before = pods(lab)
    on_first = next(name for name, (minion, _) in before.items() if minion == "minion-1")
    names = sorted(before)

    check = kubeplay("delete", "pod", *names, "-p", "shop", "--check", inventory=lab.inventory)
    assert check.code == EXIT_OK, check.stderr
    assert check.stdout.startswith("PLAN for project shop (check: nothing will be changed)"), check.stdout
    assert len(re.findall(r"remove +minion-\d +pod r\d", check.stdout)) == lab.size
    assert pods(lab) == before

    limited = kubeplay("delete", "pod", on_first, "-p", "shop", "--limit", "minion-2", "-y", inventory=lab.inventory)
    assert limited.code == EXIT_ERROR, "the pod is not on the minions acted on"
    assert pods(lab) == before
    run = kubeplay("delete", "pod", *names, "-p", "shop", "--limit", "minion-1", "-y", inventory=lab.inventory)
    assert run.code == EXIT_ERROR  # the other pods are not on minion-1: named, not found there
    assert pods(lab) == {n: w for n, w in before.items() if n != on_first}


def test_delete_f_removes_what_the_manifests_declare_in_their_project(lab: Lab, work: Path) -> None:
    shop = folder(work, "shop", cart=0, till=0)
    assert apply(lab, "-f", str(shop)).code == EXIT_OK
    assert apply(lab, "-f", str(folder(work, "blog", posts=0))).code == EXIT_OK
    (shop / "till.json").unlink()
    run = kubeplay("delete", "-f", str(shop), "-y", inventory=lab.inventory)
    assert run.code == EXIT_OK, run.stderr
    assert set(pods(lab)) == {"till", "posts"}


def test_every_minion_unreachable_with_a_pod_desired_exits_4_and_claims_nothing(lab: Lab, work: Path) -> None:
    closed = work / "closed.ini"
    closed.write_text(
        "[minions]\nminion-1 ansible_host=127.0.0.1 ansible_port=9\nminion-2 ansible_host=127.0.0.1 ansible_port=1\n"
    )
    run = kubeplay("apply", "-f", str(folder(work, "shop", cart=0)), "--yes", "--timeout", "2", inventory=closed)
    assert run.code == EXIT_UNREACHABLE, run.stdout + run.stderr
    assert "the cluster matches" not in run.stdout
    assert "every minion is unreachable: the state of 1 desired pod (cart) is unknown" in run.stdout
    assert "unschedulable" not in run.stderr
