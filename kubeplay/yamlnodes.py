"""YAML and JSON documents as trees of ``Node`` that remember their lines: the one reader of manifests and inventory.

A document becomes a tree of ``Node``: scalars, ``dict[str, Node]`` (keys as written) and ``list[Node]``, each with
the 1-based line it starts on; a mapping also keeps the line of each key and the keys given more than once. YAML is
composed (not constructed) so each node keeps its start mark, then built:

  * aliases share one built ``Node``, so a "billion laughs" document stays linear in memory, and an alias inside
    the node it refers to is refused; since whoever serialises the values expands them, a document whose aliases
    expand it past ``MAX_EXPANDED_SIZE`` characters is refused, at the innermost node that does;
  * merge keys (``<<: *defaults``) are applied to built nodes (so merges of merges stay linear too), the keys
    written in the mapping overriding the merged ones;
  * nesting deeper than ``MAX_DEPTH`` and numbers longer than ``MAX_NUMBER_DIGITS`` are refused with their line
    (see kubeplay.limits), so no input reaches Python's recursion or integer-conversion limits;
  * scalars are typed by one of the ``Scalars`` rules: Kubernetes reads manifests through JSON (null, booleans,
    numbers; every other scalar is the text written), Ansible through PyYAML's safe loader (dates, binary, sets
    too; a tag it does not know, such as ``!vault``, is refused), JSON by its own rules.

JSON is first checked by the ``json`` module (strict syntax, exact errors), then composed the same way since JSON is
YAML. A syntax error raises ``InvalidDocument`` with its message and line.

Speed: where PyYAML was built with libyaml, its C parser reads the text into events (the pure-Python scanner is
where ~90% of the time went: 10,000 pods took 14-20 s) and PyYAML's own composer builds the nodes from them, so the
depth limit above holds unchanged; scalar tags are resolved once per distinct value. A document the C parser
refuses is read again by the pure-Python reader, so errors keep their exact message and line. PyYAML is imported
the first time a text is read as YAML (``_pyyaml``): JSON manifests and INI inventories never load it, nor do
texts in the simple block style most manifests and variables files are written in (mappings and lists of one-word
keys and one-line scalars, ``_simple_documents``), read here to the same trees (its import, regular expressions
compiled, takes longer than reading such a text).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from kubeplay.dataclass import dataclass, field
from kubeplay.limits import MAX_DEPTH, MAX_EXPANDED_SIZE, MAX_NUMBER_DIGITS, excerpt

if TYPE_CHECKING:
    import yaml

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
    simple = _simple_documents(text) if scalars != "json" else None
    if simple is not None:
        return [node for node in simple if node is not None]
    return _composed_documents(text, scalars)


def _composed_documents(text: str, scalars: Scalars) -> list[Node]:
    """``parse_yaml``'s documents, composed by PyYAML."""
    _pyyaml()
    try:
        composed = _composed(lambda loader: list(yaml.compose_all(text, Loader=loader)))
    except yaml.YAMLError as exc:
        raise _invalid(exc) from exc
    builder = _NodeBuilder(scalars)
    return [builder.build(node) for node in composed if node is not None and not _is_null(node)]


def parse_yaml_document(text: str, scalars: Scalars = "kubernetes") -> Node | None:
    """The one document in ``text`` (more than one is an error), None when there is none."""
    simple = _simple_documents(text) if scalars != "json" else None
    if simple is not None and len(simple) == 1:  # (a text with a "---" line is left to PyYAML: it says what it says)
        return simple[0]
    _pyyaml()
    try:
        composed = _composed(lambda loader: yaml.compose(text, Loader=loader))
    except yaml.YAMLError as exc:
        raise _invalid(exc) from exc
    return None if composed is None else _NodeBuilder(scalars).build(composed)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cyclic garbage collector paused meanwhile: building a tree of 165,000 nodes (which has no cycles)
    otherwise spends three quarters of its time in collections that free nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _TooLong(Exception):
    """A JSON number past the limit: found again, with its line, when the text is composed as YAML."""


def _bounded(convert: Callable[[str], object]) -> Callable[[str], object]:
    longest = MAX_NUMBER_DIGITS.value()

    def read(text: str) -> object:
        if len(text) > longest:
            raise _TooLong
        return convert(text)

    return read


