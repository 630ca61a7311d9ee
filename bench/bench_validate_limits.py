"""How long `kubeplay validate` takes on the largest inputs the limits accept (kubeplay.limits, default values).

    python bench/bench_validate_limits.py [--only NAME] [--runs N] [--baseline CHECKOUT]

Each input is written to a temporary folder, then `kubeplay validate -f ... -i ...` runs as a user types it and
its wall time is printed (min / median / max of --runs). With --baseline (another checkout, e.g. /work/main) its
runs are interleaved with this checkout's and the ratio of the medians is printed. Prints figures; asserts only
that each input is accepted (exit 0).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kubeplay.limits import MAX_EXPANDED_SIZE, MAX_FILE_SIZE, MAX_OBJECTS

ROOT = Path(__file__).resolve().parents[1]
HEAD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: web\n    image: nginx\n"


def one_big_env_value(folder: Path) -> list[str]:
    """One file just under the file-size limit: a pod whose env value is almost all of it."""
    text = HEAD.format(name="big") + "    env:\n    - name: BIG\n      value: "
    (folder / "big.yaml").write_text(text + "x" * (MAX_FILE_SIZE.default - len(text) - 1) + "\n")
    return [str(folder / "big.yaml")]


def most_objects_yaml(folder: Path) -> list[str]:
    """MAX_OBJECTS pods, as YAML documents in files under the file-size limit."""
    pods = [HEAD.format(name=f"web{i}") for i in range(MAX_OBJECTS.default)]
    for part in range(4):
        (folder / f"pods{part}.yaml").write_text("---\n".join(pods[part::4]))
    return [str(folder)]


def most_objects_json(folder: Path) -> list[str]:
    """MAX_OBJECTS pods in one JSON List."""
    container = {"name": "web", "image": "nginx"}
    items = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"web{i}"}, "spec": {"containers": [container]}}
        for i in range(MAX_OBJECTS.default)
    ]
    (folder / "pods.json").write_text(json.dumps({"kind": "List", "items": items}))
    return [str(folder / "pods.json")]


def aliases_to_the_expansion_limit(folder: Path) -> list[str]:
    """One anchor aliased into env values until the expanded size is just under its limit."""
    anchor = 3 * 1024 * 1024
    times = MAX_EXPANDED_SIZE.default // (anchor + 1) - 1
    env = "".join(f"    - name: V{i}\n      value: *big\n" for i in range(times))
    anchored = f"    env:\n    - name: ANCHOR\n      value: &big {'x' * anchor}\n{env}"
    (folder / "aliases.yaml").write_text(HEAD.format(name="aliases") + anchored)
    return [str(folder / "aliases.yaml")]


INPUTS: dict[str, Callable[[Path], list[str]]] = {
    "one 4 MiB env value": one_big_env_value,
    "10,000 pods in YAML": most_objects_yaml,
    "10,000 pods in one JSON List": most_objects_json,
    "3 MiB anchor aliased to ~32 MiB": aliases_to_the_expansion_limit,
}


def validate(root: Path, command: list[str]) -> float:
    started = time.monotonic()
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=None, help="run only the input whose name contains this")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout, run interleaved")
    args = parser.parse_args()
    roots = {"this": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    for name, make in INPUTS.items():
        if args.only and args.only not in name:
            continue
        with tempfile.TemporaryDirectory() as work:
            folder = Path(work)
            (folder / "manifests").mkdir()
            paths = make(folder / "manifests")
            (folder / "hosts").write_text("m1 ansible_connection=local\n")
            command = [sys.executable, "-m", "kubeplay.cli", "validate", "-i", str(folder / "hosts")]
            for path in paths:
                command += ["-f", path]
            times: dict[str, list[float]] = {label: [] for label in roots}
            for _ in range(args.runs):
                for label, root in roots.items():
                    times[label].append(validate(root, command))
            size = sum(p.stat().st_size for p in (folder / "manifests").iterdir())
            for label, found in times.items():
                figures = f"min {min(found):6.2f}  median {statistics.median(found):6.2f}  max {max(found):6.2f} s"
                print(f"{name:<34} {size / 1024 / 1024:6.2f} MiB  {label:<8} validate {figures}", flush=True)
            if args.baseline:
                ratio = statistics.median(times["this"]) / statistics.median(times["baseline"])
                print(f"{name:<34} this / baseline (medians): {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
