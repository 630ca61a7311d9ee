"""A converged no-op `kubeplay apply` of 30 pods over the lab's minions: wall time and SSH connections per minion.

Run as root with the lab up (`kubeplay lab up`): python bench/bench_apply_noop.py [--pods 30] [--runs 5] [--lab lab]
Prints figures; asserts nothing. Target (issue 3): at most 1.5 s wall and one SSH connection per minion per run.
SSH connections are counted from each minion's own sshd log ("Accepted publickey" lines).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kubeplay.lab import cluster

ROOT = Path(__file__).resolve().parents[1]


def accepted(log: Path) -> int:
    return log.read_text(errors="replace").count("Accepted publickey") if log.exists() else 0


def kubeplay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubeplay.cli", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lab", default="lab")
    args = parser.parse_args()
    found = cluster.current(args.lab)
    if found is None:
        print(f"no lab {args.lab!r}: run `kubeplay lab up` first", file=sys.stderr)
        return 1
    lab, record = found
    inventory = record.inventory
    logs = {m.name: m.state_dir / "sshd.log" for m in lab.minions}
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "pods.yaml"
        docs = [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"bench-{i:03d}", "labels": {"bench": "noop"}},
                "spec": {"containers": [{"name": "redis", "image": "dockerfile/redis"}]},
            }
            for i in range(args.pods)
        ]
        manifest.write_text("\n---\n".join(json.dumps(d) for d in docs))
        converge = kubeplay("apply", "-f", str(manifest), "-i", inventory, "--yes")
        if converge.returncode != 0:
            print(converge.stderr, file=sys.stderr)
            return 1
        walls: list[float] = []
        per_minion: dict[str, list[int]] = {name: [] for name in logs}
        for _ in range(args.runs):
            before = {name: accepted(log) for name, log in logs.items()}
            start = time.perf_counter()
            run = kubeplay("apply", "-f", str(manifest), "-i", inventory, "--yes", "--detailed-exitcode")
            walls.append(time.perf_counter() - start)
            if run.returncode != 0:
                print(f"not a no-op (exit {run.returncode}):\n{run.stdout}{run.stderr}", file=sys.stderr)
                return 1
            time.sleep(0.2)  # let sshd flush its log
            for name, log in logs.items():
                per_minion[name].append(accepted(log) - before[name])
        empty = Path(tmp) / "empty"
        empty.mkdir()
        kubeplay("apply", "-f", str(empty), "-i", inventory, "--yes")
    print(f"converged no-op apply, {args.pods} pods over {len(logs)} minions, {args.runs} runs (whole CLI process)")
    print(
        f"  wall time   median {statistics.median(walls):.3f} s   min {min(walls):.3f} s   max {max(walls):.3f} s"
        "   (target <= 1.5 s)"
    )
    for name, counts in per_minion.items():
        print(f"  {name}: SSH connections per run {counts}   (target 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
