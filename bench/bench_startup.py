"""Start-up: what `kubeplay --help`, `kubeplay validate` and a no-op `kubeplay apply` import, and how long it takes.

    python bench/bench_startup.py [--runs 7] [--lab pf] [--baseline CHECKOUT] [--bytecode] [--instructions]

Each command runs under `python -X importtime` (the apply path only with --lab: a converged no-op apply of one pod
on that lab, its manifest once as JSON text in a .yaml file, as this bench always wrote it, and once written as YAML,
which loads PyYAML). The figures are the import time of everything imported after the interpreter's own start-up
(the top-level imports after `site`, with what they pull in), and, since that is wall time and the machine may be
busy, the CPU time of importing the same modules in a fresh interpreter; min / median / max over --runs,
interleaved with --baseline's runs when given.

How threads count: `apply` imports part of itself (paramiko, the lock program's modules) on the threads that start
connecting early (cli/early.py) while the main thread imports the rest. -X importtime prints each import's wall time
with its nesting level, and in Python 3.11 that level is one counter for the whole process, not one per thread: an
import printed at the top level ended while no other import, in any thread, was under way. So the top-level lines'
intervals never overlap and their sum counts no time twice: it is (at most) the wall time during which some thread
was importing, including the time a thread's import waited for the GIL while the main thread did other work
(reading the manifests). Self times of imports that overlapped another thread's are meaningless (the time spent in
nested imports is one counter too); the import CPU figure (the same modules, one thread) has no such overlap.

Also prints whether docker, paramiko, jinja2 or rich's tables and prompts were imported (issue 13, target 3: `--help`
and `validate` load none of them; the apply path <= 120 ms). With --bytecode, modules are imported from bytecode
compiled in a first round that is not measured, as an installed kubeplay's are (pip compiles them); without it, a
checkout is compiled on every run when $PYTHONDONTWRITEBYTECODE is set, and compiling is most of its own modules'
import time.
With --instructions, each command also runs once per checkout under valgrind's callgrind, which counts the
instructions the whole process executes (start-up, imports and the run, every thread): a figure load does not move,
for a machine too busy for times to mean much.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from labfloor import ROOT, environment, kubeplay_argv

from kubeplay.lab import cluster

HEAVY = ("docker", "paramiko", "jinja2", "rich.table", "rich.prompt", "requests", "urllib3")
_LINE = re.compile(r"^import time:\s+(?P<own>\d+) \|\s+(?P<total>\d+) \|(?P<indent> +)(?P<name>\S+)$")
PROJECT = "bench-startup"
YAML_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: startup
spec:
  containers:
    - name: redis
      image: dockerfile/redis
"""
"""The same pod as the JSON one, written as YAML."""


CPU_OF_IMPORTS = """
import importlib, sys, time
names = sys.stdin.read().split()
began = time.process_time()
for name in names:
    try:
        importlib.import_module(name)
    except Exception:
        pass
print((time.process_time() - began) * 1000)
"""
"""Prints the CPU milliseconds of importing the modules named on stdin, in that order."""


def imports(stderr: str) -> tuple[float, list[str], list[str]]:
    """Milliseconds of imports after `site`, the modules imported after it, and the top-level ones of those (each
    pulling in the others as in the run: importing a module nested in another's import alone could differ), in
    order."""
    after: list[str] = []
    top: list[str] = []
    total, after_site = 0, False
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        if after_site:
            after.append(m["name"])
        if len(m["indent"]) == 1:  # a top-level import: its total covers what it pulled in
            if after_site:
                total += int(m["total"])
                top.append(m["name"])
            after_site = after_site or m["name"] == "site"
    return total / 1000, after, top


def run(root: Path, args: list[str], env: dict[str, str]) -> tuple[float, float, set[str]]:
    """Import wall ms, import CPU ms and the modules imported of ``kubeplay ARGS`` in the checkout ``root``."""
    argv = [sys.executable, "-X", "importtime", *kubeplay_argv(*args)[1:]]
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed in {root}: {done.stderr[-2000:]}")
    wall, names, top = imports(done.stderr)
    cpu = subprocess.run(
        [sys.executable, "-c", CPU_OF_IMPORTS], cwd=root, input=" ".join(top), capture_output=True, text=True, env=env
    )
    return wall, float(cpu.stdout), set(names)


def instructions(root: Path, args: list[str], env: dict[str, str], out: Path) -> float:
    """Millions of instructions the process ``kubeplay ARGS`` of the checkout ``root`` executes (callgrind's total,
    all threads), its data written to ``out``."""
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *kubeplay_argv(*args)]
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed under valgrind in {root}: {done.stderr[-2000:]}")
    totals = [line.split()[1] for line in out.read_text().splitlines() if line.startswith(("summary:", "totals:"))]
    return int(totals[0]) / 1e6


