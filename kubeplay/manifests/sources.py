"""From paths to documents: find manifest files, read them, render ``.j2`` templates, parse JSON and YAML.

Every document becomes a ``Node`` tree with lines. YAML is composed (not constructed) so each node keeps its start
mark; JSON is first checked by the ``json`` module (strict syntax, exact errors), then composed the same way since
JSON is YAML, with plain scalars decoded by JSON's rules.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

import yaml
from yaml.constructor import SafeConstructor

from kubeplay.errors import Problem
from kubeplay.manifests.nodes import Node
from kubeplay.manifests.templates import TemplateFailed, render_template

STDIN = "-"
STDIN_NAME = "<stdin>"
MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")
TEMPLATE_SUFFIX = ".j2"

Format = Literal["json", "yaml", "guess"]


@dataclass(frozen=True)
class Document:
    """One object (or List) as read from a file, before it is understood."""

    file: str
    node: Node


class Unreadable(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def read_documents(
    paths: Sequence[str], variables: Mapping[str, object], stdin: TextIO, problems: list[Problem]
) -> list[Document]:
    """Every document of every manifest file under ``paths``, in order; problems are appended to ``problems``."""
    documents: list[Document] = []
    for path in paths:
        for file in manifest_files(path, problems):
            name = STDIN_NAME if file == STDIN else file
            try:
                documents.extend(Document(name, node) for node in read_file(file, variables, stdin))
            except Unreadable as exc:
                problems.append(Problem(name, exc.message, exc.line))
    return documents


def manifest_files(path: str, problems: list[Problem]) -> list[str]:
    """``path`` itself, or the manifest files under a directory (recursive, sorted, hidden entries skipped)."""
    if path == STDIN or os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        problems.append(Problem(path, "no such file or directory"))
        return []
    files: list[str] = []
    for directory, subdirectories, names in os.walk(path):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        files.extend(
            os.path.join(directory, name) for name in sorted(names) if not name.startswith(".") and is_manifest(name)
        )
    return sorted(files, key=lambda file: Path(file).parts)


def is_manifest(name: str) -> bool:
    return name.removesuffix(TEMPLATE_SUFFIX).endswith(MANIFEST_SUFFIXES)


def read_file(file: str, variables: Mapping[str, object], stdin: TextIO) -> list[Node]:
    """The documents of one file (or of stdin for "-"), rendered first when it is a template."""
    text = _read_text(file, stdin)
    name = file.removesuffix(TEMPLATE_SUFFIX)
    if file.endswith(TEMPLATE_SUFFIX):
        try:
            text = render_template(text, file, variables)
        except TemplateFailed as exc:
            raise Unreadable(exc.message, exc.line) from exc
    if file == STDIN:
        return parse(text, "guess")
    return parse(text, "json" if name.endswith(".json") else "yaml" if name.endswith((".yaml", ".yml")) else "guess")


def parse(text: str, form: Format) -> list[Node]:
    """The documents in ``text``; an empty text has none. Raises Unreadable for a syntax error."""
    if not text.strip():
        return []
    if form == "guess":
        form = "json" if text.lstrip()[:1] in ("{", "[") and _is_json(text) else "yaml"
    return [parse_json(text)] if form == "json" else parse_yaml(text)


def parse_yaml(text: str) -> list[Node]:
    try:
        composed = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise Unreadable(f"invalid YAML: {_yaml_message(exc)}", _yaml_line(exc)) from exc
    builder = _NodeBuilder(json_scalars=False)
    return [builder.build(node) for node in composed if node is not None and not _is_null(node)]


def parse_json(text: str) -> Node:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from exc
    # A literal tab can only be whitespace in valid JSON, and YAML refuses tabs as indentation.
    try:
        composed = yaml.compose(text.replace("\t", " "), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return _plain_node(value)  # valid JSON that YAML cannot read (very long keys): no lines, same values
    if composed is None:
        return _plain_node(value)
    return _NodeBuilder(json_scalars=True).build(composed)


def _read_text(file: str, stdin: TextIO) -> str:
    if file == STDIN:
        return stdin.read()
    try:
        with open(file, encoding="utf-8-sig") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from exc


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _yaml_message(exc: yaml.YAMLError) -> str:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return str(exc).splitlines()[0]
    message = exc.problem or exc.context or str(exc)
    if exc.context and exc.problem:
        started = f" started at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{started})"
    return message


def _yaml_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return None if mark is None else int(mark.line) + 1


_CONSTRUCTED_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float")}


class _NodeBuilder:
    """Turns composed YAML nodes into ``Node`` trees. Aliases share one ``Node``, so expansion stays linear."""

    def __init__(self, *, json_scalars: bool) -> None:
        self.json_scalars = json_scalars
        self.constructor = SafeConstructor()
        self.built: dict[int, Node] = {}
        self.open: set[int] = set()

    def build(self, node: yaml.Node) -> Node:
        key = id(node)
        if key in self.built:
            return self.built[key]
        if key in self.open:
            raise Unreadable("invalid YAML: an alias refers to the node that contains it", _line(node))
        self.open.add(key)
        try:
            built = self._build(node)
        finally:
            self.open.discard(key)
        self.built[key] = built
        return built

    def _build(self, node: yaml.Node) -> Node:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return Node([self.build(item) for item in node.value], _line(node))
        return Node(self._scalar(node), _line(node))

    def _mapping(self, node: yaml.MappingNode) -> Node:
        merged = self._merge(node)
        entries: dict[str, Node] = {}
        key_lines: dict[str, int | None] = {}
        duplicates: list[tuple[str, int | None]] = []
        own: set[str] = set()  # keys written in this mapping: they override merged ones, but not each other
        for index, (key_node, value_node) in enumerate(node.value):
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "<complex key>"
            if index >= merged:
                if key in own:
                    duplicates.append((key, _line(key_node)))
                own.add(key)
            entries[key] = self.build(value_node)
            key_lines[key] = _line(key_node)
        return Node(entries, _line(node), key_lines, tuple(duplicates))

    def _merge(self, node: yaml.MappingNode) -> int:
        """Apply YAML merge keys ("<<: *defaults"); the number of merged pairs, which now come first."""
        if self.json_scalars:
            return 0
        own = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
        try:
            self.constructor.flatten_mapping(node)
        except yaml.YAMLError as exc:
            raise Unreadable(f"invalid YAML: {_yaml_message(exc)}", _yaml_line(exc) or _line(node)) from exc
        return len(node.value) - own

    def _scalar(self, node: yaml.Node) -> object:
        if self.json_scalars:
            if isinstance(node, yaml.ScalarNode) and node.style is None:
                return json.loads(node.value)
            return str(node.value).encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
        if node.tag in _CONSTRUCTED_TAGS:
            return self.constructor.construct_object(node)
        return str(node.value)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _plain_node(value: object) -> Node:
    if isinstance(value, dict):
        return Node({key: _plain_node(item) for key, item in value.items()})
    if isinstance(value, list):
        return Node([_plain_node(item) for item in value])
    return Node(value)
