"""What inventory files declare, before any variable is merged: hosts, groups, and where each thing was set.

The INI and YAML readers both fill one ``Declared``; variable values are validated as they are declared (see
kubeplay.inventory.variables), so a bad value is reported once, at the host or group that set it, with its file
and line.
"""

from __future__ import annotations

import ipaddress
import re
import string
from typing import Literal

from kubeplay.dataclass import dataclass, field
from kubeplay.errors import Problem
from kubeplay.inventory.variables import Scope, Setting, check_var
from kubeplay.limits import MAX_HOST_RANGE, excerpt
from kubeplay.model import Source

Layer = Literal["inventory", "file"]
"""Where a variable came from: the inventory file itself, or a group_vars/host_vars file (which wins)."""


@dataclass
class HostDecl:
    name: str
    source: Source
    vars: dict[str, Setting] = field(default_factory=dict)
    file_vars: dict[str, Setting] = field(default_factory=dict)
    """From host_vars/ files."""


@dataclass
class GroupDecl:
    name: str
    source: Source
    defined: bool
    """False while the group is only referenced (``[g:vars]``, a child name) and not declared yet."""
    hosts: dict[str, None] = field(default_factory=dict)
    """Its hosts in declaration order (a dict: adding one is O(1))."""
    children: list[str] = field(default_factory=list)
    vars: dict[str, Setting] = field(default_factory=dict)
    file_vars: dict[str, Setting] = field(default_factory=dict)
    """From group_vars/ files."""


@dataclass
class Declared:
    """Every host and group the inventory sources declare, in declaration order, plus the problems found."""

    hosts: dict[str, HostDecl] = field(default_factory=dict)
    groups: dict[str, GroupDecl] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        for implicit in ("all", "ungrouped"):
            self.groups[implicit] = GroupDecl(implicit, Source("<implicit>"), defined=True)

    def problem(self, source: Source, message: str, object: str = "", field: str = "") -> None:
        self.problems.append(Problem(source.file, message, source.line, object, field))

    def group(self, name: str, source: Source, *, define: bool) -> GroupDecl:
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = GroupDecl(name, source, defined=define)
        elif define and not group.defined:
            group.defined = True
            group.source = source
        return group

    def add_host(self, name: str, group: str, source: Source) -> HostDecl:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = HostDecl(name, source)
        self.group(group, source, define=True).hosts[name] = None
        return host

    def set_host_var(self, host: HostDecl, name: str, setting: Setting, layer: Layer = "inventory") -> None:
        if self._valid(name, setting, "host", f"host {host.name}"):
            (host.vars if layer == "inventory" else host.file_vars)[name] = setting

    def set_group_var(self, group: GroupDecl, name: str, setting: Setting, layer: Layer = "inventory") -> None:
        scope: Scope = "all" if group.name == "all" else "group"
        if self._valid(name, setting, scope, f"group {group.name}"):
            (group.vars if layer == "inventory" else group.file_vars)[name] = setting

    def set_extra_var(self, holder: HostDecl, name: str, setting: Setting) -> None:
        """Extra vars (``-e``) may set anything, cluster-wide variables included."""
        if self._valid(name, setting, "extra", "extra vars"):
            holder.vars[name] = setting

    def _valid(self, name: str, setting: Setting, scope: Scope, object: str) -> bool:
        message = check_var(name, setting.value, scope)
        if message:
            self.problem(setting.source, message, object, name)
        return message is None


# --- host patterns: "web[1:3]:2222" -> (["web1", "web2", "web3"], 2222) -------------------------------------


def expand_host_pattern(pattern: str) -> tuple[list[str], int | None]:
    """Split an optional ``:port`` off and expand ``[a:b]`` / ``[a:b:step]`` ranges as Ansible does.

    Raises ValueError with a message for a malformed range.
    """
    if pattern.endswith(":"):
        raise ValueError(f"host pattern {pattern!r} ends in ':' without a port")
    name, port = split_port(pattern)
    if not name:
        raise ValueError(f"host pattern {pattern!r} has no host name")
    size = range_size(name) if "[" in name else 1
    if size > MAX_HOST_RANGE.value():
        raise ValueError(f"host range {excerpt(name)} expands to {size} hosts{MAX_HOST_RANGE.advice()}")
    names = expand_ranges(name) if "[" in name else [name]
    if not names:
        raise ValueError(f"host range {name!r} expands to no hosts")
    return names, port


