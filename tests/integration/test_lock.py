"""The cluster lock on the lab, through the CLI (issue 9, item 3): one run at a time changes a minion, a killed
run leaves no stale lock, and runs that only read take no lock.

The run holding the lock is a separate process that takes the locks exactly as `kubeplay apply` does (through
reconcile.observe with the real connector) and holds them until its stdin closes, so the tests decide when it
ends, or kill it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, Lab, kubeplay

pytestmark = pytest.mark.integration

EXIT_OK, EXIT_LOCKED = 0, 6

HOLD = """\
import sys
from kubeplay import reconcile
from kubeplay.kubelet.lock import LockRequest, this_process
inputs = reconcile.load([], sys.argv[1], {}, None)
connect = reconcile.connector(inputs.inventory, False, 10, print)
with reconcile.observe(inputs, connect, 5, network=False, lock=LockRequest(this_process(), 0)):
    print("held", flush=True)
    sys.stdin.read()
"""


class Holder:
    """A run holding every minion's lock until ``release()`` (its stdin closes) or ``kill()`` (SIGKILL)."""

    def __init__(self, lab: Lab) -> None:
        argv = [sys.executable, "-c", HOLD, str(lab.inventory)]
        pipe = subprocess.PIPE
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=pipe, stdout=pipe, stderr=pipe, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line == "held\n", f"{line!r} {self.proc.stderr.read() if self.proc.stderr else ''}"

    @property
    def named(self) -> str:
        """How a waiting run names this holder (its user@host is the machine's own)."""
        return f"(pid {self.proc.pid}, kubeplay "

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(30) == 0

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)


@pytest.fixture
def holder(lab: Lab) -> Iterator[Holder]:
    held = Holder(lab)
    yield held
    if held.proc.poll() is None:
        held.kill()


SPEC = {"containers": [{"name": "redis", "image": "dockerfile/redis", "imagePullPolicy": "IfNotPresent"}]}


def pod(name: str) -> str:
    return json.dumps(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}}, "spec": SPEC}
    )


def controller(name: str, replicas: int) -> str:
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": SPEC}
    spec = {"replicas": replicas, "selector": labels, "template": template}
    return json.dumps({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name}, "spec": spec})


def folder(tmp_path: Path, **objects: str) -> Path:
    path = tmp_path / "manifests"
    path.mkdir()
    for name, text in objects.items():
        (path / f"{name}.json").write_text(text)
    return path


def pods_by_name(lab: Lab) -> Counter[str]:
    """How many containers each kubeplay pod has, over every minion."""
    return Counter(c["Labels"]["kubeplay.pod"] for found in lab.kubeplay_containers().values() for c in found)


def apply(lab: Lab, path: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "kubeplay.cli", "apply", "-f", str(path), "-i", str(lab.inventory), "--yes", *extra]
    pipe = subprocess.PIPE
    return subprocess.Popen(argv, cwd=ROOT, stdout=pipe, stderr=pipe, text=True)


def until_waiting(run: subprocess.Popen[str]) -> str:
    """The run's stderr up to its first "waiting up to" line: it has asked for a lock another run holds, and it
    waits (however long a loaded machine takes it to get there). Fails when the run ends without waiting."""
    assert run.stderr is not None
    said = ""
    for line in run.stderr:
        said += line
        if line.startswith("kubeplay: waiting up to "):
            return said
    raise AssertionError(f"the second run ended (exit {run.wait()}) without waiting for the lock: {said}")


def test_a_second_run_that_does_not_wait_exits_6_naming_the_holder_and_changes_nothing(
    lab: Lab, holder: Holder, tmp_path: Path
) -> None:
    manifests = folder(tmp_path, web=pod("web"))
    run = kubeplay("apply", "-f", str(manifests), "--yes", "--lock-timeout", "0", inventory=lab.inventory)
    assert run.code == EXIT_LOCKED, run.stdout + run.stderr
    assert "minion-1 is locked by " in run.stderr and holder.named in run.stderr, run.stderr
    assert "nothing was changed" in run.stderr
    assert pods_by_name(lab) == Counter()

    removal = kubeplay("delete", "pod", "web", "--lock-timeout", "0", inventory=lab.inventory)
    assert removal.code == EXIT_LOCKED and holder.named in removal.stderr, removal.stderr


def test_a_run_that_may_wait_goes_on_once_the_holder_ends(lab: Lab, holder: Holder, tmp_path: Path) -> None:
    manifests = folder(tmp_path, web=pod("web"))
    waiting = apply(lab, manifests, "--lock-timeout", "60")
    said = until_waiting(waiting)
    assert pods_by_name(lab) == Counter()
    holder.release()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == EXIT_OK, out + said + err
    assert (said + err).count("waiting up to") == 1 and holder.named in said, said + err
    assert pods_by_name(lab) == Counter({"web": 2})  # infra + app


