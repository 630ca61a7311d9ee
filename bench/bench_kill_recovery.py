"""`kubeplay apply` killed with SIGKILL at twenty moments (a cold apply of 6 replicas over the lab's 3 minions, a
scale-down, a rolling update, a proxy sync: the scenarios of tests/integration/kills.py), then applied once more.

Run as root with the lab up (`kubeplay lab up --name NAME`): python bench/bench_kill_recovery.py [--lab lab].
Prints, per kill, whether the one apply after it converged (exit 0, exactly the desired pods and volumes, and a
third apply with --detailed-exitcode finding nothing to change) and how long it took, then "N of N converged".
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the scenarios live with the integration tests

from kubeplay.lab import cluster  # noqa: E402
from tests.integration.kills import KILLS, KillLab  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="lab", help="lab name (default lab)")
    args = parser.parse_args()
    found = cluster.current(args.lab)
    if found is None:
        print(f"lab {args.lab} is not up: kubeplay lab up --name {args.lab}", file=sys.stderr)
        return 1
    layout, record = found
    with tempfile.TemporaryDirectory() as folder:
        runs = KillLab(Path(record.inventory), [m.docker_host for m in layout.minions], Path(folder))
        recoveries = []
        for r in runs.run(KILLS):
            verdict = "converged" if r.converged else f"NOT converged (exit {r.code}, check {r.check_code})"
            killed = "killed" if r.killed else "not killed (finished first)"
            print(f"{r.kill!s:<40} {killed:<28} recovery {r.seconds:5.1f} s  {verdict}", flush=True)
            for problem in r.problems:
                print(f"    {problem}")
            recoveries.append(r)
        runs.clean()
    times = [r.seconds for r in recoveries]
    converged = sum(r.converged for r in recoveries)
    print(f"{converged} of {len(recoveries)} converged")
    print(f"recovery: median {statistics.median(times):.1f} s, max {max(times):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
