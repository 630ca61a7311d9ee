"""Every broken or hostile input is refused with a clear, located, short message: no traceback, no hang, no secret.

The corpus is tests/bad/manifests (manifests and ``.j2`` templates) and tests/bad/inventory: each case is a file or
folder with a sidecar ``NAME.expected`` holding, one per line, the text each problem must contain (the number of
lines is the number of problems). Inputs too big to commit (100,000 brackets, a 10 MB scalar, FIFOs, devices) are
written at run time by the cases in ``GENERATED``. tests/bad/ssh belongs to the SSH client's tests.
"""

from __future__ import annotations

import io
import json
import os
import socket
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kubeplay.dataclass import dataclass
from kubeplay.errors import InputError
from kubeplay.inventory import load_inventory
from kubeplay.limits import looks_like_private_key
from kubeplay.manifests import load_manifests

BAD = Path(__file__).parents[1] / "bad"
LOADERS: dict[str, Callable[[str], object]] = {
    "manifests": lambda path: load_manifests([path], stdin=io.StringIO("")),
    "inventory": load_inventory,
}
LONGEST_PROBLEM = 400
"""No problem line is longer than this: values are quoted as short excerpts."""


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    """manifests or inventory: which loader reads it."""
    expected: tuple[str, ...]
    write: Callable[[Path], None] | None = None
    """Writes a generated input named ``name`` into the folder given; None for a file of the corpus."""


def corpus() -> Iterator[Case]:
    for kind in LOADERS:
        for path in sorted((BAD / kind).iterdir()):
            if path.suffix != ".expected":
                expected = (BAD / kind / (path.name.split(".")[0] + ".expected")).read_text().splitlines()
                yield Case(path.name, kind, tuple(expected))


# --- inputs generated at run time ----------------------------------------------------------------------------

MEGABYTE = 1024 * 1024