def test_a_killed_run_leaves_no_stale_lock(lab: Lab, holder: Holder, tmp_path: Path) -> None:
    holder.kill()
    manifests = folder(tmp_path, web=pod("web"))
    run = kubeplay("apply", "-f", str(manifests), "--yes", "--lock-timeout", "0", inventory=lab.inventory)
    assert run.code == EXIT_OK, run.stdout + run.stderr
    assert pods_by_name(lab) == Counter({"web": 2})


def test_a_killed_apply_leaves_no_stale_lock(lab: Lab, tmp_path: Path) -> None:
    """SIGKILL of the CLI itself while it holds the lock (its record is in the first minion's lock file)."""
    netns = Path("/var/run/netns") / lab.layout.minions[0].netns
    lock_file = Path(f"/run/lock/kubeplay-{os.stat(netns).st_ino}.lock")
    manifests = folder(tmp_path, web=controller("web", 6))
    first = apply(lab, manifests, "--lock-timeout", "0")
    deadline = time.monotonic() + 30
    while f'"pid": {first.pid},' not in (lock_file.read_text() if lock_file.exists() else ""):
        assert first.poll() is None and time.monotonic() < deadline, "the apply never held the lock"
        time.sleep(0.02)
    first.kill()
    first.wait(30)
    # the minion's lock program ends when its sshd has seen the connection close, a moment after the kill: the next
    # run may wait for that moment (not 0 s), but a stale lock would keep it waiting past the timeout (exit 6)
    again = kubeplay("apply", "-f", str(manifests), "--yes", "--lock-timeout", "30", inventory=lab.inventory)
    assert again.code != EXIT_LOCKED, again.stderr


def lock_files(lab: Lab) -> list[Path]:
    """Each minion's lock file (the minions share this machine's /run)."""
    netns = [Path("/var/run/netns") / m.netns for m in lab.layout.minions]
    return [Path(f"/run/lock/kubeplay-{os.stat(n).st_ino}.lock") for n in netns]


def test_bad_input_touches_no_lock_and_waits_for_none(lab: Lab, tmp_path: Path) -> None:
    """apply connects while it still reads its manifests (cli/early.py): with bad input it still touches no lock file
    and, when another run holds the locks, it neither waits nor names that run: the input error alone, at once."""
    bad = json.loads(pod("web"))
    bad["spec"]["containers"][0]["image"] = "NOT AN IMAGE"
    many = "\n---\n".join([*(pod(f"web-{i}") for i in range(3000)), json.dumps(bad)])  # reading it takes a while
    manifests = folder(tmp_path)
    (manifests / "web.yaml").write_text(many)
    empty = tmp_path / "empty"
    empty.mkdir()
    locked = kubeplay("apply", "-f", str(empty), "--yes", "--allow-empty", inventory=lab.inventory)
    assert locked.code == EXIT_OK, locked.stderr  # (it made every lock file)
    before = [f.stat().st_mtime_ns for f in lock_files(lab)]
    refused = kubeplay("apply", "-f", str(manifests), "--yes", inventory=lab.inventory)
    assert refused.code == 1 and "web.yaml" in refused.stderr and "NOT AN IMAGE" in refused.stderr, refused.stderr
    time.sleep(1)  # (a lock program that went on would have run by now)
    assert [f.stat().st_mtime_ns for f in lock_files(lab)] == before

    holder = Holder(lab)
    try:
        refused = kubeplay("apply", "-f", str(manifests), "--yes", "--lock-timeout", "30", inventory=lab.inventory)
        # exit 1, not 6 (the lock not taken in 30 s): it did not wait
        assert refused.code == 1 and "web.yaml" in refused.stderr and "NOT AN IMAGE" in refused.stderr, refused.stderr
        assert "waiting" not in refused.stderr and holder.named not in refused.stderr, refused.stderr
    finally:
        holder.kill()


def test_get_and_check_take_no_lock(lab: Lab, holder: Holder, tmp_path: Path) -> None:
    """With the default --lock-timeout a run that took the lock would wait 60 s and exit 6."""
    manifests = folder(tmp_path, web=pod("web"))
    get = kubeplay("get", "pods", inventory=lab.inventory)
    check = kubeplay("apply", "-f", str(manifests), "--check", inventory=lab.inventory)
    assert get.code == EXIT_OK, get.stderr
    assert check.code == EXIT_OK and "web" in check.stdout, check.stdout + check.stderr
    assert "waiting" not in get.stderr + check.stderr


def test_four_applies_of_one_folder_at_once_all_succeed_with_exactly_the_desired_pods(lab: Lab, tmp_path: Path) -> None:
    manifests = folder(tmp_path, cache=pod("cache"), web=controller("web", 3))
    runs = [apply(lab, manifests) for _ in range(4)]
    for run in runs:
        out, err = run.communicate(timeout=240)
        assert run.returncode == EXIT_OK, out + err
        assert "error" not in err.lower(), err
    found = pods_by_name(lab)
    assert found.pop("cache") == 2, found
    assert len(found) == 3 and all(n.startswith("web-") and count == 2 for n, count in found.items()), found
