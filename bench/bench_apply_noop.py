"""A converged no-op `kubeplay apply` of 30 pods over the lab's minions: wall time and SSH connections per minion.

Run as root with the lab up (`kubeplay lab up`): python bench/bench_apply_noop.py [--pods 30] [--runs 5] [--lab lab]
[--baseline CHECKOUT]. With --baseline (another checkout of kubeplay, e.g. a `git worktree` of an older commit),
its runs are interleaved with this checkout's, and both are printed side by side with their ratio.
Prints figures; asserts nothing. Target (issue 3): at most 1.5 s wall and one SSH connection per minion per run.
SSH connections are counted from each minion's own sshd log ("Accepted publickey" lines).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


PROJECT = "bench-noop"
"""The bench's own project, given as $KUBEPLAY_PROJECT (a checkout from before projects ignores it)."""


def kubeplay(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The CLI of the checkout at ``root`` (python -m runs the kubeplay package found in the working directory)."""
    env = {**os.environ, "KUBEPLAY_PROJECT": PROJECT}
    return subprocess.run(
        [sys.executable, "-m", "kubeplay.cli", *args], cwd=root, capture_output=True, text=True, check=False, env=env
    )


def write_pods(folder: Path, pods: int) -> Path:
    manifest = folder / "pods.yaml"
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"bench-{i:03d}", "labels": {"bench": "noop"}},
            "spec": {"containers": [{"name": "redis", "image": "dockerfile/redis"}]},
        }
        for i in range(pods)
    ]
    manifest.write_text("\n---\n".join(json.dumps(d) for d in docs))
    return manifest


def cpu_of_children() -> float:
    """User + system CPU seconds of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    roots: dict[str, Path], argv: tuple[str, ...], logs: dict[str, Path], runs: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, list[int]]]:
    """Wall and CPU times per checkout (interleaved; CPU time is kubeplay's own process, less sensitive to a busy
    machine), and the SSH connections each minion accepted per run of this checkout."""
    walls: dict[str, list[float]] = {label: [] for label in roots}
    cpus: dict[str, list[float]] = {label: [] for label in roots}
    per_minion: dict[str, list[int]] = {name: [] for name in logs}
    for _ in range(runs):
        for label, root in roots.items():
            before = {name: accepted(log) for name, log in logs.items()}
            start, cpu = time.perf_counter(), cpu_of_children()
            run = kubeplay(*argv, root=root)
            walls[label].append(time.perf_counter() - start)
            cpus[label].append(cpu_of_children() - cpu)
            if run.returncode != 0:
                raise SystemExit(f"{label}: not a no-op (exit {run.returncode}):\n{run.stdout}{run.stderr}")
            time.sleep(0.2)  # let sshd flush its log
            if label == "this":
                for name, log in logs.items():
                    per_minion[name].append(accepted(log) - before[name])
    return walls, cpus, per_minion


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lab", default="lab")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout, run interleaved")
    args = parser.parse_args()
    found = cluster.current(args.lab)
    if found is None:
        print(f"no lab {args.lab!r}: run `kubeplay lab up` first", file=sys.stderr)
        return 1
    lab, record = found
    inventory = record.inventory
    logs = {m.name: m.state_dir / "sshd.log" for m in lab.minions}
    roots = {"this": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_pods(Path(tmp), args.pods)
        converge = kubeplay("apply", "-f", str(manifest), "-i", inventory, "--yes")
        if converge.returncode != 0:
            print(converge.stderr, file=sys.stderr)
            return 1
        try:
            argv = ("apply", "-f", str(manifest), "-i", inventory, "--yes", "--detailed-exitcode")
            walls, cpus, per_minion = measure(roots, argv, logs, args.runs)
        finally:
            empty = Path(tmp) / "empty"
            empty.mkdir()
            kubeplay("apply", "-f", str(empty), "-i", inventory, "--yes", "--allow-empty")
    print(f"converged no-op apply, {args.pods} pods over {len(logs)} minions, {args.runs} runs (whole CLI process)")
    for label, times in walls.items():
        print(
            f"  {label:<8} wall time   median {statistics.median(times):.3f} s   min {min(times):.3f} s"
            f"   max {max(times):.3f} s   (target <= 1.5 s)   {roots[label]}"
        )
    for label, times in cpus.items():
        print(f"  {label:<8} CPU time    median {statistics.median(times):.3f} s   min {min(times):.3f} s   (user+sys)")
    if "baseline" in walls:
        for what, figures in (("wall", walls), ("CPU", cpus)):
            ratio = statistics.median(figures["this"]) / statistics.median(figures["baseline"])
            print(f"  this / baseline, {what} time (medians): {ratio:.2f}")
    for name, counts in per_minion.items():
        print(f"  {name}: SSH connections per run {counts}   (target 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