def _text(name: str, text: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return write


def _fifo(name: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(folder / name)

    return write


def _symlink(name: str, target: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).symlink_to(target)

    return write


def _socket(name: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(folder / name))  # the socket file stays after close
        server.close()

    return write


def _both(*writers: Callable[[Path], None]) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        for writer in writers:
            writer(folder)

    return write


def _pod_json(cpu: str) -> str:
    container = f'{{"name": "web", "image": "nginx", "cpu": {cpu}}}'
    return f'{{"id": "web", "kind": "Pod", "desiredState": {{"manifest": {{"containers": [{container}]}}}}}}'


def _pod_yaml(container_lines: str, head: str = "") -> str:
    return f"{head}apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n" + (
        f"    image: nginx\n{container_lines}"
    )


def _anchor_aliased(times: int, size: int) -> str:
    env = "".join(f"    - name: V{i}\n      value: *big\n" for i in range(times))
    return _pod_yaml(f"    env:\n{env}", head=f"big: &big {'x' * size}\n")


DEEP = "nested more than 100 levels deep; the limit is 100 levels (set KUBEPLAY_MAX_DEPTH to change it)"
TOO_BIG = "the file is larger than the limit; the limit is 4194304 bytes (set KUBEPLAY_MAX_FILE_SIZE to change it)"
FIFO = "is a FIFO (named pipe): only regular files are read"
DEVICE = "is a character device: only regular files are read"
GENERATED = [
    Case("brackets.json", "manifests", (f"brackets.json:1: {DEEP}",), _text("brackets.json", "[" * 100_000)),
    Case("brackets.yaml", "manifests", (f"brackets.yaml:1: {DEEP}",), _text("brackets.yaml", "[" * 100_000)),
    Case("braces.json", "manifests", (f"braces.json:1: {DEEP}",), _text("braces.json", '{"a": ' * 100_000)),
    Case("dashes.yaml", "manifests", (f"dashes.yaml:1: {DEEP}",), _text("dashes.yaml", "- " * 100_000)),
    Case(
        "cpu_5000_digits.json",
        "manifests",
        ("cpu_5000_digits.json:1: a number of 5000 characters; the limit is 100 characters",),
        _text("cpu_5000_digits.json", _pod_json("9" * 5000)),
    ),
    Case(
        "cpu_5000_digits.yaml",
        "manifests",
        ("cpu_5000_digits.yaml:9: a number of 5000 characters; the limit is 100 characters",),
        _text("cpu_5000_digits.yaml", _pod_yaml("    resources: {limits: {cpu: " + "9" * 5000 + "}}\n")),
    ),
    Case(
        "scalar_10mb.yaml",
        "manifests",
        (f"scalar_10mb.yaml: {TOO_BIG}",),
        _text("scalar_10mb.yaml", "kind: Pod\nid: " + "x" * (10 * MEGABYTE)),
    ),
    Case(
        "anchor_aliased_1000_times.yaml",
        "manifests",
        ("anchor_aliased_1000_times.yaml:11: aliases expand this to 200017891 characters; the limit is 33554432",),
        _text("anchor_aliased_1000_times.yaml", _anchor_aliased(1000, 200_000)),
    ),
    Case(
        "objects_10001.json",
        "manifests",
        ("objects_10001.json:1: too many objects in this run; the limit is 10000 objects",),
        _text("objects_10001.json", json.dumps({"kind": "List", "items": [{}] * 10_001})),
    ),
    Case("fifo.yaml", "manifests", (f"fifo.yaml: {FIFO}",), _fifo("fifo.yaml")),
    Case(
        "folder_with_fifo",
        "manifests",
        (f"folder_with_fifo/b.yaml: {FIFO}",),
        _both(_text("folder_with_fifo/a.yaml", ""), _fifo("folder_with_fifo/b.yaml")),
    ),
    Case("zero", "manifests", (f"zero/zero.yaml: {DEVICE}",), _symlink("zero/zero.yaml", "/dev/zero")),
    Case("urandom", "manifests", (f"urandom/r.json: {DEVICE}",), _symlink("urandom/r.json", "/dev/urandom")),
    Case("sockets", "manifests", ("sockets/s.yaml: is a socket",), _socket("sockets/s.yaml")),
    Case(
        "fifo_group_vars",
        "inventory",
        (f"fifo_group_vars/group_vars/all.yml: cannot read: {FIFO}",),
        _both(_text("fifo_group_vars/hosts", "m1\n"), _fifo("fifo_group_vars/group_vars/all.yml")),
    ),
    Case("inventory_fifo", "inventory", (f"inventory_fifo: cannot read inventory: {FIFO}",), _fifo("inventory_fifo")),
    Case("zero.ini", "inventory", (f"zero.ini: cannot read inventory: {DEVICE}",), _symlink("zero.ini", "/dev/zero")),
    Case("brackets.yml", "inventory", (f"brackets.yml:1: {DEEP}",), _text("brackets.yml", "[" * 100_000)),
    Case(
        "host_line_10mb.ini",
        "inventory",
        (f"host_line_10mb.ini: cannot read inventory: {TOO_BIG}",),
        _text("host_line_10mb.ini", "m1 a=" + "x" * (10 * MEGABYTE)),
    ),
    Case(
        "labels_100000_brackets.ini",
        "inventory",
        ("labels_100000_brackets.ini:1: host m1: kubeplay_labels: must be a mapping of labels",),
        _text("labels_100000_brackets.ini", "m1 kubeplay_labels=" + "[" * 100_000),
    ),
]


@pytest.mark.parametrize("case", [*corpus(), *GENERATED], ids=lambda case: case.name)
def test_bad_input_is_refused_with_located_short_messages(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBEPLAY_MAX_TEMPLATE_SECONDS", "1")  # the templates that never end stop after 1 s
    folder = BAD / case.kind
    if case.write is not None:
        folder = tmp_path
        case.write(folder)
    monkeypatch.chdir(folder)
    with pytest.raises(InputError) as caught:
        LOADERS[case.kind](case.name)
    problems = [str(problem) for problem in caught.value.problems]
    for line in case.expected:
        assert any(line in problem for problem in problems), f"{line!r} not in:\n" + "\n".join(problems)
    assert len(problems) == len(case.expected), "\n".join(problems)
    for problem in problems:
        assert len(problem) <= LONGEST_PROBLEM, problem
        assert not controls(problem), problem
        assert not looks_like_private_key(problem), problem


def controls(text: str) -> list[str]:
    """The control characters and bidirectional overrides in ``text``: none may reach a terminal."""
    return [
        c for c in text if unicodedata.category(c) == "Cc" or "\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069"
    ]


def test_the_corpus_has_at_least_eighty_cases() -> None:
    assert len([*corpus(), *GENERATED]) >= 80
