"""What the lab benches share: running a checkout's CLI, the raw floor (one parallel `ssh MINION ...` per minion,
OpenSSH's own client), and figures printed as min / median / max with ratios of medians.

Not a bench itself: bench_apply_noop.py and bench_apply_cold.py import it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from kubeplay.dataclass import dataclass, field
from kubeplay.lab import cluster
from kubeplay.lab.layout import LabLayout

ROOT = Path(__file__).resolve().parents[1]


def cpu_of_children() -> float:
    """User + system CPU seconds of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Figures:
    """Wall and CPU seconds of each run of one contender."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    def timed(self, argv: Sequence[str], cwd: Path = ROOT, env: Mapping[str, str] | None = None) -> str:
        """Run argv, add its wall and CPU time; returns its stderr. Raises SystemExit when it fails."""
        start, cpu = time.perf_counter(), cpu_of_children()
        run = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=False, env=env)
        self.walls.append(time.perf_counter() - start)
        self.cpus.append(cpu_of_children() - cpu)
        if run.returncode != 0:
            raise SystemExit(f"{argv[:4]}... failed (exit {run.returncode}):\n{run.stdout}{run.stderr}")
        return run.stderr


def kubeplay_argv(*args: str) -> list[str]:
    """The CLI of the checkout a process runs in (python -m finds the kubeplay package in its working directory)."""
    return [sys.executable, "-m", "kubeplay.cli", *args]


def ssh_all(lab: LabLayout, command: str) -> list[str]:
    """One `ssh MINION COMMAND` per minion, all at once (OpenSSH's client, the lab's key and known_hosts), as one
    shell line: the floor a tool that talks to every minion cannot go below."""
    key, known = lab.state_dir / "id_ed25519", lab.state_dir / "known_hosts"
    options = f"-i {key} -o UserKnownHostsFile={known} -o BatchMode=yes -o ConnectTimeout=10"
    parts = [f"ssh {options} root@{m.address} {command} >/dev/null &" for m in lab.minions]
    script = " ".join(parts) + " fail=0; for job in $(jobs -p); do wait $job || fail=1; done; exit $fail"
    return ["bash", "-c", script]


def spread(times: Sequence[float]) -> str:
    return f"min {min(times):.3f}   median {statistics.median(times):.3f}   max {max(times):.3f}"


def print_figures(figures: Mapping[str, Figures], floor: str, target: float) -> None:
    """Each contender's wall (and CPU) times, then the ratio of its median wall time to the floor's."""
    for label, f in figures.items():
        print(f"  {label:<9} wall s  {spread(f.walls)}")
    for label, f in figures.items():
        print(f"  {label:<9} CPU s   {spread(f.cpus)}   (user+sys of the process and its children)")
    base = statistics.median(figures[floor].walls)
    for label, f in figures.items():
        if label != floor:
            ratio = statistics.median(f.walls) / base
            print(f"  {label} / {floor}, wall time (medians): {ratio:.2f}   (target <= {target})")
            pairs = [mine / theirs for mine, theirs in zip(f.walls, figures[floor].walls, strict=True)]
            print(f"  {label} / {floor}, wall time of each round: {spread(pairs)}")


def load_average() -> str:
    """The machine's load (1, 5 and 15 minutes), as `uptime` prints it."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


@dataclass(frozen=True)
class LabRun:
    """What a lab bench was asked for: the lab, its inventory, the pods, the rounds and the checkouts to compare."""

    lab: LabLayout
    inventory: str
    pods: int
    runs: int
    roots: dict[str, Path]


def lab_parser(description: str | None) -> argparse.ArgumentParser:
    """The lab bench's arguments (--pods, --runs, --lab, --baseline); a bench may add its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lab", default="lab")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout, run interleaved")
    return parser


def lab_run(description: str | None, args: argparse.Namespace | None = None) -> LabRun:
    """The lab bench's run (``args`` parsed by ``lab_parser``, else the command line); exits when the lab is not up."""
    if args is None:
        args = lab_parser(description).parse_args()
    found = cluster.current(args.lab)
    if found is None:
        raise SystemExit(f"no lab {args.lab!r}: run `kubeplay lab up --name {args.lab}` first")
    roots = {"this": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    return LabRun(found[0], found[1].inventory, args.pods, args.runs, roots)
