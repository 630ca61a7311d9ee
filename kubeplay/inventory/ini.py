"""Ansible's INI inventory format, read line by line as Ansible's ini plugin does.

    minion-0                               # before any section: group "ungrouped"
    [2001:db8::7]:2222                     # an IPv6 host (with a port), not a section header
    [web]
    web[1:3] ansible_user=deploy kubeplay_labels='{"disk": "ssd"}'
    [web:vars]
    kubeplay_cpu = "2"
    [cluster:children]
    web

Host lines are split like a shell would (quotes, ``#`` comments); every value, on host lines and in ``:vars``
sections, is read as a Python literal when it is one (``22``, ``True``, ``"text"``, ``{"a": "b"}``), else kept
as the string it is.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import warnings

from kubeplay.dataclass import dataclass
from kubeplay.inventory.declared import Declared, bracketed_address, expand_host_pattern
from kubeplay.inventory.variables import Setting
from kubeplay.limits import excerpt
from kubeplay.model import Source

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$")
_GROUP_NAME = r"^([^:\]\s]+)\s*(?:[#;].*)?$"  # (compiled for a :children section)
_SECTION_KINDS = ("hosts", "vars", "children")
_PLAIN_HOST_LINE = re.compile(r"[^\s'\"\\#]+(?:[ \t]+[^\s'\"\\#]+)*")
"""A host line with no quote, backslash, comment or whitespace other than spaces and tabs: what ``shlex.split``
splits as ``str.split`` does (a thousand host lines: shlex reads character by character)."""


_NO_LITERAL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]+){2,}")
"""Texts that are no Python literal but for True, False and None: a name (``ubuntu``, ``ssh``) or dotted numbers (an
IPv4 address): told without compiling them (a thousand host lines' ``ansible_host``)."""


def parse_value(text: str) -> object:
    """``22`` -> 22, ``True`` -> True, ``'{"a": "b"}'`` -> {"a": "b"}; anything else stays a string."""
    if _NO_LITERAL.fullmatch(text) and text not in ("True", "False", "None"):
        return text
    return literal_or_text(text)


def literal_or_text(text: str) -> object:
    """What ``parse_value`` makes of ``text`` by ast.literal_eval alone (without telling names apart first)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if isinstance(value, (bytes, complex, set, frozenset)) or value is Ellipsis:
        return text
    return value.copy() if isinstance(value, (dict, list)) else value


@dataclass
class _Section:
    group: str
    kind: str
    """hosts, vars, children, or "" after an invalid header (its lines are skipped)."""


def parse_ini(text: str, file: str, declared: Declared) -> None:
    """Add the groups, hosts and variables of an INI inventory to ``declared``."""
    base_dir = os.path.dirname(os.path.abspath(file))
    section = _Section("ungrouped", "hosts")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        where = Source(file, number)
        if line.startswith("[") and bracketed_address(line) is None:
            section = _enter_section(line, where, declared)
        elif section.kind == "hosts":
            _host_line(line, where, section.group, base_dir, declared)
        elif section.kind == "vars":
            _vars_line(line, where, section.group, base_dir, declared)
        elif section.kind == "children":
            _child_line(line, where, section.group, declared)


def _enter_section(line: str, where: Source, declared: Declared) -> _Section:
    match = _SECTION.match(line)
    if match is None:
        declared.problem(where, f"invalid section header {excerpt(line)}: no spaces or ':' in group names")
        return _Section("", "")
    group, kind = match[1], match[2] or "hosts"
    if kind not in _SECTION_KINDS:
        declared.problem(
            where, f"section [{group}:{kind}] has unknown type {kind!r}: use hosts, vars or children", f"group {group}"
        )
        return _Section(group, "")
    declared.group(group, where, define=kind != "vars")
    return _Section(group, kind)


def _host_line(line: str, where: Source, group: str, base_dir: str, declared: Declared) -> None:
    try:
        tokens = line.split() if _PLAIN_HOST_LINE.fullmatch(line) else shlex.split(line, comments=True)
    except ValueError as exc:
        declared.problem(where, f"cannot parse host line: {exc}", f"group {group}")
        return
    pattern, assignments = tokens[0], tokens[1:]
    try:
        names, port = expand_host_pattern(pattern)
    except ValueError as exc:
        declared.problem(where, str(exc), f"group {group}")
        return
    settings = _host_settings(assignments, where, pattern, base_dir, declared)
    if port is not None:
        settings.insert(0, ("ansible_port", Setting(port, where, base_dir)))
    for name in names:
        host = declared.add_host(name, group, where)
        for var, setting in settings:
            declared.set_host_var(host, var, setting)


def _host_settings(
    assignments: list[str], where: Source, pattern: str, base_dir: str, declared: Declared
) -> list[tuple[str, Setting]]:
    settings: list[tuple[str, Setting]] = []
    for token in assignments:
        name, equals, text = token.partition("=")
        if not equals or not name:
            declared.problem(where, f"expected key=value after the host name, got {excerpt(token)}", f"host {pattern}")
            continue
        settings.append((name, Setting(parse_value(text), where, base_dir)))
    return settings


def _vars_line(line: str, where: Source, group: str, base_dir: str, declared: Declared) -> None:
    name, equals, text = (part.strip() for part in line.partition("="))
    if not equals or not name:
        declared.problem(where, f"expected key=value in [{group}:vars], got {excerpt(line)}", f"group {group}")
        return
    target = declared.group(group, where, define=False)
    declared.set_group_var(target, name, Setting(parse_value(text), where, base_dir))


def _child_line(line: str, where: Source, group: str, declared: Declared) -> None:
    match = re.match(_GROUP_NAME, line)
    if match is None:
        declared.problem(where, f"expected a group name in [{group}:children], got {excerpt(line)}", f"group {group}")
        return
    child = match[1]
    declared.group(child, where, define=False)
    parent = declared.groups[group]
    if child not in parent.children:
        parent.children.append(child)
