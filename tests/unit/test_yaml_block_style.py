"""YAML in the simple block style (most manifests and variables files) is read without PyYAML
(``yamlnodes._simple_documents``) to exactly the trees PyYAML's composer and ``_NodeBuilder`` make of it, for
Kubernetes and for Ansible: values and their types, lines, key lines, repeated keys; every other text is left to
PyYAML, so what it reads and every error it reports stay as they were."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from kubeplay import yamlnodes
from kubeplay.yamlnodes import InvalidDocument, Node, parse_yaml, parse_yaml_document

ROOT = Path(__file__).resolve().parents[2]
YAML_FILES = sorted(
    path for path in ROOT.rglob("*") if path.suffix in (".yaml", ".yml") and ".git" not in path.parts and path.is_file()
)


def differences(mine: Node, theirs: Node, path: str = "$") -> list[str]:
    """Where two trees differ: types (True is not 1), values, lines, key lines and their order, repeated keys."""
    if type(mine.value) is not type(theirs.value) or mine.line != theirs.line:
        return [f"{path}: {mine.value!r} at {mine.line}, {theirs.value!r} at {theirs.line}"]
    if list(mine.key_lines.items()) != list(theirs.key_lines.items()) or mine.duplicate_keys != theirs.duplicate_keys:
        return [f"{path}: keys {dict(mine.key_lines)} {mine.duplicate_keys}, {dict(theirs.key_lines)}"]
    if isinstance(mine.value, dict) and isinstance(theirs.value, dict):
        if list(mine.value) != list(theirs.value):
            return [f"{path}: keys {list(mine.value)}, {list(theirs.value)}"]
        return [d for key in mine.value for d in differences(mine.value[key], theirs.value[key], f"{path}.{key}")]
    if isinstance(mine.value, list) and isinstance(theirs.value, list):
        if len(mine.value) != len(theirs.value):
            return [f"{path}: {len(mine.value)} items, {len(theirs.value)}"]
        pairs = zip(mine.value, theirs.value, strict=True)
        return [d for i, (a, b) in enumerate(pairs) for d in differences(a, b, f"{path}[{i}]")]
    return [] if mine.value == theirs.value else [f"{path}: {mine.value!r}, {theirs.value!r}"]


def plain_documents(text: str) -> list[Node] | None:
    """The documents the simple reader reads in ``text``, None when it leaves the text to PyYAML."""
    simple = yamlnodes._simple_documents(text)
    return None if simple is None else [node for node in simple if node is not None]


def read_alike(text: str) -> bool:
    """Whether the simple reader took ``text``; fails the test where it read it otherwise than PyYAML, as a
    stream of documents (both scalar rules) or as one document (an inventory's)."""
    simple = yamlnodes._simple_documents(text)
    if simple is None:
        return False
    for scalars in ("kubernetes", "ansible"):
        try:
            theirs = yamlnodes._composed_documents(text, scalars)
        except InvalidDocument as exc:
            raise AssertionError(f"read a text PyYAML refuses ({exc.message}): {text!r}") from exc
        mine = parse_yaml(text, scalars)
        assert len(mine) == len(theirs), text
        assert [d for a, b in zip(mine, theirs, strict=True) for d in differences(a, b)] == [], text
        if len(simple) == 1:
            composed = yamlnodes._composed(lambda loader: yaml.compose(text, Loader=loader))
            one = parse_yaml_document(text, scalars)
            if composed is None or one is None:
                assert composed is None and one is None, text
            else:
                assert differences(one, yamlnodes._NodeBuilder(scalars).build(composed)) == [], text
    return True


KEYS = ["name", "image", "a-b", "x.io/y", "_k", "8080", "1.5", "true", "null", "N", "<<", "a b", '"q"', "k:"]
SCALARS = [
    *("x", "a b", "a  b", "dockerfile/redis", "a:b", "http://h:80/p", "sh -c 'echo hi'", "a, b", "a{b}", "a ?", "~x"),
    *("yes", "No", "TRUE", "on", "Off", "y", "null", "NULL", "~", "", "nULL"),
    *("[]", "{}", "[a, b]", "{a: 1, b: yes}", "[{name: x, port: 80}]", "[a,b]", "[ a ]", "{a: 1, a: 2}"),
    *("[[a], {b: [c]}]",),
    *("['x', \"y\"]", "[~, null, 0, 007]", "[x, ]", "{a: }", "[a: b]", "[1.5]", "[b c]", '{"b": 1}', "[a] b", "{a:b}"),
    *("0", "42", "-1", "+1", "007", "0x1F", "0b1", "1e3", "1.5", ".5", ".inf", "1:30", "2014-10-01", "12abc", "10Mi"),
    *("10.0.0.80", "1.2.3", "1.2e+3", "1_0.5", "190:20:30.15", "2001-12-14 21:59:43.10 -5"),
    *("'it''s'", "''", "'a", '"a b"', '"a\'b"', '"a\\tb"', '"x" y', "'#'", "a #c", "a#b", "# c", "\"a\" # c", "a: b"),
    *("a:", "1" * 101),
    *("[a]", "{a: 1}", "&x a", "*x", "!!str 1", "|", ">", "-", "- x", "@x", "%x", "=", "<<", "a\tb", "é", "\\x"),
]  # fmt: skip


def random_text(rng: random.Random) -> str:
    """A text of the shapes manifests have (mappings, lists, lists of mappings starting on the dash's line, lists
    where their key starts, comments, documents), often valid, then maybe broken by small edits."""
    keys, scalars = (KEYS[:10], SCALARS[:40]) if rng.random() < 0.6 else (KEYS, SCALARS)
    lines: list[str] = []

    def block(indent: int, depth: int) -> None:
        step = rng.choice([1, 2, 2, 4])
        if rng.random() < 0.7 or depth > 3:
            for key in rng.choices(keys, k=rng.randint(1, 4)):
                if depth < 4 and rng.random() < 0.3:
                    lines.append(" " * indent + key + ":" + rng.choice(["", "", " # c"]))
                    block(indent + rng.choice([0, step, step]), depth + 1)
                else:
                    lines.append(" " * indent + key + ":" + rng.choice([" ", " ", "  "]) + rng.choice(scalars))
        else:
            for _ in range(rng.randint(1, 3)):
                gap = rng.choice([1, 1, 3])
                if depth < 4 and rng.random() < 0.4:
                    start = len(lines)
                    block(indent + 1 + gap, depth + 1)
                    lines[start] = " " * indent + "-" + " " * gap + lines[start].lstrip(" ")
                else:
                    lines.append(" " * indent + "-" + " " * gap + rng.choice(scalars))
        if rng.random() < 0.1:
            lines.append(" " * rng.randrange(6) + "# comment")

    for number in range(rng.choice([1, 1, 2])):
        if number:
            lines.append(rng.choice(["---", "--- ", "---"]))
        block(rng.choice([0, 0, 2]), 1)
    return edited(rng, "\n".join(lines) + rng.choice(["", "\n", "\n\n"]))


def edited(rng: random.Random, text: str) -> str:
    """``text`` with up to 2 characters inserted or removed (a space, a colon, a dash, a line...)."""
    for _ in range(rng.choice([0, 0, 1, 2])):
        where = rng.randrange(len(text) + 1)
        edit = rng.choice([" ", ":", "-", "#", "'", "", "\n", "\n---\n"])
        text = text[:where] + edit + text[where + (edit == "") :]
    return text


@pytest.mark.parametrize("seed", range(40))
def test_a_text_is_read_as_pyyaml_reads_it_or_left_to_pyyaml(seed: int) -> None:
    rng = random.Random(seed)
    taken = sum(read_alike(random_text(rng)) for _ in range(100))
    assert taken > 5  # (the reader is tried: ~15 of each 100 texts are plain)


@pytest.mark.parametrize("file", YAML_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_project_s_yaml_files_are_read_as_pyyaml_reads_them(file: Path) -> None:
    read_alike(file.read_text(errors="replace"))


def test_a_manifest_as_people_write_it_is_read_to_its_values_and_lines() -> None:
    text = (
        "# the web tier\n"
        "apiVersion: v1\n"
        "kind: ReplicationController\n"
        "metadata:\n"
        "  name: web  # the controller\n"
        "  labels: {app: web, tier: [front, 1]}\n"
        "spec:\n"
        "  replicas: 3\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        "      - name: web\n"
        "        image: 'nginx:1.7.9'\n"
        "        ports:\n"
        "          - containerPort: 80\n"
        "            hostPort:\n"
        "        resources: &limits {}\n"
    )
    assert plain_documents(text) is None  # (an anchor: left to PyYAML)
    text = text.replace("&limits {}", "\n          memory: 64Mi\n          privileged: yes\n---\n---\nkind: Service")
    assert read_alike(text)
    first, second = plain_documents(text) or []
    assert isinstance(first.value, dict)
    assert plain_documents("portalIP: 10.0.0.80\nhostIP: 192.168.1.10") is not None  # (addresses: strings)
    assert first.plain() == {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": ["front", 1]}},
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.7.9",
                            "ports": [{"containerPort": 80, "hostPort": None}],
                            "resources": {"memory": "64Mi", "privileged": True},
                        }
                    ]
                }
            },
        },
    }
    assert (first.line, first.value["spec"].line_of("replicas"), second.line) == (2, 8, 22)


