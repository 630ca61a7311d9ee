"""The v0.4 guestbook (manifests/examples/guestbook) on the lab: seconds from `kubeplay apply` returning until a value
set through minion-1's frontend is read back through every other minion's frontend (that is, through the slaves).

Run as root with the lab up (`kubeplay lab up`): python bench/bench_guestbook.py [--lab lab] [--runs 1]. Two cases:
``as-is`` applies the folder to an empty project; ``services-first`` applies the two services alone first, so their
rules exist before any pod starts (what issue 11 item 2 makes one run do). Prints figures; asserts nothing.
Target (issue 11): readable within 10 s of apply returning.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from kubeplay.lab import cluster

ROOT = Path(__file__).resolve().parents[1]
GUESTBOOK = ROOT / "manifests" / "examples" / "guestbook"
PROJECT = "bench-guestbook"
GIVE_UP = 120.0


def kubeplay(inventory: str, *args: str) -> None:
    argv = [sys.executable, "-m", "kubeplay.cli", *args, "-i", inventory, "-p", PROJECT, "--yes"]
    run = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SystemExit(f"kubeplay {' '.join(args)} failed:\n{run.stdout}{run.stderr}")


def answers(address: str, expected: dict[str, str], **query: str) -> bool:
    url = f"http://{address}:8000/?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(json.loads(response.read()) == expected)
    except (OSError, ValueError):
        return False


def readable_after(addresses: list[str], value: str) -> float:
    """Seconds from now until ``value`` set on the first address is read on every other one (inf: gave up)."""
    start = time.monotonic()
    while not answers(addresses[0], {"message": "Updated"}, cmd="set", key="messages", value=value):
        time.sleep(0.1)
    pending = set(addresses[1:])
    while pending and time.monotonic() - start < GIVE_UP:
        pending = {a for a in pending if not answers(a, {"data": value}, cmd="get", key="messages")}
        time.sleep(0.1)
    return time.monotonic() - start if not pending else float("inf")


def one_run(case: str, inventory: str, addresses: list[str]) -> float:
    with tempfile.TemporaryDirectory() as services:
        if case == "services-first":
            for name in ("redis-master-service.json", "redis-slave-service.json"):
                shutil.copy(GUESTBOOK / name, services)
            kubeplay(inventory, "apply", "-f", services)
        kubeplay(inventory, "apply", "-f", str(GUESTBOOK))
        try:
            return readable_after(addresses, f"{case} {time.time()}")
        finally:
            kubeplay(inventory, "delete", "-f", str(GUESTBOOK))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="lab")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    found = cluster.current(args.lab)
    if found is None:
        raise SystemExit(f"no lab named {args.lab!r} is up: run `kubeplay lab up --name {args.lab}` as root")
    layout, record = found
    addresses = [m.address for m in layout.minions]
    for case in ("as-is", "services-first"):
        seconds = [one_run(case, record.inventory, addresses) for _ in range(args.runs)]
        median = statistics.median(seconds)
        runs = ", ".join(f"{s:.1f}" for s in seconds)
        print(f"{case:15} read back through {len(addresses) - 1} other minions after: {median:.1f} s (runs: {runs})")


if __name__ == "__main__":
    main()
