"""Ansible's YAML inventory format, and group_vars/host_vars files, read with the line of every key.

all:
  vars: {kubeplay_portal_net: 10.0.0.0/16}
  hosts:
    minion-1: {ansible_host: 192.168.1.10}
  children:
    web:
      hosts: {web[1:3]: }
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator

import yaml

from kubeplay.inventory.declared import Declared, GroupDecl, HostDecl, Layer, Setting, expand_host_pattern
from kubeplay.model import Source


class LineMap(dict[object, object]):
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[object, int]

    def line_of(self, key: object) -> int:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_line_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Iterator[LineMap]:
    data = LineMap()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    data.update(loader.construct_mapping(node))
    for key_node, _ in node.value:
        data.key_lines[loader.construct_object(key_node)] = key_node.start_mark.line + 1


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_line_map)


def load_yaml(text: str) -> object:
    """Parse one YAML document; mappings come back as ``LineMap``. Raises yaml.YAMLError."""
    return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass


def yaml_error_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


# --- inventory files ----------------------------------------------------------------------------------------

_GROUP_KEYS = ("hosts", "vars", "children")


def parse_yaml_inventory(data: object, file: str, declared: Declared) -> None:
    """Add the groups and hosts of a parsed YAML inventory document to ``declared``."""
    if data is None:
        return
    if not isinstance(data, LineMap):
        declared.problem(Source(file, 1), "a YAML inventory must be a mapping of group names, like 'all:'")
        return
    if "plugin" in data:
        declared.problem(Source(file, data.line_of("plugin")), "inventory plugins are not supported", "", "plugin")
        return
    reader = _YamlInventory(file, declared)
    for name, body in data.items():
        reader.group(str(name), body, data.line_of(name))


class _YamlInventory:
    def __init__(self, file: str, declared: Declared) -> None:
        self.file = file
        self.base_dir = os.path.dirname(os.path.abspath(file))
        self.declared = declared
        self.visiting: list[str] = []

    def source(self, line: int) -> Source:
        return Source(self.file, line)

    def group(self, name: str, body: object, line: int) -> None:
        group = self.declared.group(name, self.source(line), define=True)
        if body is None:
            return
        if not isinstance(body, LineMap):
            self.declared.problem(
                self.source(line), "a group must be a mapping of hosts, vars and children", f"group {name}"
            )
            return
        if name in self.visiting:  # YAML anchors can nest a group inside itself
            return
        self.visiting.append(name)
        for key in body:
            self.section(group, str(key), body[key], body.line_of(key))
        self.visiting.pop()

    def section(self, group: GroupDecl, key: str, body: object, line: int) -> None:
        where = self.source(line)
        if key not in _GROUP_KEYS:
            close = difflib.get_close_matches(key, _GROUP_KEYS, n=1)
            hint = f"; did you mean {close[0]}?" if close else "; a group has hosts, vars and children"
            self.declared.problem(where, f"unknown key {key!r}{hint}", f"group {group.name}", key)
            return
        if body is None:
            return
        if not isinstance(body, LineMap):
            self.declared.problem(
                where, f"{key} must be a mapping, got {type(body).__name__}", f"group {group.name}", key
            )
            return
        if key == "vars":
            for var, setting in self.settings(body):
                self.declared.set_group_var(group, var, setting)
        elif key == "children":
            for child, child_body in body.items():
                group.children.append(str(child))
                self.group(str(child), child_body, body.line_of(child))
        else:
            for pattern, host_body in body.items():
                self.hosts(group, str(pattern), host_body, body.line_of(pattern))

    def hosts(self, group: GroupDecl, pattern: str, body: object, line: int) -> None:
        where = self.source(line)
        try:
            names, port = expand_host_pattern(pattern)
        except ValueError as exc:
            self.declared.problem(where, str(exc), f"group {group.name}", "hosts")
            return
        if body is not None and not isinstance(body, LineMap):
            self.declared.problem(where, "host variables must be a mapping", f"host {pattern}")
            return
        for name in names:
            host = self.declared.add_host(name, group.name, where)
            if port is not None:
                self.declared.set_host_var(host, "ansible_port", Setting(port, where, self.base_dir))
            for var, setting in self.settings(body or LineMap()):
                self.declared.set_host_var(host, var, setting)

    def settings(self, body: LineMap) -> Iterator[tuple[str, Setting]]:
        for key, value in body.items():
            yield str(key), Setting(value, self.source(body.line_of(key)), self.base_dir)


# --- group_vars / host_vars files ---------------------------------------------------------------------------


def read_vars_file(path: str, base_dir: str, declared: Declared, owner: HostDecl | GroupDecl) -> None:
    """Set the variables of one group_vars/host_vars file on ``owner`` (a file layer: it beats the inventory)."""
    try:
        with open(path, encoding="utf-8") as stream:
            data = load_yaml(stream.read())
    except OSError as exc:
        declared.problem(Source(path), f"cannot read: {exc.strerror}")
        return
    except yaml.YAMLError as exc:
        declared.problem(Source(path, yaml_error_line(exc)), f"invalid YAML: {yaml_reason(exc)}")
        return
    if data is None:
        return
    if not isinstance(data, LineMap):
        declared.problem(Source(path, 1), "a variables file must be a mapping of variable names to values")
        return
    layer: Layer = "file"
    for key, value in data.items():
        setting = Setting(value, Source(path, data.line_of(key)), base_dir)
        if isinstance(owner, HostDecl):
            declared.set_host_var(owner, str(key), setting, layer)
        else:
            declared.set_group_var(owner, str(key), setting, layer)


def yaml_reason(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    return str(problem) if problem else str(exc).splitlines()[0]