_PORT = r"^(?P<host>[^:]+|.*\])(?::(?P<port>\d+))$"  # (compiled for a host:port)


def split_port(pattern: str) -> tuple[str, int | None]:
    """``host:22`` -> ("host", 22); ``[::1]:22`` -> ("::1", 22), ``[::1]`` -> ("::1", None); a bare IPv6
    address (several colons outside brackets) has no port. Raises ValueError for ``[::1]`` followed by no port."""
    address = bracketed_address(pattern)
    if address is not None:
        rest = pattern[len(address) + 2 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            raise ValueError(f"host pattern {pattern!r}: expected [address] or [address]:port")
        return address, int(rest[1:]) if rest else None
    outside_brackets = re.sub(r"\[[^\]]*\]", "", pattern)
    if outside_brackets.count(":") != 1 or "[" in outside_brackets:
        return pattern, None
    match = re.match(_PORT, pattern)
    if match is None:
        return pattern, None
    return match["host"], int(match["port"])


def bracketed_address(text: str) -> str | None:
    """The IPv6 address at the start of ``[2001:db8::1]...``, or None (``[1:3]`` is a host range, not one)."""
    if not text.startswith("["):
        return None
    inside, closed, _ = text[1:].partition("]")
    if not closed or ":" not in inside:
        return None
    try:
        ipaddress.IPv6Address(inside)
    except ValueError:
        return None
    return inside


def range_size(name: str) -> int:
    """How many names ``name`` expands to, without expanding it (ValueError for a malformed range)."""
    size = 1
    rest = name
    while "[" in rest:
        _, _, rest = rest.partition("[")
        bounds, closed, rest = rest.partition("]")
        if not closed:
            raise ValueError(f"host range in {excerpt(name)} has no closing ']'")
        size *= _range_length(bounds)
    return size


def expand_ranges(name: str) -> list[str]:
    head, _, rest = name.partition("[")
    bounds, closed, tail = rest.partition("]")
    if not closed:
        raise ValueError(f"host range in {excerpt(name)} has no closing ']'")
    items = _range_items(bounds)
    expanded: list[str] = []
    for item in items:
        candidate = head + item + tail
        expanded.extend(expand_ranges(candidate) if "[" in candidate else [candidate])
    return expanded


def _range_length(bounds: str) -> int:
    first, last, step, _ = _range_bounds(bounds)
    return len(range(first, last + 1, step))


def _range_items(bounds: str) -> list[str]:
    first, last, step, width = _range_bounds(bounds)
    if width is None:
        return list(string.ascii_letters[first : last + 1 : step])
    return [str(n).zfill(width) for n in range(first, last + 1, step)]


_MAX_BOUND_DIGITS = 18


def _range_bounds(bounds: str) -> tuple[int, int, int, int | None]:
    """(first, last, step, zero-padded width) of "begin:end[:step]"; a letter range has indexes into
    ascii_letters and width None. Raises ValueError saying what is wrong."""
    parts = bounds.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"host range [{excerpt(bounds)}] must be begin:end or begin:end:step")
    begin, end = parts[0] or "0", parts[1]
    step_text = parts[2] if len(parts) == 3 else "1"
    if not end:
        raise ValueError(f"host range [{bounds}] must specify an end value")
    if not step_text.isdigit() or len(step_text) > _MAX_BOUND_DIGITS or int(step_text) == 0:
        raise ValueError(f"host range [{excerpt(bounds)}] has an invalid step {excerpt(step_text)}")
    step = int(step_text)
    letters = string.ascii_letters
    if begin in letters and end in letters:
        first, last, width = letters.index(begin), letters.index(end), None
    elif begin.isdigit() and end.isdigit() and max(len(begin), len(end)) <= _MAX_BOUND_DIGITS:
        first, last = int(begin), int(end)
        width = len(begin) if begin.startswith("0") and len(begin) > 1 else 0
        if width and width != len(end):
            raise ValueError(f"host range [{bounds}] must have equal-length begin and end")
    else:
        raise ValueError(f"host range [{excerpt(bounds)}] must be two numbers or two letters")
    if first > last:
        raise ValueError(f"host range [{bounds}] must have begin <= end")
    return first, last, step, width
