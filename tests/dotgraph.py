"""A small strict reader of DOT text, for the tests of `kubeplay graph`: statements, subgraphs, nodes, edges and
their attributes, with quoted strings unescaped as Graphviz shows them (\\" a quote, \\\\ a backslash, \\n a line
break). Anything else in the text (an unknown character, an unclosed string or brace) fails the test."""

from __future__ import annotations

import re

from kubeplay.dataclass import dataclass, field

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<id>[A-Za-z_][A-Za-z_0-9]*|-?[0-9.]+)|(?P<op>->|[{}\[\];,=]))', re.S
)


@dataclass
class DotGraph:
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    """Node id -> its attributes."""
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    """Subgraph id -> its attributes (key=value statements)."""
    parent: dict[str, str] = field(default_factory=dict)
    """Node id -> the subgraph it was declared in."""


def unquote(token: str) -> str:
    if not token.startswith('"'):
        return token
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "l": "\n", "r": "\n"}.get(m.group(1), m.group(1)), token[1:-1])


def tokens(text: str) -> list[str]:
    found: list[str] = []
    at = 0
    while True:
        m = _TOKEN.match(text, at)
        if m is None:
            rest = text[at:]
            assert rest.strip() == "", f"not DOT at {at}: {rest[:40]!r}"
            return found
        found.append(m.group(m.lastgroup or ""))
        at = m.end()


class _Reader:
    def __init__(self, text: str) -> None:
        self.toks = tokens(text)
        self.at = 0
        self.graph = DotGraph()

    def take(self, expected: str | None = None) -> str:
        tok = self.toks[self.at]
        assert expected is None or tok == expected, f"expected {expected!r}, got {tok!r} at token {self.at}"
        self.at += 1
        return tok

    def peek(self) -> str:
        return self.toks[self.at]

    def attrs(self) -> dict[str, str]:
        found: dict[str, str] = {}
        if self.peek() != "[":
            return found
        self.take("[")
        while self.peek() != "]":
            key = unquote(self.take())
            self.take("=")
            found[key] = unquote(self.take())
            if self.peek() == ",":
                self.take(",")
        self.take("]")
        return found

    def block(self, name: str) -> None:
        self.take("{")
        while self.peek() != "}":
            self.statement(name)
        self.take("}")

    def statement(self, where: str) -> None:
        first = self.take()
        if first == "subgraph":
            name = unquote(self.take())
            self.graph.clusters[name] = {}
            self.block(name)
            return
        if first in ("graph", "node", "edge"):
            self.attrs()
        elif self.peek() == "=":
            self.take("=")
            self.graph.clusters.setdefault(where, {})[unquote(first)] = unquote(self.take())
        elif self.peek() == "->":
            self.take("->")
            head = unquote(self.take())
            self.graph.edges.append((unquote(first), head, self.attrs()))
        else:
            node = unquote(first)
            assert node not in self.graph.nodes, f"node {node!r} declared twice"
            self.graph.nodes[node] = self.attrs()
            self.graph.parent[node] = where
        self.take(";")


def parse_dot(text: str) -> DotGraph:
    reader = _Reader(text)
    reader.take("digraph")
    name = unquote(reader.take())
    reader.block(name)
    assert reader.at == len(reader.toks), "text after the graph"
    return reader.graph