@pytest.mark.parametrize(
    "text",
    [
        "cpu: 0.5",  # a float
        "port: 0x1F",  # an integer YAML 1.1 reads otherwise than JSON
        "day: 2014-10-01",  # a date
        "a: &x 1\nb: *x",  # anchors
        "a: !!str 1",  # a tag
        "a: [1, ]",  # a flow collection with an empty item
        "a: |\n  x",  # a block scalar
        "a: b\n  c",  # a scalar on two lines
        'a: "\\t"',  # an escape
        "a: 1\n b: 2",  # an indentation YAML refuses
        "a:\n- - x",  # a list in a list's item
        "a: b\tc",  # a tab
        "a: é",  # not ASCII
        "<<: {}",  # a merge key
        "n: " + "1" * 101,  # a number past the limit: PyYAML says so
    ],
)
def test_anything_else_is_left_to_pyyaml(text: str) -> None:
    assert yamlnodes._simple_documents(text) is None


def test_nesting_near_the_depth_limit_is_left_to_pyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEPLAY_MAX_DEPTH", "3")
    assert plain_documents("a:\n  b: 1") is not None
    assert plain_documents("a:\n  b:\n    c: 1") is None
    with pytest.raises(InvalidDocument, match="nested more than 3 levels deep"):
        parse_yaml("a:\n  b:\n    c: 1")
