"""A converged no-op `kubeplay apply` of N pods over the lab's minions, against the raw floor measured in the same run.

Run as root with the lab up (`kubeplay lab up --name pf`): python bench/bench_apply_noop.py [--pods 30] [--runs 5]
[--lab lab] [--baseline CHECKOUT]. Each round runs, one after the other: the floor (one parallel
`ssh MINION docker ps -a --filter label=kubeplay.pod` per minion, OpenSSH's client), this checkout's no-op apply,
and with --baseline (another checkout of kubeplay, e.g. /work/main) that one's. Prints min / median / max of each
and the ratios of the medians (issue 13, target 1: this / floor <= 1.3), kubeplay's own CPU time per minion
(target 4: <= 40 ms), the exec sessions each minion gets on a no-op (from a `-vv` trace: programs run, held
programs spawned, and the one `docker system dial-stdio` channel of the Docker calls), and the SSH connections each
minion accepted per run (from its sshd log, target 1). Asserts nothing.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from labfloor import ROOT, Figures, environment, kubeplay_argv, lab_run, print_figures, ssh_all

from kubeplay.lab.layout import LabLayout

PROJECT = "bench-noop"
"""The bench's own project, given as $KUBEPLAY_PROJECT (a checkout from before projects ignores it)."""
FLOOR = "docker ps -a --filter label=kubeplay.pod"
_TRACED = re.compile(r"^kubeplay: (?P<minion>\S+): (?P<kind>run|spawn|docker) ", re.MULTILINE)


def accepted(log: Path) -> int:
    return log.read_text(errors="replace").count("Accepted publickey") if log.exists() else 0


def kubeplay(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The CLI of the checkout at ``root``, in the bench's project."""
    env = environment(KUBEPLAY_PROJECT=PROJECT)
    return subprocess.run(kubeplay_argv(*args), cwd=root, capture_output=True, text=True, check=False, env=env)


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


def exec_sessions(trace: str) -> dict[str, Counter[str]]:
    """Per minion, the exec sessions a `-vv` run opened: each program run, each held program, and one
    `docker system dial-stdio` channel when Docker was called (its calls share that channel)."""
    found: dict[str, Counter[str]] = {}
    for m in _TRACED.finditer(trace):
        kinds = found.setdefault(m["minion"], Counter())
        if m["kind"] != "docker" or not kinds["docker"]:
            kinds[m["kind"]] += 1
    return found


def measure(
    lab: LabLayout, roots: dict[str, Path], argv: tuple[str, ...], logs: dict[str, Path], runs: int
) -> tuple[dict[str, Figures], dict[str, list[int]]]:
    """Interleaved rounds: the floor, then each checkout's no-op; and the SSH connections each minion accepted per
    run of this checkout."""
    figures = {"floor": Figures(), **{label: Figures() for label in roots}}
    per_minion: dict[str, list[int]] = {name: [] for name in logs}
    env = environment(KUBEPLAY_PROJECT=PROJECT)
    for _ in range(runs):
        figures["floor"].timed(ssh_all(lab, FLOOR))
        for label, root in roots.items():
            before = {name: accepted(log) for name, log in logs.items()}
            figures[label].timed(kubeplay_argv(*argv), cwd=root, env=env)
            time.sleep(0.2)  # let sshd flush its log
            if label == "this":
                for name, log in logs.items():
                    per_minion[name].append(accepted(log) - before[name])
    return figures, per_minion


def main() -> int:
    args = lab_run(__doc__)
    lab, inventory, roots = args.lab, args.inventory, args.roots
    logs = {m.name: m.state_dir / "sshd.log" for m in lab.minions}
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_pods(Path(tmp), args.pods)
        converge = kubeplay("apply", "-f", str(manifest), "-i", inventory, "--yes")
        if converge.returncode != 0:
            print(converge.stderr, file=sys.stderr)
            return 1
        try:
            argv = ("apply", "-f", str(manifest), "-i", inventory, "--yes", "--detailed-exitcode")
            figures, per_minion = measure(lab, roots, argv, logs, args.runs)
            sessions = {label: exec_sessions(kubeplay(*argv, "-vv", root=root).stderr) for label, root in roots.items()}
        finally:
            empty = Path(tmp) / "empty"
            empty.mkdir()
            kubeplay("apply", "-f", str(empty), "-i", inventory, "--yes", "--allow-empty")
    minions = len(lab.minions)
    print(f"converged no-op apply, {args.pods} pods over {minions} minions, {args.runs} interleaved rounds")
    print(f"  floor: one parallel `ssh MINION {FLOOR}` per minion")
    print_figures(figures, "floor", 1.3)
    for label in roots:
        per = statistics.median(figures[label].cpus) / minions * 1000
        print(f"  {label:<9} CPU per minion (median / {minions}): {per:.0f} ms   (target <= 40 ms)")
    for label, found_sessions in sessions.items():
        for name, kinds in sorted(found_sessions.items()):
            detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
            print(f"  {label:<9} {name}: exec sessions on a no-op {sum(kinds.values())} ({detail})   (target 1)")
    for name, counts in per_minion.items():
        print(f"  this      {name}: SSH connections per run {counts}   (target 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
