"""The day-2 verbs on the lab, through the CLI users type (issue 12): `get minions`, `describe`, `logs`, `exec`.

Every test starts from a lab without kubeplay pods and leaves none behind (the ``lab`` fixture).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import PROJECT, ROOT, SEED, Lab, Run, kubeplay

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


# --- describe -------------------------------------------------------------------------------------------------------


def test_describe_names_the_taken_host_port_for_each_replica_that_fits_nowhere(lab: Lab, tmp_path: Path) -> None:
    template = {
        "metadata": {"labels": {"app": "cache"}},
        "spec": {"containers": [redis_container(ports=[{"containerPort": 6379, "hostPort": 8080}])]},
    }
    rc = manifest(
        "ReplicationController", "cache", {"replicas": lab.size + 1, "selector": {"app": "cache"}, "template": template}
    )
    service = manifest("Service", "cachesvc", {"selector": {"app": "cache"}, "ports": [{"port": 6379}]})
    path = write(tmp_path / "cache" / "cache.yaml", rc, service)
    before = kubeplay("describe", "rc", "cache", "-f", str(path), "-p", PROJECT, inventory=lab.inventory)
    assert before.code == EXIT_OK, before.stderr
    assert before.stdout.count("not created yet: the next apply creates it") == lab.size
    assert f"{lab.size} minions: {lab.size} port 8080/TCP taken" in before.stdout  # by the replicas placed before it

    assert apply(lab, path).code == EXIT_ERROR  # the extra replica is unschedulable
    run = kubeplay("describe", "rc", "cache", "-f", str(path), "-p", PROJECT, inventory=lab.inventory)
    assert run.code == EXIT_OK, run.stderr
    assert f"Replicas:       {lab.size + 1} desired, {lab.size} live, {lab.size} running" in run.stdout
    pending = run.stdout.split("Pending replicas:\n", 1)[1].splitlines()
    assert len(pending) == 1 + lab.size, run.stdout
    assert pending[0].endswith(f": unschedulable: {lab.size} minions: {lab.size} port 8080/TCP taken")
    assert sorted(pending[1:]) == [f"    {m.name}: port 8080/TCP taken" for m in lab.layout.minions]

    name = pending[0].split(":")[0].strip()
    pod = kubeplay("describe", "pod", name, "-f", str(path), "-p", PROJECT, inventory=lab.inventory)
    assert pod.code == EXIT_OK, pod.stderr
    assert "Status:         Pending" in pod.stdout and "port 8080/TCP taken" in pod.stdout

    running = next(p for p in pod_minions(lab) if p.startswith("cache-"))
    placed = kubeplay("describe", "pod", running, inventory=lab.inventory)
    assert placed.code == EXIT_OK, placed.stderr
    assert f"Minion:         {pod_minions(lab)[running]}/" in placed.stdout
    assert "Restarts:   0" in placed.stdout and "State:      running" in placed.stdout
    assert "Services:       cachesvc (10." in placed.stdout  # its rules send traffic to the pod

    described = kubeplay("describe", "svc", "cachesvc", "-f", str(path), "-p", PROJECT, inventory=lab.inventory)
    assert described.code == EXIT_OK, described.stderr
    endpoints = next(line for line in described.stdout.splitlines() if line.startswith("Endpoints:"))
    assert endpoints.count(":6379 (cache-") == lab.size and "Pending" not in described.stdout

    missing = kubeplay("describe", "pod", "nope", inventory=lab.inventory)
    assert (missing.code, missing.stdout) == (EXIT_ERROR, "")
    assert "no pod named nope" in missing.stderr


# --- logs and exec --------------------------------------------------------------------------------------------------


def test_logs_of_the_seeds_redis_pod_show_redis_starting(lab: Lab) -> None:
    assert kubeplay("apply", "-f", str(SEED / "redis.json"), "--yes", inventory=lab.inventory).code == EXIT_OK
    deadline = time.monotonic() + 20
    while True:
        run = kubeplay("logs", "redis", inventory=lab.inventory)
        assert run.code == EXIT_OK, run.stderr
        if "Ready to accept connections" in run.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "Redis is starting" in run.stdout and "Ready to accept connections" in run.stdout
    # redis writes nothing more (no client, no write to save), so the log is the same for the calls below
    last = kubeplay("logs", "redis", "--tail", "1", inventory=lab.inventory)
    assert last.code == EXIT_OK, last.stderr  # (a failure says why: an empty stdout alone said nothing)
    assert last.stdout.splitlines() == run.stdout.splitlines()[-1:]
    since = kubeplay("logs", "redis", "--since", "1h", inventory=lab.inventory)
    assert (since.code, since.stdout) == (EXIT_OK, run.stdout), since.stderr


def test_logs_follow_goes_on_until_interrupted(lab: Lab) -> None:
    assert kubeplay("apply", "-f", str(SEED / "redis.json"), "--yes", inventory=lab.inventory).code == EXIT_OK
    argv = [sys.executable, "-m", "kubeplay.cli", "logs", "-f", "redis", "-i", str(lab.inventory)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + 30
    while b"Ready to accept connections" not in seen and time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 1)[0]:
            seen += os.read(proc.stdout.fileno(), 65536)
    assert proc.poll() is None, "logs -f ended on its own"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and b"Traceback" not in err, err


def test_exec_returns_the_commands_output_and_exit_code(lab: Lab) -> None:
    assert kubeplay("apply", "-f", "manifests/web.yaml.j2", "--yes", inventory=lab.inventory).code == EXIT_OK
    inv = ("--inventory", str(lab.inventory))
    echo = kubeplay("exec", *inv, "web", "-c", "httpd", "--", "echo", "hello", "a b;$(id)")
    assert (echo.code, echo.stdout) == (EXIT_OK, "hello a b;$(id)\n"), echo.stderr  # no shell on the way
    failing = kubeplay("exec", *inv, "web", "-c", "httpd", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (failing.code, failing.stdout) == (3, "out\n"), failing.stderr
    # its stderr is the command's, after what the minion's login shell may write there as over ssh (this machine's
    # ~/.bashrc runs `pyenv rehash`, which says "rm: cannot remove ..." when it races another session's)
    assert failing.stderr.endswith("\nerr\n") or failing.stderr == "err\n", failing.stderr
    typed = kubeplay("exec", *inv, "-i", "web", "-c", "sidecar", "--", "cat", stdin="line one\nline two\n")
    assert (typed.code, typed.stdout) == (EXIT_OK, "line one\nline two\n")
    several = kubeplay("exec", *inv, "web", "--", "true")
    assert (
        several.code == EXIT_ERROR and "pod web has 2 containers (httpd, sidecar): name one with -c" in several.stderr
    )


def test_exec_with_a_terminal_runs_on_a_pty_of_the_local_windows_size(lab: Lab) -> None:
    assert kubeplay("apply", "-f", "manifests/web.yaml.j2", "--yes", inventory=lab.inventory).code == EXIT_OK
    main_fd, terminal_fd = os.openpty()
    fcntl.ioctl(terminal_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    # (Docker 20.10 sizes an exec's terminal just after starting it: the command looks a moment later)
    script = "tty; sleep 1; stty size; read x; echo got:$x; exit 5"
    argv = [
        sys.executable,
        "-m",
        "kubeplay.cli",
        "exec",
        "-t",
        "-i",
        "--inventory",
        str(lab.inventory),
        "web",
        "-c",
        "httpd",
        "--",
        "sh",
        "-c",
        script,
    ]
    before = termios.tcgetattr(terminal_fd)
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdin=terminal_fd, stdout=terminal_fd, stderr=terminal_fd, start_new_session=True
    )
    seen, typed = b"", False
    deadline = time.monotonic() + 180  # (a loaded machine)
    while proc.poll() is None and time.monotonic() < deadline:
        if select.select([main_fd], [], [], 0.5)[0]:
            seen += os.read(main_fd, 65536)
        if not typed and b"33 101" in seen:
            os.write(main_fd, b"abc\r")  # raw mode: the remote terminal turns the CR into a line
            typed = True
    if proc.poll() is None:
        proc.kill()
        pytest.fail(f"exec -t did not end: {seen!r}")
    assert proc.returncode == 5, seen
    while select.select([main_fd], [], [], 0.2)[0]:
        seen += os.read(main_fd, 65536)
    assert b"/dev/pts/" in seen and b"33 101" in seen and b"got:abc" in seen, seen
    assert termios.tcgetattr(terminal_fd) == before  # the local terminal is restored
    os.close(main_fd)
    os.close(terminal_fd)
