"""A cold `kubeplay apply` of N pods over the lab's minions, against raw Docker doing the same, in the same run.

Run as root with the lab up (`kubeplay lab up --name pf`): python bench/bench_apply_cold.py [--pods 30]
[--runs 5] [--lab lab] [--baseline CHECKOUT]. Each round, from no pod at all and with the images present:
the floor (one parallel ssh per minion running, pod by pod, the `docker run` commands the pods amount to: the
infra container, then the app container joining its network), this checkout's apply, and with --baseline that
checkout's (the two checkouts take turns going first). Everything is removed between runs (untimed). Prints
min / median / max, the ratios of the medians (issue 13, target 2: this / floor <= 1.3) and of each round, and the
machine's load before and after. Asserts nothing.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_apply_noop import write_pods
from labfloor import ROOT, Figures, environment, kubeplay_argv, lab_run, load_average, print_figures, ssh_all

from kubeplay.lab.layout import LabLayout
from kubeplay.pods.infra import INFRA_IMAGE

PROJECT = "bench-cold"
FLOOR_LABEL = "kubeplay-bench=cold-floor"
"""The floor's containers carry this label (not kubeplay's: no kubeplay run sees them)."""


def floor_script(pods: int, minions: int, index: int) -> str:
    """The `docker run` commands of the pods placed on minion ``index`` (pods spread round-robin)."""
    commands = []
    for pod in range(index, pods, minions):
        name = f"floor-{pod:03d}"
        commands.append(f"docker run -d --label {FLOOR_LABEL} --name {name}_POD {INFRA_IMAGE}")
        commands.append(
            f"docker run -d --label {FLOOR_LABEL} --name {name}_redis --network container:{name}_POD dockerfile/redis"
        )
    return " && ".join(commands) or "true"


def run_floor(lab: LabLayout, pods: int, figures: Figures) -> None:
    key, known = lab.state_dir / "id_ed25519", lab.state_dir / "known_hosts"
    options = f"-i {key} -o UserKnownHostsFile={known} -o BatchMode=yes"
    count = len(lab.minions)
    jobs = [
        f"ssh {options} root@{m.address} {shlex.quote(floor_script(pods, count, i))} >/dev/null &"
        for i, m in enumerate(lab.minions)
    ]
    figures.timed(
        ["bash", "-c", " ".join(jobs) + " fail=0; for j in $(jobs -p); do wait $j || fail=1; done; exit $fail"]
    )
    remove = f"docker rm -f $(docker ps -aq --filter label={FLOOR_LABEL}) >/dev/null 2>&1; true"
    subprocess.run(ssh_all(lab, shlex.quote(remove)), check=False, capture_output=True)


def main() -> int:
    args = lab_run(__doc__)
    lab, roots = args.lab, args.roots
    figures = {"floor": Figures(), **{label: Figures() for label in roots}}
    env = environment(KUBEPLAY_PROJECT=PROJECT)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_pods(Path(tmp), args.pods)
        empty = Path(tmp) / "empty"
        empty.mkdir()
        clean = kubeplay_argv("apply", "-f", str(empty), "-i", args.inventory, "--yes", "--allow-empty")
        apply = kubeplay_argv("apply", "-f", str(manifest), "-i", args.inventory, "--yes")
        Figures().timed(apply, env=env)  # the infra image is imported once, before anything is timed
        Figures().timed(clean, env=env)
        loads = [load_average()]
        try:
            for n in range(args.runs):
                run_floor(lab, args.pods, figures["floor"])
                for label, root in list(roots.items())[:: -1 if n % 2 else 1]:  # each checkout first in turn
                    figures[label].timed(apply, cwd=root, env=env)
                    Figures().timed(clean, env=env)
            loads.append(load_average())
        finally:
            subprocess.run(clean, cwd=ROOT, env=env, check=False, capture_output=True)
    print(f"cold apply, {args.pods} pods (infra + redis each) over {len(lab.minions)} minions, {args.runs} rounds")
    print(f"  load average (1, 5, 15 min): {loads[0]} before, {loads[-1]} after")
    print("  floor: one parallel ssh per minion running the pods' `docker run` commands (infra, then app)")
    print_figures(figures, "floor", 1.3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
