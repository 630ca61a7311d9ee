"""Left to cron, CI and systemd, on the lab through the CLI (issue 9, items 7 and 8): -q, -vv, --log-file and
`-o json` checked against their JSON Schemas, and `apply --every` bringing back a pod deleted by hand."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kubeplay.reconcile import folder_project
from tests.integration.conftest import ROOT, Lab, kubeplay
from tests.integration.test_replication import pod_containers, remove_by_hand
from tests.integration.test_services import pod_names, remove_kubeplay_network, web_inventory, web_manifest

pytestmark = pytest.mark.integration

INTERVAL = 3


def validator(name: str) -> jsonschema.Draft202012Validator:
    found = json.loads((resources.files("kubeplay") / "schemas" / name).read_text())
    return jsonschema.Draft202012Validator(found, format_checker=jsonschema.FormatChecker())


def log_lines(path: Path) -> list[dict[str, Any]]:
    """The log file's lines, each checked against the log's schema."""
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    check = validator("log.schema.json")
    for line in lines:
        check.validate(line)
    return lines


def running_pods(lab: Lab, prefix: str) -> set[str]:
    """Pods whose every container runs, straight from the minions' dockerd."""
    return {p for p in pod_names(lab, prefix) if all(c["State"] == "running" for _, c in pod_containers(lab, p))}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``condition`` held; fails after ``timeout``."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.2)
    return time.monotonic() - began


def round_ends(log: Path, exit: int | None = None) -> list[dict[str, Any]]:
    return [e for e in log_lines(log) if e["event"] == "round-end" and exit in (None, e["exit"])]


def a_round(log: Path) -> float:
    """An interval and the longest round so far (on a busy machine a round takes seconds of its own), and 2 s."""
    return INTERVAL + float(max(e["seconds"] for e in round_ends(log))) + 2


@pytest.fixture
def cron_lab(lab: Lab) -> Iterator[Lab]:
    remove_kubeplay_network(lab)
    yield lab
    lab.clean()
    remove_kubeplay_network(lab)


def test_json_output_and_log_lines_of_a_real_apply_match_their_schemas_and_q_is_silent_once_converged(
    cron_lab: Lab, tmp_path: Path
) -> None:
    inventory, manifest = web_inventory(cron_lab, tmp_path), web_manifest(tmp_path, replicas=2)
    log = tmp_path / "kubeplay.log"
    run = kubeplay("apply", "-f", str(manifest), "-y", "-o", "json", "--log-file", str(log), inventory=inventory)
    assert run.code == 0, run.stderr
    doc = run.json()
    validator("apply.schema.json").validate(doc)
    assert doc["schema"] == 1
    assert [r["verb"] for r in doc["results"]].count("create") == 2 and all(r["ok"] for r in doc["results"])

    start, *events, end = log_lines(log)
    assert (
        start["event"] == "run-start"
        and start["project"] == folder_project(tmp_path.name)
        and start["command"][1] == "apply"
    )
    actions = [(e["minion"], e["verb"], e["subject"]) for e in events if e["event"] == "action"]
    assert sorted(actions) == sorted((r["minion"], r["verb"], r["pod"] or r["image"]) for r in doc["results"])
    writes = [(e["minion"], e["what"]) for e in events if e["event"] == "network"]
    assert sorted(writes) == sorted((n["minion"], n["what"]) for n in doc["network_results"]) and writes
    assert end["event"] == "run-end" and end["exit"] == 0 and end["counts"]["changed"] == len(actions) + len(writes)

    quiet = kubeplay("apply", "-f", str(manifest), "-y", "-q", inventory=inventory)
    assert (quiet.code, quiet.stdout, quiet.stderr) == (0, "", "")

    traced = kubeplay("apply", "-f", str(manifest), "-y", "-vv", inventory=inventory)
    assert traced.code == 0, traced.stderr
    spawned = traced.stderr.partition("kubeplay: minion-1: spawn sh -c ")[2]
    assert "iptables-save" in spawned.partition("\nkubeplay: ")[0], "the one program's trace shows its rules read"
    assert "kubeplay: minion-1: docker containers kubeplay.pod: " in traced.stderr


def test_apply_every_brings_back_a_pod_deleted_by_hand_survives_a_bad_edit_and_stops_on_sigterm(
    cron_lab: Lab, tmp_path: Path
) -> None:
    inventory, manifest = web_inventory(cron_lab, tmp_path), web_manifest(tmp_path, replicas=2)
    log = tmp_path / "loop.log"
    argv = ["apply", "--every", str(INTERVAL), "-f", str(manifest), "-i", str(inventory), "--log-file", str(log)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubeplay.cli", *argv],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: bool(round_ends(log)), 120, "the first round")
        assert len(running_pods(cron_lab, "web-")) == 2
        victim = sorted(running_pods(cron_lab, "web-"))[0]
        remove_by_hand(cron_lab, victim)
        back = wait_for(lambda: len(running_pods(cron_lab, "web-")) == 2, 2 * a_round(log), "the replica back")
        print(f"a replica deleted by hand was back in {back:.1f} s (interval {INTERVAL} s)")

        good = manifest.read_text()
        manifest.write_text(good.replace("replicas: 2", "replicas: two"))
        wait_for(lambda: bool(round_ends(log, exit=1)), 2 * a_round(log), "a round with the bad edit")
        bad = round_ends(log, exit=1)[0]
        assert "replicas" in bad["error"]
        # that round changed nothing (read from its log lines: the pods may still be settling from the round before)
        assert not [e for e in log_lines(log) if e.get("round") == bad["round"] and e["event"] in ("action", "network")]
        manifest.write_text(good)
        rounds = len(round_ends(log))
        wait_for(lambda: len(round_ends(log)) > rounds + 1, 2 * a_round(log), "two more rounds")
        assert round_ends(log)[-1]["exit"] == 0
        assert proc.poll() is None, "the loop goes on"

        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped after" in err and "Traceback" not in err
    lines = log_lines(log)
    assert lines[-1]["event"] == "run-end" and lines[-1]["exit"] == 0
    assert lines[-1]["counts"]["rounds"] == len([e for e in lines if e["event"] == "round-start"]) >= 4
    failed = round_ends(log, exit=1)
    assert lines[-1]["counts"]["failed"] == len(failed) >= 1 and f"{len(failed)} rounds failed" in err
