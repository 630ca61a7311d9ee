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

import os
from collections.abc import Iterator

from kubeplay.inventory.declared import Declared, GroupDecl, HostDecl, Layer, expand_host_pattern
from kubeplay.inventory.variables import Setting
from kubeplay.limits import Refused, read_text
from kubeplay.model import Source
from kubeplay.yamlnodes import InvalidDocument, Node, parse_yaml_document


def read_yaml(text: str) -> Node | None:
    """The one YAML document of an inventory or variables file, typed as Ansible reads it. Raises InvalidDocument."""
    return parse_yaml_document(text, "ansible")


# --- inventory files ----------------------------------------------------------------------------------------

_GROUP_KEYS = ("hosts", "vars", "children")


def parse_yaml_inventory(data: Node | None, file: str, declared: Declared) -> None:
    """Add the groups and hosts of a parsed YAML inventory document to ``declared``."""
    if data is None or data.value is None:
        return
    if not isinstance(data.value, dict):
        declared.problem(Source(file, 1), "a YAML inventory must be a mapping of group names, like 'all:'")
        return
    if "plugin" in data.value:
        declared.problem(Source(file, data.line_of("plugin")), "inventory plugins are not supported", "", "plugin")
        return
    reader = _YamlInventory(file, declared)
    for name, body in data.value.items():
        reader.group(name, body, data.line_of(name))


class _YamlInventory:
    def __init__(self, file: str, declared: Declared) -> None:
        self.file = file
        self.base_dir = os.path.dirname(os.path.abspath(file))
        self.declared = declared

    def source(self, line: int | None) -> Source:
        return Source(self.file, line)

    def group(self, name: str, body: Node, line: int | None) -> None:
        group = self.declared.group(name, self.source(line), define=True)
        if body.value is None:
            return
        if not isinstance(body.value, dict):
            self.declared.problem(
                self.source(line), "a group must be a mapping of hosts, vars and children", f"group {name}"
            )
            return
        for key, section in body.value.items():
            self.section(group, key, section, body.line_of(key))

    def section(self, group: GroupDecl, key: str, body: Node, line: int | None) -> None:
        where = self.source(line)
        if key not in _GROUP_KEYS:
            import difflib  # (a hint for a mistake: not loaded by a run without one)

            close = difflib.get_close_matches(key, _GROUP_KEYS, n=1)
            hint = f"; did you mean {close[0]}?" if close else "; a group has hosts, vars and children"
            self.declared.problem(where, f"unknown key {key!r}{hint}", f"group {group.name}", key)
            return
        if body.value is None:
            return
        if not isinstance(body.value, dict):
            kind = type(body.plain()).__name__
            self.declared.problem(where, f"{key} must be a mapping, got {kind}", f"group {group.name}", key)
            return
        if key == "vars":
            for var, setting in self.settings(body):
                self.declared.set_group_var(group, var, setting)
        elif key == "children":
            for child, child_body in body.value.items():
                group.children.append(child)
                self.group(child, child_body, body.line_of(child))
        else:
            for pattern, host_body in body.value.items():
                self.hosts(group, pattern, host_body, body.line_of(pattern))

    def hosts(self, group: GroupDecl, pattern: str, body: Node, line: int | None) -> None:
        where = self.source(line)
        try:
            names, port = expand_host_pattern(pattern)
        except ValueError as exc:
            self.declared.problem(where, str(exc), f"group {group.name}", "hosts")
            return
        if body.value is not None and not isinstance(body.value, dict):
            self.declared.problem(where, "host variables must be a mapping", f"host {pattern}")
            return
        for name in names:
            host = self.declared.add_host(name, group.name, where)
            if port is not None:
                self.declared.set_host_var(host, "ansible_port", Setting(port, where, self.base_dir))
            for var, setting in self.settings(body):
                self.declared.set_host_var(host, var, setting)

    def settings(self, body: Node) -> Iterator[tuple[str, Setting]]:
        """The variables of a mapping (none for null), each with its line."""
        if not isinstance(body.value, dict):
            return
        for key, value in body.value.items():
            yield key, Setting(value.plain(), self.source(body.line_of(key)), self.base_dir)


# --- group_vars / host_vars files ---------------------------------------------------------------------------


def read_vars_file(path: str, base_dir: str, declared: Declared, owner: HostDecl | GroupDecl) -> None:
    """Set the variables of one group_vars/host_vars file on ``owner`` (a file layer: it beats the inventory)."""
    try:
        data = read_yaml(read_text(path))
    except Refused as exc:
        declared.problem(Source(path), f"cannot read: {exc.message}")
        return
    except InvalidDocument as exc:
        declared.problem(Source(path, exc.line), exc.message)
        return
    if data is None or data.value is None:
        return
    if not isinstance(data.value, dict):
        declared.problem(Source(path, 1), "a variables file must be a mapping of variable names to values")
        return
    layer: Layer = "file"
    for key, value in data.value.items():
        setting = Setting(value.plain(), Source(path, data.line_of(key)), base_dir)
        if isinstance(owner, HostDecl):
            declared.set_host_var(owner, key, setting, layer)
        else:
            declared.set_group_var(owner, key, setting, layer)
