"""The live view on the lab, through a pseudo-terminal: `apply` asks first (no display while asking), then draws
per minion its actions, the image pulls with bytes and speed, the pods created and the recap, and gives the
terminal back as it was, also on Ctrl-C; without a terminal the output stays one line per event. `get pods -w`
redraws its table until Ctrl-C, which exits 0; without a terminal it prints each round after a blank line."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import PROJECT, ROOT, SEED_ARGS, Lab, kubeplay
from tests.integration.terminal import HIDE_CURSOR, Terminal

pytestmark = pytest.mark.integration


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for t in opened:
        t.close()


def _open(terminals: list[Terminal], *argv: str) -> Terminal:
    t = Terminal(list(argv))
    terminals.append(t)
    return t


def _remove_image(lab: Lab, part: str) -> list[str]:
    """Remove the images whose reference holds ``part`` from every minion (the next apply pulls them)."""
    removed = []
    for i in range(lab.size):
        api = lab.docker(i)
        for tag in [t for image in api.images() for t in image.get("RepoTags") or [] if part in t]:
            api.remove_image(tag, force=True)
            removed.append(tag)
    return removed


def _pods(lab: Lab) -> list[dict[str, str]]:
    run = kubeplay("get", "pods", "-o", "json", inventory=lab.inventory)
    assert run.code == 0, run.stderr
    items = run.json()["items"]
    assert isinstance(items, list)
    return items


def test_apply_on_a_terminal_asks_then_draws_each_minions_work_pulls_and_the_recap(
    lab: Lab, terminals: list[Terminal]
) -> None:
    assert _remove_image(lab, "kubeplay/httpd"), "the seed's web pod runs the lab's httpd image"
    t = _open(terminals, "apply", *SEED_ARGS, "-p", PROJECT, "-i", str(lab.inventory))
    t.read_until(rb"Apply these \d+ changes")
    assert HIDE_CURSOR not in t.output  # no display while the question is asked
    t.write(b"y\r")
    assert t.wait() == 0, t.text
    assert t.restored()

    text = t.text
    pods = _pods(lab)
    assert len(pods) == 2
    for host in {p["host"] for p in pods}:
        assert re.search(rf"✓ {re.escape(host)} \S+ (\d+)/\1 done", text), host
    assert re.search(r"pods created \S+ 2/2", text)
    web = next(p for p in pods if p["id"] == "web")
    drawn = re.findall(rf"pull \S+/kubeplay/httpd on {re.escape(web['host'])} \S+ ([0-9.]+)/([0-9.]+) ([kMG]?B) ", text)
    assert drawn, "the pull's bar, with its bytes"  # drawn again at each refresh: mid-pull too on a slow machine
    done, total, _ = drawn[-1]
    assert done == total, f"the pull's bytes, all of them at the end: {drawn}"
    assert re.search(r"[0-9.]+ [kMG]?B/s", text)  # and its speed
    assert text.rfind("RECAP") > text.rfind("pods created")
    assert re.search(rf"{re.escape(web['host'])} +0 +[1-9]\d* +0 +0", text[text.rfind("RECAP") :])


SPIN = {
    "id": "spin",
    "kind": "ReplicationController",
    "apiVersion": "v1beta1",
    "desiredState": {
        "replicas": 9,
        "replicaSelector": {"name": "spin"},
        "podTemplate": {
            "desiredState": {
                "manifest": {
                    "version": "v1beta1",
                    "id": "spin",
                    "containers": [{"name": "redis", "image": "dockerfile/redis"}],
                }
            },
            "labels": {"name": "spin"},
        },
    },
    "labels": {"name": "spin"},
}
"""Nine replicas: creating them keeps the display up for a few seconds."""


def test_ctrl_c_while_the_live_view_is_drawn_gives_the_terminal_back(
    lab: Lab, terminals: list[Terminal], tmp_path: Path
) -> None:
    manifest = tmp_path / "spin.json"
    manifest.write_text(json.dumps(SPIN))
    t = _open(terminals, "apply", "-f", str(manifest), "-p", PROJECT, "--yes", "-i", str(lab.inventory))
    t.read_until_text(r"minion-\d \S+ \d/\d create spin-")  # the display is up, creating replicas
    t.interrupt()
    assert t.wait() == 130
    assert t.restored()
    assert t.text.rstrip().endswith("error: interrupted")


def test_without_a_terminal_apply_prints_one_line_per_event_as_before(lab: Lab) -> None:
    run = kubeplay("apply", *SEED_ARGS, "-p", PROJECT, "--yes", inventory=lab.inventory)
    assert run.code == 0, run.stderr
    assert "\x1b" not in run.stdout + run.stderr
    assert "pods created" not in run.stderr
    assert all(re.match(r"(kubeplay|note|warning): ", line) for line in run.stderr.splitlines()), run.stderr
    for p in _pods(lab):
        assert f"kubeplay: {p['host']}: create {p['id']}: ok\n" in run.stderr
    assert run.stdout.startswith("PLAN for project itest\n") and "\nRECAP\n" in run.stdout


def test_get_pods_watch_on_a_terminal_redraws_the_table_until_ctrl_c(lab: Lab, terminals: list[Terminal]) -> None:
    t = _open(terminals, "get", "pods", "-w", "--interval", "0.5", "-i", str(lab.inventory))
    t.read_until_text(r"round 1 at [0-9:]+\nID +Image\(s\) +Host +Labels +Status")
    t.read_until_text(r"round 2 at [0-9:]+\nID +Image\(s\) +Host +Labels +Status")
    t.interrupt()
    assert t.wait() == 0
    assert t.restored()
    assert "interrupted" not in t.text


def test_get_pods_watch_without_a_terminal_prints_each_round_after_a_blank_line(lab: Lab) -> None:
    argv = [sys.executable, "-m", "kubeplay.cli", "get", "pods", "-w", "--interval", "0.5", "-i", str(lab.inventory)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    out = b""
    deadline = time.monotonic() + 120
    try:
        while out.count(b"ID ") < 2 or not out.endswith(b"\n"):
            assert time.monotonic() < deadline, out
            if select.select([proc.stdout], [], [], 1)[0]:
                out += os.read(proc.stdout.fileno(), 65536)
        proc.send_signal(signal.SIGINT)
        rest, said = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, said.decode(errors="replace")
    rounds = (out + rest).decode().split("\n\n")
    assert len(rounds) >= 2
    assert all(r.startswith("ID ") for r in rounds[:2]), rounds
