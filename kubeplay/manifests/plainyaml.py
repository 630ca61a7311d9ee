"""YAML manifests in the plain block style, read without PyYAML: the same ``Node`` trees, for a fraction of the time.

Most manifests written as YAML are block mappings and lists of simple keys and one-line scalars. This reader reads
exactly those (see ``plain_documents``) and makes the tree ``kubeplay.yamlnodes.parse_yaml`` makes of them (values
typed as Kubernetes reads them, lines, repeated keys); any text with anything else in it (flow collections,
anchors, tags, block scalars, escapes, a scalar over several lines, a scalar that may be a number or a date, a
syntax error) is left to ``parse_yaml``, which reads it as before and says what is wrong. Importing PyYAML takes
longer than an apply's whole reading of a small manifest (its reader and resolver compile their regular
expressions at import): a manifest read here never loads it.
"""

from __future__ import annotations

import re

from kubeplay.limits import MAX_DEPTH, MAX_EXPANDED_SIZE, MAX_NUMBER_DIGITS
from kubeplay.yamlnodes import Node, make_node

_KEY = r"[A-Za-z0-9_][A-Za-z0-9_./-]*"  # (compiled when first used, by re's cache)
"""A key read here: plain, one word, that no YAML rule reads otherwise than as its text (not ``<<``, ``=``, ``~``)."""
_DECIMAL = r"0|[1-9][0-9]*"
"""An integer read here: one YAML 1.1 and JSON read alike (no sign, underscore, base or leading zero)."""
_NUMERIC = frozenset("0123456789_.:-+eExXbabcdefABCDEFTtZ ")
"""Every character of a YAML 1.1 int, float or timestamp that starts with a digit: a scalar starting with a digit
that has another character is a string; one made of these only may be a number or a date and is left to PyYAML."""
_BOOLEANS = {word: value for value, words in ((True, "yes true on"), (False, "no false off")) for word in words.split()}
_WORDS: dict[str, object] = {
    **{spelling: value for word, value in _BOOLEANS.items() for spelling in (word, word.title(), word.upper())},
    **dict.fromkeys(("null", "Null", "NULL", "~"), None),
}
"""The plain scalars YAML 1.1 reads as a boolean or null, as PyYAML's resolver spells them."""
_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_~")
"""The first character of a plain scalar read here: no indicator, sign or dot."""


class _NotPlain(Exception):
    """A text with something this reader leaves to PyYAML."""


def plain_documents(text: str) -> list[Node] | None:
    """The documents of ``text`` (between ``---`` lines; empty ones left out), or None when it holds anything but
    block mappings and lists, keys of ``_KEY``, one-line scalars (plain ones that are a string, ``_DECIMAL``, a
    boolean or null; quoted ones without escapes) and comments, in ASCII without tabs, within the limits."""
    if not text.isascii() or 2 * len(text) + 2 > MAX_EXPANDED_SIZE.value():  # (twice what it needs: see _Document)
        return None
    try:
        return [_Document(lines).read() for lines in _documents(text) if lines]
    except _NotPlain:
        return None


_Line = tuple[int, int, str]
"""A line with content: its number, its indentation and the rest, comment and trailing spaces left out."""


def _documents(text: str) -> list[list[_Line]]:
    """The lines with content of each document."""
    documents: list[list[_Line]] = [[]]
    for number, line in enumerate(text.split("\n"), 1):
        if not line.isprintable() or len(line) >= 1000:  # (a tab, \r, a control; PyYAML's longest key is 1,024)
            raise _NotPlain
        if "#" in line:
            line = _uncommented(line)
        body = line.lstrip(" ")
        if not body:
            continue
        if body.startswith(("---", "...")):
            if line.rstrip(" ") != "---":
                raise _NotPlain  # (content after ---, an indented ---, a document end)
            documents.append([])
            continue
        documents[-1].append((number, len(line) - len(body), body.rstrip(" ")))
    return documents


def _uncommented(line: str) -> str:
    """``line`` without its comment (one that starts it or follows a space, and no quote before it)."""
    start = line.find("#")
    if line[:start].strip(" ") == "":
        return ""
    if line[start - 1] != " " or "'" in line[:start] or '"' in line[:start]:
        raise _NotPlain
    return line[:start]


