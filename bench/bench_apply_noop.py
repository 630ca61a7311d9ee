"""A converged no-op `kubeplay apply` of N pods over the lab's minions, against the raw floor measured in the same run.

Run as root with the lab up (`kubeplay lab up --name pf`): python bench/bench_apply_noop.py [--pods 30] [--runs 5]
[--lab lab] [--baseline CHECKOUT] [--sizes 3,6,9 [--per-minion 10]]. Each round runs, one after the other: the floor
(one parallel `ssh MINION docker ps -a --filter label=kubeplay.pod` per minion, OpenSSH's client), this checkout's
no-op apply, and with --baseline (another checkout of kubeplay, e.g. /work/main) that one's. Prints min / median /
max of each and the ratios of the medians (issue 13, target 1: this / floor <= 1.3), kubeplay's own CPU time per
minion, the exec sessions each minion gets on a no-op (from a `-vv` trace: programs run, held programs spawned, and
the one `docker system dial-stdio` channel of the Docker calls unless they went over the held program; target 1),
and the SSH connections each minion accepted per run (from its sshd log, target 1). With --sizes, all that for an
inventory of the lab's first N minions each (--per-minion pods per minion), then kubeplay's own CPU per added
minion from the smallest size to the largest (target 4: <= 40 ms). Asserts nothing."""

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

from labfloor import ROOT, Figures, LabRun, environment, kubeplay_argv, lab_parser, lab_run, print_figures, ssh_all

from kubeplay.dataclass import dataclass, replace
from kubeplay.lab.layout import LabLayout

PROJECT = "bench-noop"
"""The bench's own project, given as $KUBEPLAY_PROJECT (a checkout from before projects ignores it)."""
FLOOR = "docker ps -a --filter label=kubeplay.pod"
_TRACED = re.compile(r"^kubeplay: (?P<minion>\S+): (?P<kind>run|spawn|docker reads over|docker) ", re.MULTILINE)


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
    `docker system dial-stdio` channel when Docker was called (its calls share that channel), unless Docker's reads
    went over the held program ("docker reads over that held program")."""
    found: dict[str, Counter[str]] = {}
    over: set[str] = set()
    for m in _TRACED.finditer(trace):
        kinds = found.setdefault(m["minion"], Counter())
        if m["kind"] == "docker reads over":
            over.add(m["minion"])
        elif m["kind"] != "docker" or not kinds["docker"]:
            kinds[m["kind"]] += 1
    for minion in over:
        del found[minion]["docker"]
    return found


def measure(
    lab: LabLayout, roots: dict[str, Path], argv: tuple[str, ...], logs: dict[str, Path], runs: int
) -> tuple[dict[str, Figures], dict[str, list[int]]]:
    """Interleaved rounds: the floor, then each checkout's no-op (in turn first: on a busy machine the run right
    after the floor fares differently); and the SSH connections each minion accepted per run of this checkout."""
    figures = {"floor": Figures(), **{label: Figures() for label in roots}}
    per_minion: dict[str, list[int]] = {name: [] for name in logs}
    env = environment(KUBEPLAY_PROJECT=PROJECT)
    for index in range(runs):
        figures["floor"].timed(ssh_all(lab, FLOOR))
        order = list(roots.items())
        for label, root in order if index % 2 == 0 else order[::-1]:  # each checkout first every other round
            before = {name: accepted(log) for name, log in logs.items()}
            figures[label].timed(kubeplay_argv(*argv), cwd=root, env=env)
            time.sleep(0.2)  # let sshd flush its log
            if label == "this":
                for name, log in logs.items():
                    per_minion[name].append(accepted(log) - before[name])
    return figures, per_minion


@dataclass(frozen=True)
class Size:
    """The figures of one cluster size: the no-op's and the floor's times, the exec sessions, the SSH connections."""

    minions: int
    pods: int
    figures: dict[str, Figures]
    sessions: dict[str, dict[str, Counter[str]]]
    per_minion: dict[str, list[int]]


def first_minions(inventory: str, names: set[str], folder: Path) -> str:
    """A copy of the lab's INI inventory listing only the minions ``names`` (its variables kept)."""
    kept, section = [], ""
    for line in Path(inventory).read_text().splitlines():
        if line.startswith("["):
            section = line.strip()
        elif section == "[minions]" and line.strip() and line.split()[0] not in names:
            continue
        kept.append(line)
    path = folder / f"first-{len(names)}.ini"
    path.write_text("\n".join(kept) + "\n")
    return str(path)


