"""kubeplay.dataclass against the standard library's dataclasses: making a class, and each call on its instances.

    PYTHONPATH=. python bench/bench_dataclass.py [--runs 7]

The same class definitions (a frozen class of 6 fields with defaults and a factory, as kubeplay's model has) are
made by each library; then each operation is timed, interleaved, in µs per call, the best of --runs repeats:
making the class, ``__init__``, ``==``, ``hash``, ``repr``, ``replace``, ``asdict``, ``fields``. The methods
kubeplay.dataclass compiles on their first call are compiled before timing (a run calls them thousands of times).
Also the CPU time of importing each library in a fresh interpreter (from bytecode, once typing and re are).
Prints figures and the ratios ours / theirs; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from kubeplay import dataclass as ours

ROOT = Path(__file__).resolve().parents[1]

SOURCE = """
from __future__ import annotations

@lib.dataclass(frozen=True)
class Container:
    name: str
    image: str
    command: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    ports: tuple[int, ...] = lib.field(default_factory=tuple)
    working_dir: str = lib.field(default="", compare=False)
"""
CLASS_CODE = compile(SOURCE, "<bench>", "exec")
"""(compiled once: making the class is what is timed)"""


def make_class(lib: ModuleType) -> Any:
    namespace: dict[str, Any] = {"lib": lib, "__name__": __name__}  # (a module the stdlib finds)
    exec(CLASS_CODE, namespace)
    return namespace["Container"]


def operations(lib: ModuleType) -> dict[str, Callable[[], object]]:
    kind = make_class(lib)
    made = kind("web", "nginx", ("a",), (("K", "V"),), (80,))
    other = kind("web", "nginx", ("a",), (("K", "V"),), (80,))
    for warm in (made == other, hash(made), repr(made)):  # (compiles ours' methods once)
        assert warm
    return {
        "make the class": lambda: make_class(lib),
        "__init__": lambda: kind("web", "nginx", ("a",), (("K", "V"),), (80,)),
        "==": lambda: made == other,
        "hash": lambda: hash(made),
        "repr": lambda: repr(made),
        "replace": lambda: lib.replace(made, image="redis"),
        "asdict": lambda: lib.asdict(made),
        "fields": lambda: lib.fields(made),
    }


def import_cpu(module: str) -> float:
    """CPU ms of ``import module`` in a fresh interpreter, from bytecode (compiled first), once what every kubeplay
    command has loaded before it (typing, re, enum, functools) is."""
    script = f"import typing, re, enum, functools, time\nt = time.process_time()\nimport {module}\n"
    script += "print((time.process_time() - t) * 1000)"
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, env=env)
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    import dataclasses

    theirs_ops, ours_ops = operations(dataclasses), operations(ours)
    print(f"{'operation':<16} {'stdlib µs':>10} {'kubeplay µs':>12} {'ratio':>6}")
    for name in theirs_ops:
        best: dict[str, float] = {"theirs": float("inf"), "ours": float("inf")}
        number = 200 if name == "make the class" else 20000
        for _ in range(runs):
            for who, ops in (("theirs", theirs_ops), ("ours", ours_ops)):
                best[who] = min(best[who], timeit.timeit(ops[name], number=number) / number * 1e6)
        print(f"{name:<16} {best['theirs']:>10.2f} {best['ours']:>12.2f} {best['ours'] / best['theirs']:>6.2f}")
    cpu: dict[str, list[float]] = {"dataclasses": [], "kubeplay.dataclass": []}
    import_cpu("kubeplay.dataclass")  # (writes its bytecode)
    start = time.perf_counter()
    for _ in range(runs):
        for module in cpu:
            cpu[module].append(import_cpu(module))
    print(f"import CPU ms, min over {runs} fresh interpreters ({time.perf_counter() - start:.1f} s):")
    for module, figures in cpu.items():
        print(f"  {module:<20} {min(figures):6.2f}")


if __name__ == "__main__":
    main()