def parse_json(text: str, first_line: int = 1) -> Node:
    """The JSON document in ``text``, scalars by JSON's rules; ``first_line``: the line of its file ``text`` starts on
    (a document of several in one file)."""
    read = _OneLine.read_text(text, first_line)
    if read is not None:
        return read
    value: object = _TooLong
    try:
        with paused_gc():
            value = json.loads(text, parse_int=_bounded(int), parse_float=_bounded(float), object_pairs_hook=_Pairs)
    except json.JSONDecodeError as exc:
        raise InvalidDocument(f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from exc
    except (RecursionError, _TooLong):
        pass  # too deep or a number too long: composing it as YAML below finds where, with the line
    else:
        try:
            with paused_gc():
                return _JsonLines(text, first_line).build(value)
        except _NotPlain:
            pass  # a text the YAML composer below reads otherwise than the lines are counted here
    # A literal tab can only be whitespace in valid JSON, and YAML refuses tabs as indentation.
    limit_exceeded = _pyyaml().limit_exceeded
    text = "\n" * (first_line - 1) + text  # (its lines counted from its file's start)
    try:
        composed = _composed(lambda loader: yaml.compose(text.replace("\t", " "), Loader=loader))
    except limit_exceeded as exc:
        raise _invalid(exc) from exc
    except yaml.YAMLError:
        composed = None  # valid JSON that YAML cannot read (very long keys): the same values, without lines
    if composed is not None:
        return _NodeBuilder("json").build(composed)
    if value is _TooLong:
        raise InvalidDocument(
            f"a number too long or nesting too deep (see {MAX_NUMBER_DIGITS.variable}, {MAX_DEPTH.variable})"
        )
    return _node_without_lines(value, 0)


class _Pairs(list[tuple[str, object]]):
    """A JSON object as json.loads reads it with this as its object_pairs_hook: every key in order, repeats too."""


class _NotPlain(Exception):
    """A JSON text ``_JsonLines`` leaves to the YAML composer (see there)."""


_JSON_TOKEN = r'[{\[]|"[^"\\]*+(?:\\.[^"\\]*+)*+"|[^\s,:\]}\[{"]++'  # (compiled when first used)
"""Where each value and key of a JSON text starts: an opening bracket, a string, a number or a literal (the string
"unrolled" and possessive: the same matches as ``"(?:[^"\\]|\\.)*"``, in half the time)."""
_AFTER_TOKEN = ",:]}[{"
"""In valid JSON every token but an opening bracket is followed (past whitespace) by one of ``,:]}`` or the end: a
text has at most one token more than it has of these characters and the opening brackets."""
_NOT_PLAIN_ASCII = r"[^\x09\x0a\x0d\x20-\x7e]"  # (this and the next two compiled when first used, by re's cache)
"""``_not_plain`` for a text all ASCII, but for a lone carriage return and an escaped surrogate (``_LONE_CR``,
``_SURROGATE_ESCAPE``), looked for only in a text that has a carriage return or a backslash and a u: a character
class alone is searched 3 times faster (``_not_plain``'s ranges take 3 ms to compile, on every command that reads
JSON)."""
_LONE_CR = r"\r(?!\n)"
_SURROGATE_ESCAPE = r"\\u[dD][89abAB]"


@functools.cache
def _not_plain() -> re.Pattern[str]:
    """What YAML reads otherwise than JSON: a line break other than \\n (or \\r\\n), a character YAML refuses, an
    escaped surrogate (a pair is one character to JSON, two in a YAML key)."""
    return re.compile(
        "[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]|\r(?!\n)|\\\\u[dD][89abAB]"
    )


_LONG_KEY = r'"(?:[^"\\]|\\.){998,}"\s*:'  # (compiled when first used, by re's cache)
"""A key of 1,000 characters or more (or something that may be one): YAML takes keys of up to 1,024 only."""
_LONG_RUN = r'"[^"]{998,}"\s*:'  # (compiled when first used, by re's cache)
"""What a ``_LONG_KEY`` match is in a text without an escaped quote (its 998 units are 998 characters or more,
none of them a quote): where this finds nothing, neither does ``_LONG_KEY``, 5 times slower."""


class _JsonLines:
    """A JSON text's ``Node`` tree, from the values json.loads read and the lines their tokens start on: the tree
    composing the text as YAML makes (``_NodeBuilder("json")``), several times faster. Raises _NotPlain for a text
    whose YAML reading would differ (see _not_plain, _LONG_KEY), nesting past the depth limit, or one whose
    expanded size might pass its limit: the YAML composer then reads it and says what it says."""

    def __init__(self, text: str, first_line: int = 1) -> None:
        if not _is_plain(text):
            raise _NotPlain
        body = text.strip()
        if "\n" in body:
            lines: list[int] = []  # the line of each token: no token of valid JSON spans lines
            tokens = re.compile(_JSON_TOKEN).findall
            for number, line in enumerate(text.split("\n"), first_line):
                lines += [number] * len(tokens(line))
            self.line: Callable[[], int] = iter(lines).__next__
            """The line of the next token."""
        else:  # one line (as json.dumps writes it): every token is on it, however many there are
            leading = text.count("\n", 0, len(text) - len(text.lstrip()))
            self.line = itertools.repeat(first_line + leading).__next__
        self.max_depth = MAX_DEPTH.value()

    def build(self, value: object, depth: int = 1) -> Node:
        """The node of ``value``, whose token is the next one (a scalar in a collection is made in place: this is
        the loop a large manifest spends its time in)."""
        if depth > self.max_depth:
            raise _NotPlain
        next_line = self.line
        line = next_line()
        if isinstance(value, _Pairs):
            entries: dict[str, Node] = {}
            key_lines: dict[str, int | None] = {}
            duplicates: list[tuple[str, int | None]] = []
            for key, item in value:
                key_line = next_line()
                if key in entries:
                    duplicates.append((key, key_line))
                key_lines[key] = key_line
                entries[key] = self._item(item, depth + 1)
            return _node(entries, line, key_lines, tuple(duplicates))
        if isinstance(value, list):
            return _node([self._item(item, depth + 1) for item in value], line)
        return _node(value, line)

    def _item(self, value: object, depth: int) -> Node:
        if isinstance(value, list) or depth > self.max_depth:  # (_Pairs is a list)
            return self.build(value, depth)
        return _node(value, self.line())


def _is_plain(text: str) -> bool:
    """Whether composing ``text`` as YAML makes the tree ``_JsonLines`` makes (see there)."""
    return not (_is_not_plain(text) or _has_long_key(text) or 2 * len(text) > MAX_EXPANDED_SIZE.value())
    # (the expanded size of JSON is at most 2 per character)


class _OneLine:
    """``_JsonLines``'s tree of a JSON text on one line (as json.dumps writes it), made while json.loads reads the
    text: each mapping's node is made as soon as it is read (its hook), every node is on the text's one line, and
    equal strings and integers share one node (as YAML aliases do: nodes are never changed). The same tree, in
    less time. Texts that may nest deeper than the depth limit allows are left to ``_JsonLines`` (see ``of``)."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.strings: dict[str, Node] = {}
        self.integers: dict[int, Node] = {}

    @classmethod
    def of(cls, text: str, first_line: int) -> _OneLine | None:
        """The reader of ``text``, None unless it is one line of ASCII without an escaped quote (which
        ``_nesting`` counts right) that ``_JsonLines`` would read, nesting within the depth limit."""
        body = text.strip()
        if "\n" in body or not text.isascii() or '\\"' in text or not _is_plain(text):
            return None
        if _nesting(body, MAX_DEPTH.value()) >= MAX_DEPTH.value():  # (a scalar in the deepest is one level more)
            return None
        return cls(first_line + text.count("\n", 0, len(text) - len(text.lstrip())))

    @classmethod
    def read_text(cls, text: str, first_line: int) -> Node | None:
        """The tree of ``text`` when it is read so, else None (then read as any text, to the same tree, or to say
        what is wrong)."""
        one_line = cls.of(text, first_line)
        if one_line is None:
            return None
        try:
            with paused_gc():
                return one_line.read(text)
        except (json.JSONDecodeError, RecursionError, _TooLong):
            return None

    def read(self, text: str) -> Node:
        """The tree of ``text``."""
        tree = json.loads(text, parse_int=self.integer, parse_float=_bounded(float), object_pairs_hook=self.mapping)
        return self.node(tree)

    def integer(self, text: str) -> Node:
        """json.loads's ``parse_int``: the node of an integer, one per value."""
        if len(text) > MAX_NUMBER_DIGITS.value():
            raise _TooLong
        value = int(text)
        made = self.integers.get(value)
        if made is None:
            made = self.integers[value] = _node(value, self.line)
        return made

    def mapping(self, pairs: list[tuple[str, object]]) -> Node:
        """json.loads's ``object_pairs_hook``: the node of one mapping, whose values are read (the nodes of its
        mappings and integers made)."""
        strings = self.strings
        entries: dict[str, Node] = {}
        for key, value in pairs:  # (inlined ``node`` for the values most frequent: 165,000 in a large manifest)
            if type(value) is Node:
                entries[key] = value
            elif type(value) is str:
                entries[key] = strings.get(value) or self.node(value)
            else:
                entries[key] = self.node(value)
        line = self.line
        if len(entries) == len(pairs):  # (no key repeated)
            return _node(entries, line, dict.fromkeys(entries, line))
        duplicates: list[tuple[str, int | None]] = []
        given: set[str] = set()
        for key, _ in pairs:
            if key in given:
                duplicates.append((key, line))
            given.add(key)
        return _node(entries, line, dict.fromkeys(entries, line), tuple(duplicates))

    def node(self, value: object) -> Node:
        """The node of a value json.loads read (a mapping's or integer's node already made)."""
        if isinstance(value, Node):
            return value
        if isinstance(value, str):
            made = self.strings.get(value)
            if made is None:
                made = self.strings[value] = _node(value, self.line)
            return made
        if isinstance(value, list):
            return _node([self.node(item) for item in value], self.line)
        return _node(value, self.line)


_BRACKETS = {code: None for code in range(128) if chr(code) not in '[]{}"'} | dict.fromkeys(map(ord, "[{"), "(")
_BRACKETS |= dict.fromkeys(map(ord, "]}"), ")")
"""An ASCII text's brackets (each as "(" or ")") and quotes, all else left out."""


def _nesting(text: str, limit: int) -> int:
    """How deep the brackets of a JSON text without escaped quotes nest outside its strings (up to ``limit``)."""
    brackets = "".join(text.translate(_BRACKETS).split('"')[::2])
    depth = 0
    while brackets and depth < limit:
        brackets = brackets.replace("()", "")  # (the innermost pairs: one level)
        depth += 1
    return depth


def _is_not_plain(text: str) -> bool:
    """Whether ``_not_plain`` matches in ``text``."""
    if not text.isascii():
        return _not_plain().search(text) is not None
    return bool(
        (not text.strip("\t\n\r").isprintable() and re.search(_NOT_PLAIN_ASCII, text))  # (printable: 0x20-0x7e)
        or ("\r" in text and re.search(_LONE_CR, text))
        or ("\\u" in text and re.search(_SURROGATE_ESCAPE, text))
    )


def _has_long_key(text: str) -> bool:
    """Whether ``_LONG_KEY`` matches in ``text`` (which needs 1,001 characters)."""
    if len(text) <= 1000:
        return False
    return ('\\"' in text or re.search(_LONG_RUN, text) is not None) and re.search(_LONG_KEY, text) is not None


_NO_KEYS: Mapping[str, int | None] = MappingProxyType({})


def _node(
    value: object,
    line: int,
    key_lines: Mapping[str, int | None] = _NO_KEYS,
    duplicate_keys: tuple[tuple[str, int | None], ...] = (),
) -> Node:
    """``Node(value, line, ...)`` made ~8 times faster than its frozen dataclass's ``__init__`` (the fields stored
    directly), for the 165,000 nodes of a 10,000-object manifest."""
    node = object.__new__(Node)
    fields = node.__dict__
    fields["value"] = value
    fields["line"] = line
    fields["key_lines"] = key_lines
    fields["duplicate_keys"] = duplicate_keys
    return node


@dataclass(frozen=True)
class _PyYAML:
    """kubeplay's classes on PyYAML's parts."""

    limit_exceeded: type[yaml.MarkedYAMLError]
    """Nesting past ``MAX_DEPTH``: raised while composing, at the event where it happens (a ComposerError)."""
    loader: type
    """PyYAML's pure-Python safe loader, depth-limited: its errors are the ones reported."""
    fast_loader: type | None
    """A safe loader on libyaml's parser (events made in C) with PyYAML's depth-limited composer; None when PyYAML
    was built without libyaml."""


@functools.cache
def _pyyaml() -> _PyYAML:
    """PyYAML imported (as the module's ``yaml``, which the readers below use) and the classes made on it, once,
    the first time a text is read as YAML."""
    global yaml
    import yaml
    from yaml.composer import Composer, ComposerError
    from yaml.resolver import Resolver

    class LimitExceeded(ComposerError):
        pass

    class DepthLimited(Composer):
        """PyYAML's composer, composing no deeper than ``MAX_DEPTH`` (it recurses once per level)."""

        depth = 0

        def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH.value():
                    mark = self.peek_event().start_mark  # type: ignore[attr-defined]
                    raise LimitExceeded(None, None, f"nested more than {MAX_DEPTH.value()} levels deep", mark)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    class RememberedTags(Resolver):
        """PyYAML's resolver, each plain scalar's tag worked out once per distinct value (its regular expressions
        were a third of the time left once libyaml scans)."""

        def __init__(self) -> None:
            super().__init__()
            self.tags: dict[tuple[object, ...], str] = {}

        def resolve(self, kind: type, value: object, implicit: object) -> str:
            key = (kind, value, implicit) if kind is yaml.ScalarNode else (kind,)
            tag = self.tags.get(key)
            if tag is None:
                tag = self.tags[key] = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            return tag

    class Loader(DepthLimited, yaml.SafeLoader):
        pass

    return _PyYAML(LimitExceeded, Loader, _fast_loader(DepthLimited, RememberedTags))


_Composed = TypeVar("_Composed")


def _composed(compose: Callable[[type], _Composed]) -> _Composed:
    """What ``compose(loader)`` makes: with libyaml's parser when present; a text it refuses is read again by the
    pure-Python loader, whose error is raised (with its message and line)."""
    readers = _pyyaml()
    if readers.fast_loader is not None:
        try:
            return compose(readers.fast_loader)
        except yaml.YAMLError:
            pass
    return compose(readers.loader)


def _fast_loader(depth_limited: Any, remembered_tags: Any) -> type | None:
    """``_PyYAML.fast_loader``, made on the depth-limited composer and the resolver that remembers tags."""
    try:
        from yaml._yaml import CParser
    except ImportError:
        return None
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor

    class FastLoader(depth_limited, CParser, SafeConstructor, remembered_tags):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            remembered_tags.__init__(self)

        def compose_scalar_node(self, anchor: dict[Any, yaml.Node]) -> yaml.ScalarNode:  # (typeshed's type: a str)
            node: yaml.ScalarNode = super().compose_scalar_node(anchor)
            if node.style == "":  # a plain scalar: None, as PyYAML's own scanner says
                node.style = None
            return node

    return FastLoader


def _invalid(exc: yaml.YAMLError, line: int | None = None) -> InvalidDocument:
    if isinstance(exc, _pyyaml().limit_exceeded):
        return InvalidDocument(f"{exc.problem}{MAX_DEPTH.advice()}", _yaml_line(exc))
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
_MERGE_TAG = _YAML_TAG + "merge"
_NUMBER_TAGS = {_YAML_TAG + "int", _YAML_TAG + "float"}
_KUBERNETES_TAGS = {_YAML_TAG + name for name in ("null", "bool", "int", "float")}
_COLLECTION_TAGS = {_YAML_TAG + "map", _YAML_TAG + "seq"}


class _NodeBuilder:
    """Turns composed YAML nodes into ``Node`` trees. Aliases share one ``Node``, so expansion stays linear."""

    def __init__(self, scalars: Scalars) -> None:
        self.scalars = scalars
        from yaml.constructor import SafeConstructor

        self.constructor = SafeConstructor()
        self.built: dict[int, Node] = {}
        self.open: set[int] = set()
        self.sizes: dict[int, int] = {}
        self.total = 0
        """Expanded size of the documents built so far."""

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
        if not self.open:  # a whole document: documents of one stream count together
            self.total += self._size(node)
            self._check_size(node, self.total)
        return built

    def _build(self, node: yaml.Node) -> Node:
        if self.scalars == "ansible" and not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            self._check_size(node, self._size(node))
            return Node(self._construct(node), _line(node))  # !!set, !!omap: as PyYAML makes them
        if isinstance(node, yaml.MappingNode):
            built = self._mapping(node)
        elif isinstance(node, yaml.SequenceNode):
            built = Node([self.build(item) for item in node.value], _line(node))
        else:
            return Node(self._scalar(node), _line(node))
        self._check_size(node, self._size(node))
        return built

    def _size(self, node: yaml.Node) -> int:
        """Characters of ``node`` with every alias in it expanded (each node counts one more)."""
        key = id(node)
        if key not in self.sizes:
            self.sizes[key] = 1  # an alias inside its own node is refused by build()
            if isinstance(node, yaml.MappingNode):
                size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                size = 1 + sum(self._size(item) for item in node.value)
            else:
                size = 1 + len(str(node.value))
            self.sizes[key] = size
        return self.sizes[key]

    @staticmethod
    def _check_size(node: yaml.Node, size: int) -> None:
        if size > MAX_EXPANDED_SIZE.value():
            message = f"aliases expand this to {size} characters{MAX_EXPANDED_SIZE.advice()}"
            raise InvalidDocument(message, _line(node))

    def _mapping(self, node: yaml.MappingNode) -> Node:
        entries: dict[str, Node] = {}
        key_lines: dict[str, int | None] = {}
        duplicates: list[tuple[str, int | None]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG and self.scalars != "json":
                for merged in self._merged(value_node):
                    assert isinstance(merged.value, dict)
                    entries.update(merged.value)
                    key_lines.update(merged.key_lines)
        own: set[str] = set()  # keys written in this mapping: they override merged ones, but not each other
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG and self.scalars != "json":
                continue
            key = self._key(key_node)
            if key in own:
                duplicates.append((key, _line(key_node)))
            own.add(key)
            entries[key] = self.build(value_node)
            key_lines[key] = _line(key_node)
        return Node(entries, _line(node), key_lines, tuple(duplicates))

    def _merged(self, value: yaml.Node) -> list[Node]:
        """The mappings a merge key ("<<: *defaults" or "<<: [*a, *b]") merges, in the order they apply: a
        mapping earlier in the list wins, as in PyYAML."""
        sources = list(reversed(value.value)) if isinstance(value, yaml.SequenceNode) else [value]
        merged = [self.build(source) for source in sources]
        for source, built in zip(sources, merged, strict=True):
            if not isinstance(built.value, dict):
                message = f"expected a mapping or list of mappings for merging, but found {describe_node(source)}"
                raise InvalidDocument(f"invalid YAML: {message}", _line(source))
        return merged

    def _key(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.ScalarNode):
            return str(node.value)
        if self.scalars == "ansible":
            raise InvalidDocument("invalid YAML: found unhashable key", _line(node))
        return "<complex key>"

    def _scalar(self, node: yaml.Node) -> object:
        if node.tag in _NUMBER_TAGS or (
            self.scalars == "json" and isinstance(node, yaml.ScalarNode) and node.style is None
        ):
            _check_number(node)
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
        except (ValueError, KeyError, TypeError, OverflowError) as exc:  # "!!int abc", "!!bool maybe"
            tag = node.tag.removeprefix(_YAML_TAG)
            raise InvalidDocument(f"invalid YAML: not a valid {tag}: {excerpt(node.value)}", _line(node)) from exc


def describe_node(node: yaml.Node) -> str:
    return (
        "a mapping"
        if isinstance(node, yaml.MappingNode)
        else "a list"
        if isinstance(node, yaml.SequenceNode)
        else "a scalar"
    )


def _check_number(node: yaml.Node) -> None:
    if len(str(node.value)) > MAX_NUMBER_DIGITS.value():
        message = f"a number of {len(str(node.value))} characters{MAX_NUMBER_DIGITS.advice()}"
        raise InvalidDocument(message, _line(node))


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _node_without_lines(value: object, depth: int) -> Node:
    if depth > MAX_DEPTH.value():
        raise InvalidDocument(f"nested more than {MAX_DEPTH.value()} levels deep{MAX_DEPTH.advice()}")
    if isinstance(value, _Pairs):  # (as json.loads reads it in parse_json: the last of a repeated key wins)
        return Node({key: _node_without_lines(item, depth + 1) for key, item in value})
    if isinstance(value, dict):
        return Node({key: _node_without_lines(item, depth + 1) for key, item in value.items()})
    if isinstance(value, list):
        return Node([_node_without_lines(item, depth + 1) for item in value])
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


# --- the simple block style, read without PyYAML ------------------------------------------------------------

_KEY_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_KEY_CHARACTERS = _KEY_START | frozenset("./-")
"""A key read here: one word of these, starting with one of ``_KEY_START``, that no YAML rule reads otherwise than
as its text (not ``<<``, ``=``, ``~``)."""
_NUMERIC = frozenset("0123456789_.:-+eExXbabcdefABCDEFTtZ ")
"""Every character of a YAML 1.1 int, float or timestamp that starts with a digit: a scalar starting with a digit
that has another character is a string; one made of these only may be a number or a date and is left to PyYAML."""
_BOOLEANS = {word: value for value, words in ((True, "yes true on"), (False, "no false off")) for word in words.split()}
_WORDS: dict[str, object] = {
    **{spelling: value for word, value in _BOOLEANS.items() for spelling in (word, word.title(), word.upper())},
    **dict.fromkeys(("null", "Null", "NULL", "~"), None),
}
"""The plain scalars YAML 1.1 reads as a boolean or null, as PyYAML's resolver spells them."""
_FIRST = _KEY_START | frozenset("/~")
"""The first character of a plain scalar read here: no indicator, sign or dot."""


class _NotSimple(Exception):
    """A text with something ``_simple_documents`` leaves to PyYAML."""


def _simple_documents(text: str) -> list[Node | None] | None:
    """The documents of ``text`` (between ``---`` lines; None for one without content), or None when it holds
    anything but block mappings and lists, keys of ``_KEY_CHARACTERS``, one-line scalars (plain ones that are a
    string, a decimal integer, a boolean or null; quoted ones without escapes) and comments, in ASCII without tabs,
    within the limits: the trees ``_NodeBuilder`` makes of them (scalars as Kubernetes and Ansible read them
    alike)."""
    if not text.isascii() or 2 * len(text) + 2 > MAX_EXPANDED_SIZE.value():  # (twice what it needs: see _BlockDocument)
        return None
    try:
        return [_BlockDocument(lines).read() if lines else None for lines in _document_lines(text)]
    except _NotSimple:
        return None


_ContentLine = tuple[int, int, str]
"""A line with content: its number, its indentation and the rest, comment and trailing spaces left out."""


def _document_lines(text: str) -> list[list[_ContentLine]]:
    """The lines with content of each document."""
    documents: list[list[_ContentLine]] = [[]]
    for number, line in enumerate(text.split("\n"), 1):
        if len(line) >= 1000 or not line.isprintable():  # (PyYAML's longest key is 1,024; a tab, \r, a control)
            raise _NotSimple
        if "#" in line:
            line = _uncommented(line)
        body = line.lstrip(" ")
        if not body:
            continue
        if body.startswith(("---", "...")):
            if line.rstrip(" ") != "---":
                raise _NotSimple  # (content after ---, an indented ---, a document end)
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
        raise _NotSimple
    return line[:start]


class _BlockDocument:
    """One document's lines read into its tree. Its expanded size (``_NodeBuilder._size``: no aliases here) is at
    most its characters and 2: each node counts no more than characters of its own (a key and its colon, a scalar
    and the space or quotes around it, a null or a nested collection the end of its key's line, a mapping in a
    list's item the dash), but for the root (and a null on the last line, with no line end)."""

    def __init__(self, lines: list[_ContentLine]) -> None:
        self.lines = lines
        self.at = 0
        """The next line to read."""
        self.deepest = MAX_DEPTH.value() - 1  # (a scalar in the deepest collection is one level more)

    def read(self) -> Node:
        node = self._block(self.lines[0][1], 1)
        if self.at < len(self.lines):
            raise _NotSimple  # (a line no collection takes: an indentation YAML refuses)
        return node

    def _check_depth(self, depth: int) -> None:
        """A collection at ``depth`` (the document's root at 1) is left to PyYAML near its depth limit."""
        if depth > self.deepest:
            raise _NotSimple

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
            key, colon, rest = body.partition(":")
            if not (colon and rest[:1] in ("", " ") and key[:1] in _KEY_START and _KEY_CHARACTERS.issuperset(key)):
                raise _NotSimple
            self.at += 1
            if key in entries:
                duplicates.append((key, number))
            key_lines[key] = number
            entries[key] = self._value(rest.lstrip(" "), number, indent, depth + 1)
        return _node(entries, first, key_lines, tuple(duplicates))

    def _value(self, text: str, number: int, indent: int, depth: int) -> Node:
        """A key's value: ``text`` after its colon, or the block on the lines after it."""
        if text:
            return self._scalar(text, number, indent, depth)
        following = self._next_indent()
        if following > indent or (following == indent and _is_item(self.lines[self.at][2])):
            return self._block(following, depth)  # (a list may start where its key does)
        return _node(None, number)

    def _list(self, indent: int, depth: int) -> Node:
        self._check_depth(depth)
        items: list[Node] = []
        first = self.lines[self.at][0]
        while self._next_indent() == indent and _is_item(self.lines[self.at][2]):
            number, _, body = self.lines[self.at]
            text = body[1:].lstrip(" ")
            if not text or text[0] == "-":
                raise _NotSimple  # (an item on the lines after its dash, a list in a list's item)
            if _is_key(text):  # a mapping that starts on the item's line: its keys in the column of its first
                self.lines[self.at] = (number, len(body) - len(text) + indent, text)
                items.append(self._mapping(self.lines[self.at][1], depth + 1))
            else:
                self.at += 1
                items.append(self._scalar(text, number, indent, depth + 1))
        return _node(items, first)

    def _scalar(self, text: str, number: int, indent: int, depth: int) -> Node:
        """The value ``text`` (a scalar or a collection in flow style) on line ``number`` of a collection indented
        by ``indent``."""
        if self._next_indent() > indent:
            raise _NotSimple  # (the value may go on on that line)
        if text[0] in "[{":
            self._check_depth(depth)
            return _FlowLine(text, number, self.deepest).read(depth)
        return _node(_simple_scalar(text), number)


_FLOW_TOKEN = r""" *(?:([\[\]{},])|'((?:[^']|'')*)'|"([^"\\]*)"|([A-Za-z0-9_/~][A-Za-z0-9_./~-]*)(: +)?)"""
"""A token of a collection in flow style read here (after spaces): a bracket or comma, a quoted scalar, a word,
which is a key when a colon and a space follow it (compiled when first used, by re's cache)."""


class _FlowLine:
    """A collection in flow style on one line (``[a, b]``, ``{app: web, port: 80}``, nested): its tree, every node
    on that line. Words are typed as plain scalars (``_simple_scalar``); an empty item or value, a trailing comma,
    a pair in a list or anything else is left to PyYAML."""

    def __init__(self, text: str, number: int, deepest: int) -> None:
        self.number = number
        self.deepest = deepest
        self.tokens: list[tuple[str | None, ...]] = []
        token, at = re.compile(_FLOW_TOKEN).match, 0
        while at < len(text):
            found = token(text, at)
            if found is None or found.end() == at:
                raise _NotSimple
            self.tokens.append(found.groups())
            at = found.end()
        self.tokens.append((None,) * 5)  # (the end)
        self.at = 0

    def read(self, depth: int) -> Node:
        node = self._value(depth)
        if self.tokens[self.at][0] is not None or self.at != len(self.tokens) - 1:
            raise _NotSimple  # (something after the collection)
        return node

    def _take(self) -> tuple[str | None, ...]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _value(self, depth: int) -> Node:
        bracket, single, double, word, colon = self._take()
        if colon or (bracket is None and single is None and double is None and word is None):
            raise _NotSimple  # (a key where a value is, or the end)
        if bracket in ("[", "{"):
            if depth > self.deepest:
                raise _NotSimple
            return self._list(depth) if bracket == "[" else self._mapping(depth)
        if bracket is not None:
            raise _NotSimple
        if single is not None:
            return _node(single.replace("''", "'"), self.number)
        return _node(double if double is not None else _simple_scalar(str(word)), self.number)

    def _list(self, depth: int) -> Node:
        items: list[Node] = []
        if self.tokens[self.at][0] == "]":
            self.at += 1
            return _node(items, self.number)
        while True:
            items.append(self._value(depth + 1))
            if self._closed("]"):
                return _node(items, self.number)

    def _mapping(self, depth: int) -> Node:
        entries: dict[str, Node] = {}
        duplicates: list[tuple[str, int | None]] = []
        if self.tokens[self.at][0] == "}":
            self.at += 1
            return _node(entries, self.number)
        while True:
            _, _, _, key, colon = self._take()
            if key is None or not colon or key[0] not in _KEY_START or not _KEY_CHARACTERS.issuperset(key):
                raise _NotSimple
            if key in entries:
                duplicates.append((key, self.number))
            entries[key] = self._value(depth + 1)
            if self._closed("}"):
                return _node(entries, self.number, dict.fromkeys(entries, self.number), tuple(duplicates))

    def _closed(self, bracket: str) -> bool:
        """Whether the next token closes the collection (``bracket``), not a comma before its next entry."""
        after = self._take()[0]
        if after != bracket and after != ",":
            raise _NotSimple
        return after == bracket


def _is_item(body: str) -> bool:
    return body == "-" or body.startswith("- ")


def _is_key(text: str) -> bool:
    """Whether ``text`` starts with a key and its colon (a mapping), not a scalar."""
    colon = text.find(":")
    return colon > 0 and text[colon + 1 : colon + 2] in ("", " ") and text[0] not in "'\"[{"


def _simple_scalar(text: str) -> object:
    """A one-line scalar's value, as ``_NodeBuilder._scalar`` types it for Kubernetes and for Ansible."""
    first = quote = text[0]
    if quote == "'" or quote == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != quote or quote in (inner.replace("''", "") if quote == "'" else inner):
            raise _NotSimple
        if quote == '"' and "\\" in inner:
            raise _NotSimple  # (an escape)
        return inner.replace("''", "'") if quote == "'" else inner
    if first not in _FIRST or ": " in text or text.endswith(":"):
        raise _NotSimple
    if text in _WORDS:
        return _WORDS[text]
    if first.isdigit():
        if text.isdigit() and (text[0] != "0" or text == "0") and len(text) <= MAX_NUMBER_DIGITS.value():
            return int(text)  # (a decimal YAML 1.1 and JSON read alike: no sign, underscore, base or leading zero)
        if _NUMERIC.issuperset(text) and text.count(".") < 2:  # (an address: each of those has one dot at most)
            raise _NotSimple  # (maybe a float, an integer YAML 1.1 reads otherwise than JSON, a date)
    return text
