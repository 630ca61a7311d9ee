"""The house rules of the code's layout: no import cycle, no import of a layer above, few top-level modules, and
commands that connect nowhere load neither docker nor paramiko."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kubeplay"

LAYERS: dict[str, int] = {
    "dataclass": -2,  # below everything: the dataclass decorator
    "limits": -1,  # below L0: the input limits, which the YAML reader applies too
    **dict.fromkeys(("__init__", "errors", "model", "names", "quantities", "parallel", "yamlnodes"), 0),
    "selectors": 1,
    **dict.fromkeys(("connectors", "manifests", "inventory", "lab"), 2),
    "pods": 3,
    "planner": 4,
    **dict.fromkeys(("kubelet", "proxy"), 5),
    "reconcile": 6,
    "cli": 7,
}
"""Each top-level module or package and its layer: a module imports its own package and lower layers only."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every kubeplay module the file imports, at the top or inside functions (`from kubeplay.x import y` counts
    kubeplay.x.y when that is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kubeplay"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kubeplay"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES)
    return found & MODULES.keys()


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def component(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_component_has_a_layer() -> None:
    assert {component(m) for m in MODULES} <= LAYERS.keys()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_from_a_layer_above_or_beside(module: str) -> None:
    mine = component(module)
    wrong = sorted(
        m for m in GRAPH[module] if component(m) != mine and LAYERS[component(m)] >= LAYERS[mine] and m != "kubeplay"
    )
    assert wrong == [], f"{module} (layer {LAYERS[mine]}) imports {wrong}"


def test_no_import_cycle() -> None:
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(GRAPH[module]):
            if dep == module or (MODULES[dep].name == "__init__.py" and module.startswith(dep + ".")):
                continue  # a package's own __init__ re-exporting its modules is not a cycle
            if state.get(dep) == "open":
                cycles.append([*path[path.index(dep) :], dep] if dep in path else [module, dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_at_most_twelve_modules_lie_directly_in_the_package() -> None:
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(flat) <= 12, flat


def test_dataclasses_come_from_kubeplay_dataclass_not_from_the_standard_library() -> None:
    """kubeplay.dataclass makes them without importing the standard library's ``dataclasses`` (see its docstring);
    only it (for a class it leaves to the standard library), the test and bench comparing the two, and a bench that
    runs in older checkouts too import that."""
    allowed = {PACKAGE / "dataclass.py"} | {
        PACKAGE.parent / p
        for p in ("tests/unit/test_dataclass.py", "bench/bench_dataclass.py", "bench/bench_simulated.py")
    }  # (bench_simulated: for a --baseline checkout older than kubeplay.dataclass.replace)
    importing = []
    for folder in ("kubeplay", "tests", "bench"):
        for path in sorted((PACKAGE.parent / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                if "dataclasses" in names and path not in allowed:
                    importing.append(str(path.relative_to(PACKAGE.parent)))
    assert importing == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["apply", "--help"],
        ["describe", "--help"],
        ["exec", "--help"],
        ["validate", "-f", "manifests/redis.json", "-i", "tests/unit/data/inventory/cluster-ini/hosts.ini"],
    ],
)
def test_commands_that_connect_nowhere_load_neither_docker_nor_paramiko(argv: list[str]) -> None:
    script = (
        "import sys\n"
        "from kubeplay.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'docker', 'paramiko'}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=PACKAGE.parent, capture_output=True, text=True, check=False, timeout=60
    )
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout + run.stderr
