"""A reader that checks the fields of a manifest while taking them.

A document (JSON or YAML) is a tree of ``Node`` (kubeplay.yamlnodes): scalars, ``dict[str, Node]`` and
``list[Node]``, each with the 1-based line it starts on. ``Fields`` reads one mapping of that tree: every accessor
records the field as known, checks its type and reports a ``Problem`` (file, object, dotted field path, line)
instead of raising, and ``read_mapping`` reports the fields nobody asked for as unknown, with a "did you mean" hint.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar, cast

from kubeplay.dataclass import dataclass, field
from kubeplay.errors import Problem
from kubeplay.limits import excerpt
from kubeplay.names import Checker, LabelPart, LabelRules
from kubeplay.yamlnodes import Node

T = TypeVar("T")
V = TypeVar("V")


@dataclass
class Report:
    """Where problems (and warnings) go while one file is read; ``object`` names the object being read ("Pod
    redis")."""

    file: str
    problems: list[Problem]
    object: str = ""
    warnings: list[Problem] = field(default_factory=list)
    """What is accepted but worth saying: a value an older era accepted that today's Kubernetes refuses."""
    shapes: dict[tuple[str, Hashable], Any] = field(default_factory=dict)
    """(what was read, a mapping's content) -> its value, for ``Fields.mapping_once``: read without a problem or a
    warning."""

    def add(self, message: str, line: int | None, path: str = "") -> None:
        self.problems.append(Problem(self.file, message, line, self.object, path))

    def warn(self, message: str, line: int | None, path: str = "") -> None:
        self.warnings.append(Problem(self.file, message, line, self.object, path))


def describe(value: object) -> str:
    """How a value's type reads in a problem: "a string ("6379")", "a list", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({excerpt(value)})"
    if isinstance(value, dict):
        return "a mapping"
    return "a list"


def did_you_mean(word: str, choices: list[str]) -> str:
    """' (did you mean "x"?)' for the closest choice, or ''."""
    import difflib  # (a hint for a mistake: not loaded by a run without one)

    folded = {c.lower(): c for c in choices}
    close = [folded[word.lower()]] if word.lower() in folded else difflib.get_close_matches(word, choices, 1, 0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


_NO_HINTS: Mapping[str, str] = MappingProxyType({})


class Fields:
    """One mapping being read. Accessors return a default (and report a problem) when a value is missing or bad."""

    __slots__ = ("entries", "hints", "known", "node", "path", "report")  # (45,000 of them for 10,000 objects)

    def __init__(self, node: Node, path: str, report: Report) -> None:
        assert isinstance(node.value, dict)
        self.node = node
        self.path = path
        self.report = report
        self.entries: dict[str, Node] = node.value
        self.known: list[str] = []
        self.hints: Mapping[str, str] = _NO_HINTS

    # --- locating ------------------------------------------------------------------------------------------

    def field_path(self, key: str) -> str:
        return join(self.path, key)

    def line(self, key: str) -> int | None:
        """The line of ``key`` when present, else the line of this mapping."""
        return self.node.line_of(key)

    def problem(self, key: str, message: str) -> None:
        self.report.add(message, self.line(key), self.field_path(key))

    def has(self, key: str) -> bool:
        return key in self.entries and self.entries[key].value is not None

    def take(self, key: str, *, required: bool = False) -> Node | None:
        """The node of ``key`` (None when absent or null); reports it missing when ``required``."""
        self.known.append(key)
        node = self.entries.get(key)
        if node is not None and node.value is not None:
            return node
        if required:
            self.problem(key, f'missing required field "{key}"')
        return None

    def ignore(self, *keys: str) -> None:
        """Accept these fields without reading them."""
        self.known.extend(keys)

    def suggest(self, hints: Mapping[str, str]) -> None:
        """Hints shown for unknown fields, e.g. {"cpu": 'use "resources.limits.cpu"'} for the other form's fields."""
        self.hints = {**self.hints, **hints}

    # --- scalars -------------------------------------------------------------------------------------------

    def string(self, key: str, *, required: bool = False, default: str = "") -> str:
        node = self.take(key, required=required)
        if node is None:
            return default
        if not isinstance(node.value, str):
            scalar = isinstance(node.value, int | float | bool)
            self._wrong_type(key, node, "a string", ' (quote it: "...")' if scalar else "")
            return default
        if required and not node.value:
            self.problem(key, f'"{key}" must not be empty')
        return node.value

    def integer(self, key: str, *, required: bool = False, default: int = 0, minimum: int | None = None) -> int:
        node = self.take(key, required=required)
        value = None if node is None else self._integer(key, node)
        if value is None:
            return default
        if minimum is not None and value < minimum:
            self.problem(key, f"must be at least {minimum}, got {value}")
            return default
        return value

    def boolean(self, key: str, *, default: bool = False) -> bool:
        node = self.take(key)
        if node is None:
            return default
        if not isinstance(node.value, bool):
            self._wrong_type(key, node, "true or false")
            return default
        return node.value

    def choice(self, key: str, choices: Mapping[str, T], default: T) -> T:
        """One of the keys of ``choices``, mapped to its value."""
        name = self.string(key)
        if not name:
            return default
        if name not in choices:
            allowed = ", ".join(choices)
            self.problem(key, f'"{name}" is not one of {allowed}{did_you_mean(name, list(choices))}')
            return default
        return choices[name]

    def port_or_name(self, key: str, *, required: bool = False) -> int | str | None:
        """A port number (1-65535) or a port name."""
        node = self.take(key, required=required)
        if node is None:
            return None
        value = node.value
        if isinstance(value, str):
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            self._wrong_type(key, node, "a port number or a port name")
            return None
        return self.check_port(key, value)

    def port(self, key: str, *, required: bool = False, allow_zero: bool = False) -> int:
        """A port number 1-65535 (or 0 when ``allow_zero``); 0 when absent or bad."""
        node = self.take(key, required=required)
        value = None if node is None else self._integer(key, node)
        if value is None or (value == 0 and allow_zero):
            return 0
        return self.check_port(key, value, allow_zero=allow_zero) or 0

    def check_port(self, key: str, value: int, *, allow_zero: bool = False) -> int | None:
        if not 1 <= value <= 65535:
            allowed = "0-65535 (0: not published)" if allow_zero else "1-65535"
            self.problem(key, f"port {value} is out of range {allowed}")
            return None
        return value

    # --- collections ---------------------------------------------------------------------------------------

    def quantity(self, key: str, parse: Callable[[int | float | str], int]) -> int:
        """A resource quantity turned into an int by ``parse`` (see kubeplay.quantities); 0 when absent."""
        node = self.take(key)
        if node is None:
            return 0
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self._wrong_type(key, node, "a quantity")
            return 0
        try:
            return parse(value)
        except ValueError as exc:
            self.problem(key, str(exc))
            return 0

    def strings(self, key: str, check: Checker | None = None) -> tuple[str, ...]:
        """A list of strings, each checked by ``check`` when given."""
        node = self.take(key)
        if node is None:
            return ()
        if not isinstance(node.value, list):
            self._wrong_type(key, node, "a list of strings")
            return ()
        result: list[str] = []
        for index, item in enumerate(node.value):
            item_path = f"{self.field_path(key)}[{index}]"
            if not isinstance(item.value, str):
                self.report.add(f"expected a string, got {describe(item.value)}", item.line, item_path)
                continue
            problem = check(item.value) if check else None
            if problem:
                self.report.add(f"invalid value {excerpt(item.value)}: {problem}", item.line, item_path)
            result.append(item.value)
        return tuple(result)

    def string_map(self, key: str, rules: LabelRules) -> dict[str, str]:
        """A mapping of strings to strings (labels, selectors), each key and value checked by ``rules``: refused
        by its errors, accepted with a warning by its warnings."""
        node = self.take(key)
        if node is None:
            return {}
        if not isinstance(node.value, dict):
            self._wrong_type(key, node, "a mapping of strings")
            return {}
        result: dict[str, str] = {}
        for name, item in node.value.items():
            value = item.value
            if not isinstance(value, str):
                hint = ' (quote it: "...")' if isinstance(value, int | float | bool) else ""
                self._label_problem(key, name, f"expected a string, got {describe(value)}{hint}")
                continue
            if not rules.accepts(name, value):
                self._judge_label(key, name, value, rules)
            result[name] = value
        if node.duplicate_keys:
            _report_duplicates(node, self.field_path(key), self.report)
        return result

    def _judge_label(self, key: str, name: str, value: str, rules: LabelRules) -> None:
        """The problems and warnings of the entry ``name: value`` of the string map ``key``."""
        parts: tuple[tuple[LabelPart, str], ...] = (("key", name), ("value", value))
        for part, text in parts:
            refused, warned = rules.judge(part, text)
            if refused:
                self._label_problem(key, name, f"invalid {part} {excerpt(text)}: {refused}")
            elif warned:
                message = f"{part} {excerpt(text)} is accepted as {rules.era} accepted it"
                self._label_problem(key, name, f"{message}; today's Kubernetes refuses it: {warned}", warn=True)

    def _label_problem(self, key: str, name: str, message: str, *, warn: bool = False) -> None:
        """A problem (or with ``warn`` a warning) with the entry ``name`` of the string map ``key``."""
        node = self.entries[key]
        line = node.key_lines.get(name) or node.value[name].line  # type: ignore[index]  # (a string map's node)
        (self.report.warn if warn else self.report.add)(message, line, f"{self.field_path(key)}.{name}")

    def mapping(self, key: str, read: Callable[[Fields], T], *, required: bool = False) -> T | None:
        """Read a nested mapping with ``read``; None when absent or not a mapping."""
        node = self.take(key, required=required)
        if node is None:
            return None
        return read_mapping(node, self.field_path(key), self.report, read)

    def mapping_once(self, key: str, read: Callable[[Fields], T], what: str, *, required: bool = False) -> T | None:
        """``mapping``, read once per distinct content in a file: a mapping the same (its keys in order, its values
        and their types, repeated keys) as one read as ``what`` before without any problem or warning is the same
        value, not read again. ``read`` must depend on the mapping's content only (the templates of 5,000
        controllers that differ in their labels only are one pod spec, validated once)."""
        node = self.entries.get(key)
        shape = _shape(node) if node is not None and isinstance(node.value, dict) else None
        if shape is None:
            return self.mapping(key, read, required=required)
        known = self.report.shapes.get((what, shape))
        if known is not None:
            self.known.append(key)
            return cast(T, known)  # (stored by this method under ``what``: a T)
        problems, warnings = len(self.report.problems), len(self.report.warnings)
        value = self.mapping(key, read, required=required)
        if value is not None and (problems, warnings) == (len(self.report.problems), len(self.report.warnings)):
            self.report.shapes[(what, shape)] = value
        return value

    def each(self, key: str, read: Callable[[Fields], T], *, required: bool = False) -> list[T]:
        """Read a list of mappings with ``read``; items that are not mappings are reported and skipped."""
        node = self.take(key, required=required)
        if node is None:
            return []
        if not isinstance(node.value, list):
            self._wrong_type(key, node, "a list")
            return []
        if required and not node.value:
            self.problem(key, f'"{key}" must not be empty')
        results: list[T] = []
        for index, item in enumerate(node.value):
            result = read_mapping(item, f"{self.field_path(key)}[{index}]", self.report, read)
            if result is not None:
                results.append(result)
        return results

    # --- finishing -----------------------------------------------------------------------------------------

    def report_unknown(self) -> None:
        known = self.known
        for key in self.entries:
            if key not in known:
                hint = f" ({self.hints[key]})" if key in self.hints else did_you_mean(key, self.known)
                self.problem(key, f'unknown field "{key}"{hint}')
        if self.node.duplicate_keys:
            _report_duplicates(self.node, self.path, self.report)

    def _integer(self, key: str, node: Node) -> int | None:
        if not isinstance(node.value, int) or isinstance(node.value, bool):
            self._wrong_type(key, node, "an integer")
            return None
        return node.value

    def _wrong_type(self, key: str, node: Node, expected: str, hint: str = "") -> None:
        self.problem(key, f"expected {expected}, got {describe(node.value)}{hint}")


def read_mapping(node: Node, path: str, report: Report, read: Callable[[Fields], T]) -> T | None:
    """Read one mapping with ``read``, then report its unknown and duplicate fields. None if not a mapping."""
    if not isinstance(node.value, dict):
        report.add(f"expected a mapping, got {describe(node.value)}", node.line, path)
        return None
    fields = Fields(node, path, report)
    result = read(fields)
    fields.report_unknown()
    return result


def _shape(node: Node) -> Hashable:
    """A node's content as a hashable value: equal for nodes read alike (lines aside), scalars with their type (1,
    1.0 and true are equal in Python, not in a manifest)."""
    value = node.value
    if type(value) is str:
        return value  # (the one shape that is no tuple)
    if isinstance(value, dict):
        return (dict, tuple([(key, _shape(item)) for key, item in value.items()]), bool(node.duplicate_keys))
    if isinstance(value, list):
        return (list, tuple([_shape(item) for item in value]))
    return (type(value), value)


def _report_duplicates(node: Node, path: str, report: Report) -> None:
    for key, line in node.duplicate_keys:
        report.add(f'field "{key}" is given more than once', line, join(path, key))