def count_instructions(
    commands: dict[str, list[str]], roots: dict[str, Path], env: dict[str, str], out: Path
) -> dict[tuple[str, str], float]:
    """``instructions`` of each command in each checkout, once."""
    return {
        (what, label): instructions(root, argv, env, out)
        for what, argv in commands.items()
        for label, root in roots.items()
    }


def spread(ms: list[float]) -> str:
    return f"min {min(ms):6.1f}  median {statistics.median(ms):6.1f}  max {max(ms):6.1f} ms"


def report(
    times: dict[tuple[str, str], list[float]],
    cpus: dict[tuple[str, str], list[float]],
    loaded: dict[tuple[str, str], set[str]],
    commands: list[str],
    baseline: bool,
    counted: dict[tuple[str, str], float],
) -> None:
    for (what, label), found in times.items():
        seen = loaded[(what, label)]  # (a package counts when any module of it was: sshlib makes paramiko's itself)
        heavy = sorted(h for h in HEAVY if any(n == h or n.startswith(f"{h}.") for n in seen)) or ["none"]
        print(f"{what:<14} {label:<9} importtime {spread(found)}   heavy modules: {', '.join(heavy)}")
        print(f"{what:<14} {label:<9} import CPU {spread(cpus[(what, label)])}")
    if baseline:
        for what in commands:
            for name, figures in (("importtime", times), ("import CPU", cpus)):
                ratio = statistics.median(figures[(what, "this")]) / statistics.median(figures[(what, "baseline")])
                print(f"{what:<14} this / baseline, {name} (medians): {ratio:.2f}")
    for (what, label), millions in counted.items():
        print(f"{what:<14} {label:<9} instructions {millions:8.1f} M (valgrind, the whole process)")
        if label == "baseline":
            print(f"{what:<14} this / baseline, instructions: {counted[(what, 'this')] / millions:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lab", default=None, help="a lab that is up, for the apply path")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout, run interleaved")
    parser.add_argument(
        "--bytecode",
        action="store_true",
        help="import from bytecode compiled in a first, unmeasured round (as an installed kubeplay does), even when "
        "$PYTHONDONTWRITEBYTECODE is set: without it, a checkout under that setting is compiled on every run",
    )
    parser.add_argument(
        "--instructions", action="store_true", help="also count each command's instructions once, under valgrind"
    )
    args = parser.parse_args()
    roots = {"this": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    with tempfile.TemporaryDirectory() as tmp:
        env = environment(KUBEPLAY_PROJECT=PROJECT)
        if args.bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        spec = {"containers": [{"name": "redis", "image": "dockerfile/redis"}]}
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "startup"}, "spec": spec}
        manifest = Path(tmp) / "pod.yaml"
        manifest.write_text(json.dumps(pod))
        written_as_yaml = Path(tmp) / "yaml" / "pod.yaml"
        written_as_yaml.parent.mkdir()
        written_as_yaml.write_text(YAML_POD)
        hosts = Path(tmp) / "hosts"
        hosts.write_text("m1 ansible_connection=local\n")
        commands = {"--help": ["--help"], "validate": ["validate", "-f", str(manifest), "-i", str(hosts)]}
        if args.lab:
            lab = cluster.current(args.lab)
            if lab is None:
                raise SystemExit(f"no lab {args.lab!r}")
            apply = ["apply", "-f", str(manifest), "-i", lab[1].inventory, "--yes"]
            run(ROOT, apply, env)  # converge first: the runs measured are no-ops
            commands["apply (no-op)"] = apply
            commands["apply YAML"] = ["apply", "-f", str(written_as_yaml), *apply[3:]]
        times: dict[tuple[str, str], list[float]] = {}
        cpus: dict[tuple[str, str], list[float]] = {}
        loaded: dict[tuple[str, str], set[str]] = {}
        counted: dict[tuple[str, str], float] = {}
        try:
            for measured in [False] * args.bytecode + [True] * args.runs:
                for what, argv in commands.items():
                    for label, root in roots.items():
                        ms, cpu, seen = run(root, argv, env)
                        if not measured:
                            continue
                        times.setdefault((what, label), []).append(ms)
                        cpus.setdefault((what, label), []).append(cpu)
                        loaded[(what, label)] = seen
            if args.instructions:
                counted = count_instructions(commands, roots, env, Path(tmp) / "callgrind.out")
        finally:
            if args.lab:
                empty = Path(tmp) / "empty"
                empty.mkdir()
                run(
                    ROOT, ["apply", "-f", str(empty), "-i", commands["apply (no-op)"][4], "--yes", "--allow-empty"], env
                )
    report(times, cpus, loaded, list(commands), bool(args.baseline), counted)
    print("targets: --help and validate import none of the heavy modules; the apply path <= 120 ms")
    print("(importtime: wall ms while some thread imports, see the docstring; import CPU: the modules, one thread)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