class _Document:
    """One document's lines read into its tree (``parse_yaml``'s). Its expanded size (``yamlnodes._NodeBuilder._size``:
    no aliases here) is at most its characters and 2: each node counts no more than characters of its own (a key
    and its colon, a scalar and the space or quotes around it, a null or a nested collection the end of its key's
    line, a mapping in a list's item the dash), but for the root (and a null on the last line, with no line end)."""

    def __init__(self, lines: list[_Line]) -> None:
        self.lines = lines
        self.at = 0
        """The next line to read."""
        self.deepest = MAX_DEPTH.value() - 1  # (a scalar in the deepest collection is one level more)

    def read(self) -> Node:
        node = self._block(self.lines[0][1], 1)
        if self.at < len(self.lines):
            raise _NotPlain  # (a line no collection takes: an indentation YAML refuses)
        return node

    def _check_depth(self, depth: int) -> None:
        """A collection at ``depth`` (the document's root at 1) is left to PyYAML near its depth limit."""
        if depth > self.deepest:
            raise _NotPlain

    def _next_indent(self) -> int:
        """The indentation of the next line, -1 at the end."""
        return self.lines[self.at][1] if self.at < len(self.lines) else -1

    def _block(self, indent: int, depth: int) -> Node:
        """The mapping or list whose first line is the next one (indented by ``indent``)."""
        body = self.lines[self.at][2]
        if body == "-" or body.startswith("- "):
            return self._list(indent, depth)
        return self._mapping(indent, depth)

    def _mapping(self, indent: int, depth: int) -> Node:
        self._check_depth(depth)
        entries: dict[str, Node] = {}
        key_lines: dict[str, int | None] = {}
        duplicates: list[tuple[str, int | None]] = []
        first = self.lines[self.at][0]
        while self._next_indent() == indent and not _is_item(self.lines[self.at][2]):
            number, _, body = self.lines[self.at]
            colon = body.find(":")
            key, rest = body[:colon], body[colon + 1 :]
            if colon < 0 or rest[:1] not in ("", " ") or not re.fullmatch(_KEY, key):
                raise _NotPlain
            self.at += 1
            if key in entries:
                duplicates.append((key, number))
            key_lines[key] = number
            entries[key] = self._value(rest.lstrip(" "), number, indent, depth + 1)
        return make_node(entries, first, key_lines, tuple(duplicates))

    def _value(self, text: str, number: int, indent: int, depth: int) -> Node:
        """A key's value: ``text`` after its colon, or the block on the lines after it."""
        if text:
            return self._scalar(text, number, indent)
        following = self._next_indent()
        if following > indent or (following == indent and _is_item(self.lines[self.at][2])):
            return self._block(following, depth)  # (a list may start where its key does)
        return make_node(None, number)

    def _list(self, indent: int, depth: int) -> Node:
        self._check_depth(depth)
        items: list[Node] = []
        first = self.lines[self.at][0]
        while self._next_indent() == indent and _is_item(self.lines[self.at][2]):
            number, _, body = self.lines[self.at]
            text = body[1:].lstrip(" ")
            if not text or text[0] == "-":
                raise _NotPlain  # (an item on the lines after its dash, a list in a list's item)
            if _is_key(text):  # a mapping that starts on the item's line: its keys in the column of its first
                self.lines[self.at] = (number, len(body) - len(text) + indent, text)
                items.append(self._mapping(self.lines[self.at][1], depth + 1))
            else:
                self.at += 1
                items.append(self._scalar(text, number, indent))
        return make_node(items, first)

    def _scalar(self, text: str, number: int, indent: int) -> Node:
        """The scalar ``text`` on line ``number`` of a collection indented by ``indent``."""
        if self._next_indent() > indent:
            raise _NotPlain  # (the scalar may go on on that line)
        return make_node(_value_of(text), number)


def _is_item(body: str) -> bool:
    return body == "-" or body.startswith("- ")


def _is_key(text: str) -> bool:
    """Whether ``text`` starts with a key and its colon (a mapping), not a scalar."""
    colon = text.find(":")
    return colon > 0 and text[colon + 1 : colon + 2] in ("", " ") and text[0] not in "'\""


def _value_of(text: str) -> object:
    """A one-line scalar's value, typed as Kubernetes reads YAML (``yamlnodes._NodeBuilder._scalar``)."""
    quote = text[0]
    if quote == "'" or quote == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != quote or quote in (inner.replace("''", "") if quote == "'" else inner):
            raise _NotPlain
        if quote == '"' and "\\" in inner:
            raise _NotPlain  # (an escape)
        return inner.replace("''", "'") if quote == "'" else inner
    if quote not in _FIRST or ": " in text or text.endswith(":"):
        raise _NotPlain
    if text in _WORDS:
        return _WORDS[text]
    if quote.isdigit():
        if re.fullmatch(_DECIMAL, text) and len(text) <= MAX_NUMBER_DIGITS.value():
            return int(text)
        if _NUMERIC.issuperset(text) and text.count(".") < 2:  # (an address: each of those has one dot at most)
            raise _NotPlain  # (maybe a float, an integer YAML 1.1 reads otherwise than JSON, a date)
    return text