def noop_at(run: LabRun, minions: int, pods: int, folder: Path) -> Size:
    """Converge ``pods`` pods on the lab's first ``minions`` minions, measure the no-op against the floor, remove
    the pods."""
    lab = replace(run.lab, minions=run.lab.minions[:minions])
    inventory = first_minions(run.inventory, {m.name for m in lab.minions}, folder)
    logs = {m.name: m.state_dir / "sshd.log" for m in lab.minions}
    manifest = write_pods(folder, pods)
    converge = kubeplay("apply", "-f", str(manifest), "-i", inventory, "--yes")
    if converge.returncode != 0:
        raise SystemExit(converge.stderr)
    try:
        argv = ("apply", "-f", str(manifest), "-i", inventory, "--yes", "--detailed-exitcode")
        figures, per_minion = measure(lab, run.roots, argv, logs, run.runs)
        sessions = {label: exec_sessions(kubeplay(*argv, "-vv", root=root).stderr) for label, root in run.roots.items()}
    finally:
        empty = folder / "empty"
        empty.mkdir(exist_ok=True)
        kubeplay("apply", "-f", str(empty), "-i", inventory, "--yes", "--allow-empty")
    return Size(minions, pods, figures, sessions, per_minion)


def print_size(size: Size, runs: int) -> None:
    print(f"converged no-op apply, {size.pods} pods over {size.minions} minions, {runs} interleaved rounds")
    print(f"  floor: one parallel `ssh MINION {FLOOR}` per minion")
    print_figures(size.figures, "floor", 1.3)
    for label, f in size.figures.items():
        if label != "floor":
            per = statistics.median(f.cpus) / size.minions * 1000
            print(f"  {label:<9} CPU per minion (median / {size.minions}): {per:.0f} ms")
    for label, found_sessions in size.sessions.items():
        for name, kinds in sorted(found_sessions.items()):
            detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
            print(f"  {label:<9} {name}: exec sessions on a no-op {sum(kinds.values())} ({detail})   (target 1)")
    for name, counts in size.per_minion.items():
        print(f"  this      {name}: SSH connections per run {counts}   (target 1)")


def print_growth(sizes: list[Size]) -> None:
    """kubeplay's own CPU per added minion, from the smallest size to the largest (issue 13, target 4)."""
    small, large = sizes[0], sizes[-1]
    added = large.minions - small.minions
    print(f"CPU per added minion, ({large.minions} minions - {small.minions} minions) / {added}:")
    for label in small.figures:
        if label != "floor":
            cpus = [statistics.median(size.figures[label].cpus) for size in sizes]
            growth = (cpus[-1] - cpus[0]) / added * 1000
            shown = "   ".join(f"{size.minions}: {cpu:.3f} s" for size, cpu in zip(sizes, cpus, strict=True))
            print(f"  {label:<9} CPU {shown}   per added minion {growth:.0f} ms   (target <= 40 ms)")


def main() -> int:
    parser = lab_parser(__doc__)
    parser.add_argument("--sizes", default="", help="e.g. 3,6,9: the lab's first N minions each, --per-minion pods")
    parser.add_argument("--per-minion", type=int, default=10, help="pods per minion with --sizes")
    args = parser.parse_args()
    run = lab_run(__doc__, args)
    counts = [int(n) for n in args.sizes.split(",") if n] or [len(run.lab.minions)]
    if max(counts) > len(run.lab.minions):
        raise SystemExit(f"the lab has {len(run.lab.minions)} minions")
    sizes = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            pods = n * args.per_minion if args.sizes else run.pods
            sizes.append(noop_at(run, n, pods, Path(tmp)))
    compiled = {label: any((root / "kubeplay" / "__pycache__").glob("*.pyc")) for label, root in run.roots.items()}
    if len(set(compiled.values())) > 1:  # $PYTHONDONTWRITEBYTECODE: the one without compiles every module, every run
        print("WARNING: bytecode in " + ", ".join(f"{label}: {'yes' if c else 'no'}" for label, c in compiled.items()))
    for size in sizes:
        print_size(size, run.runs)
    if len(sizes) > 1:
        print_growth(sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
