"""YAML and JSON documents as trees of ``Node`` that remember their lines: the one reader of manifests and inventory.

A document becomes a tree of ``Node``: scalars, ``dict[str, Node]`` (keys as written) and ``list[Node]``, each with
the 1-based line it starts on; a mapping also keeps the line of each key and the keys given more than once. YAML is
composed (not constructed) so each node keeps its start mark, then built:

  * aliases share one built ``Node``, so a "billion laughs" document stays linear in size, and an alias inside the
    node it refers to is refused;
  * merge keys (``<<: *defaults``) are applied, the keys written in the mapping overriding the merged ones;
  * scalars are typed by one of the ``Scalars`` rules: Kubernetes reads manifests through JSON (null, booleans,
    numbers; every other scalar is the text written), Ansible through PyYAML's safe loader (dates, binary, sets
    too; a tag it does not know, such as ``!vault``, is refused), JSON by its own rules.

JSON is first checked by the ``json`` module (strict syntax, exact errors), then composed the same way since JSON is
YAML. A syntax error raises ``InvalidDocument`` with its message and line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import yaml
from yaml.constructor import SafeConstructor

Scalars = Literal["kubernetes", "ansible", "json"]


@dataclass(frozen=True)
class Node:
    """A value from a document: a scalar, ``dict[str, Node]`` or ``list[Node]``, with the line it starts on."""

    value: object
    line: int | None = None
    key_lines: Mapping[str, int | None] = field(default_factory=dict)
    """For a mapping: the line of each key."""
    duplicate_keys: tuple[tuple[str, int | None], ...] = ()
    """For a mapping: keys given more than once (the later ones), with their lines."""

    def line_of(self, key: str) -> int | None:
        """The line of ``key`` when present, else the line of this node."""
        return self.key_lines.get(key) or self.line

    def plain(self) -> object:
        """The value as plain Python (dicts, lists, scalars); nodes shared through aliases stay shared."""
        return _plain(self, {})


class InvalidDocument(Exception):
    """A document that cannot be read: "invalid YAML: ..." or "invalid JSON: ...", at a line when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def parse_yaml(text: str, scalars: Scalars = "kubernetes") -> list[Node]:
    """Every document in ``text``, empty and null documents left out."""
    try:
        composed = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise _invalid(exc) from exc
    builder = _NodeBuilder(scalars)
    return [builder.build(node) for node in composed if node is not None and not _is_null(node)]


def parse_yaml_document(text: str, scalars: Scalars = "kubernetes") -> Node | None:
    """The one document in ``text`` (more than one is an error), None when there is none."""
    try:
        composed = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _invalid(exc) from exc
    return None if composed is None else _NodeBuilder(scalars).build(composed)


def parse_json(text: str) -> Node:
    """The JSON document in ``text``, scalars by JSON's rules."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDocument(f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from exc
    # A literal tab can only be whitespace in valid JSON, and YAML refuses tabs as indentation.
    try:
        composed = yaml.compose(text.replace("\t", " "), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return _node_without_lines(value)  # valid JSON that YAML cannot read (very long keys): same values
    if composed is None:
        return _node_without_lines(value)
    return _NodeBuilder("json").build(composed)


def _invalid(exc: yaml.YAMLError, line: int | None = None) -> InvalidDocument:
    return InvalidDocument(f"invalid YAML: {_yaml_message(exc)}", _yaml_line(exc) or line)


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


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


_YAML_TAG = "tag:yaml.org,2002:"
_KUBERNETES_TAGS = {_YAML_TAG + name for name in ("null", "bool", "int", "float")}
_COLLECTION_TAGS = {_YAML_TAG + "map", _YAML_TAG + "seq"}


class _NodeBuilder:
    """Turns composed YAML nodes into ``Node`` trees. Aliases share one ``Node``, so expansion stays linear."""

    def __init__(self, scalars: Scalars) -> None:
        self.scalars = scalars
        self.constructor = SafeConstructor()
        self.built: dict[int, Node] = {}
        self.open: set[int] = set()

    def build(self, node: yaml.Node) -> Node:
        key = id(node)
        if key in self.built:
            return self.built[key]
        if key in self.open:
            raise InvalidDocument("invalid YAML: an alias refers to the node that contains it", _line(node))
        self.open.add(key)
        try:
            built = self._build(node)
        finally:
            self.open.discard(key)
        self.built[key] = built
        return built

    def _build(self, node: yaml.Node) -> Node:
        if self.scalars == "ansible" and not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            return Node(self._construct(node), _line(node))  # !!set, !!omap: as PyYAML makes them
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
            key = self._key(key_node)
            if index >= merged:
                if key in own:
                    duplicates.append((key, _line(key_node)))
                own.add(key)
            entries[key] = self.build(value_node)
            key_lines[key] = _line(key_node)
        return Node(entries, _line(node), key_lines, tuple(duplicates))

    def _key(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.ScalarNode):
            return str(node.value)
        if self.scalars == "ansible":
            raise InvalidDocument("invalid YAML: found unhashable key", _line(node))
        return "<complex key>"

    def _merge(self, node: yaml.MappingNode) -> int:
        """Apply YAML merge keys ("<<: *defaults"); the number of merged pairs, which now come first."""
        if self.scalars == "json":
            return 0
        own = sum(1 for key, _ in node.value if key.tag != _YAML_TAG + "merge")
        try:
            self.constructor.flatten_mapping(node)
        except yaml.YAMLError as exc:
            raise _invalid(exc, _line(node)) from exc
        return len(node.value) - own

    def _scalar(self, node: yaml.Node) -> object:
        if self.scalars == "json":
            if isinstance(node, yaml.ScalarNode) and node.style is None:
                return json.loads(node.value)
            return str(node.value).encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
        if self.scalars == "ansible" or node.tag in _KUBERNETES_TAGS:
            return self._construct(node)
        return str(node.value)

    def _construct(self, node: yaml.Node) -> object:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise _invalid(exc, _line(node)) from exc


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _node_without_lines(value: object) -> Node:
    if isinstance(value, dict):
        return Node({key: _node_without_lines(item) for key, item in value.items()})
    if isinstance(value, list):
        return Node([_node_without_lines(item) for item in value])
    return Node(value)


def _plain(node: Node, done: dict[int, object]) -> object:
    key = id(node)
    if key in done:
        return done[key]
    value = node.value
    if isinstance(value, dict):
        plain: object = {name: _plain(item, done) for name, item in value.items()}
    elif isinstance(value, list):
        plain = [_plain(item, done) for item in value]
    else:
        plain = value
    done[key] = plain
    return plain
