"""Commands on the lab's host: running programs, network namespaces, links and daemons started by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from kubeplay.errors import LabError


def run(argv: Sequence[str], *, check: bool = True, stdin: bytes | None = None) -> str:
    """Run a program (never through a shell) and return its stdout."""
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, check=False)
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise LabError(f"{' '.join(argv)}: exit {proc.returncode}: {err}")
    return proc.stdout.decode(errors="replace")


def in_netns(netns: str, argv: Sequence[str]) -> list[str]:
    """argv run inside a network namespace. nsenter, not `ip netns exec`: the latter remounts /sys and hides the
    cgroup mounts dockerd needs."""
    return ["nsenter", f"--net=/var/run/netns/{netns}", *argv]


def netns_exists(name: str) -> bool:
    return Path("/var/run/netns", name).exists()


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def pid_alive(pid: int, marker: str) -> bool:
    """True when pid runs a program whose command line contains marker (guards against reused pids)."""
    if pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        return False  # a zombie has exited: only its parent has not collected it yet
    return marker in cmdline


def start_daemon(argv: Sequence[str], log: Path) -> int:
    """Start a long-running program in its own session with output to log; return its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    return proc.pid


def stop_pid(pid: int, marker: str, timeout: float = 20.0) -> None:
    """SIGTERM, wait, then SIGKILL a pid we started (only if it still runs the program we started)."""
    if not pid_alive(pid, marker):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid, marker):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def netns_pids(netns: str) -> list[int]:
    out = run(["ip", "netns", "pids", netns], check=False)
    return [int(p) for p in out.split()]


def wait_for(what: str, ready: Callable[[], bool], timeout: float) -> None:
    """Poll ready() until it returns true, or raise LabError naming what did not come up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise LabError(f"{what} did not come up within {timeout:.0f} s")
