"""The inventory: which minions kubeplay manages and how to reach them, read from Ansible inventory files.

``load_inventory(path)`` reads an INI or YAML inventory file, or every inventory file in a folder (sorted,
recursively, skipping what Ansible skips), plus the ``group_vars/`` and ``host_vars/`` folders beside it.
``limit(inventory, pattern)`` narrows it with an Ansible ``--limit`` pattern.

Variables of a host merge as Ansible merges them, each later layer replacing whole values of earlier ones:

    1. inventory vars of group all
    2. inventory vars of the host's other groups, parents before children (same depth: by name)
    3. group_vars/all
    4. group_vars/<group> of the host's other groups, in the same order
    5. the host's own vars in the inventory
    6. host_vars/<host>
    7. extra vars

Every problem found is collected and raised as one ``InventoryError``; nothing is read over the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping

from kubeplay.dataclass import dataclass
from kubeplay.errors import InventoryError
from kubeplay.inventory.declared import Declared, GroupDecl, HostDecl
from kubeplay.inventory.ini import parse_ini
from kubeplay.inventory.limit import limit
from kubeplay.inventory.variables import (
    Setting,
    build_minion,
    connection_problems,
    parse_bool,
    parse_cidr,
    parse_text,
    resolve_path,
)
from kubeplay.inventory.yaml import parse_yaml_inventory, read_vars_file, read_yaml
from kubeplay.limits import Refused, read_text
from kubeplay.model import Inventory, Minion, Source
from kubeplay.yamlnodes import InvalidDocument

__all__ = ["limit", "load_inventory"]

_YAML_SUFFIXES = (".yml", ".yaml", ".json")
_VARS_SUFFIXES = ("", *_YAML_SUFFIXES)
_IGNORED_NAMES = ("host_vars", "group_vars", "vars_plugins")
_IGNORED_SUFFIXES = (
    ".pyc",
    ".pyo",
    ".swp",
    ".bak",
    "~",
    ".rpm",
    ".md",
    ".txt",
    ".rst",
    ".orig",
    ".ini",
    ".cfg",
    ".retry",
)
"""Ansible's INVENTORY_IGNORE_EXTS: in an inventory folder these files are not inventories (even .ini)."""


def load_inventory(path: str, extra_vars: Mapping[str, object] | None = None) -> Inventory:
    """Read the inventory at ``path`` (a file or a folder). Raises InventoryError listing every problem."""
    declared = Declared()
    sources = _find_sources(path, declared)
    for file in sources.files:
        _read_inventory_file(file, declared)
    for base_dir in sources.vars_dirs:
        _read_vars_dirs(base_dir, declared)
    extra = _extra_settings(extra_vars or {}, declared)
    _check_groups(declared)
    if not declared.hosts and not declared.problems:
        declared.problem(Source(path), "the inventory has no hosts" + _skipped_note(sources.skipped))
    inventory = _build(declared, extra, path)  # with the problems only found once variables are merged
    if declared.problems:
        raise InventoryError(declared.problems)
    return inventory


# --- finding and reading files ------------------------------------------------------------------------------


@dataclass
class _Sources:
    files: list[str]
    vars_dirs: list[str]
    """Folders whose group_vars/ and host_vars/ apply, in the order Ansible visits them."""
    skipped: list[str]


def _find_sources(path: str, declared: Declared) -> _Sources:
    sources = _Sources([], [], [])
    if os.path.isdir(path):
        _walk_folder(path, sources)
    elif os.path.exists(path):  # a FIFO or device too: reading it refuses it by type
        sources.files.append(path)
        sources.vars_dirs.append(os.path.dirname(path))
    else:
        declared.problem(Source(path), "no such inventory file or folder")
    return sources


def _walk_folder(folder: str, sources: _Sources) -> None:
    sources.vars_dirs.append(folder)
    for name in sorted(os.listdir(folder)):
        full = os.path.join(folder, name)
        if name.startswith(".") or name in _IGNORED_NAMES:
            continue
        if os.path.isdir(full):
            _walk_folder(full, sources)
        elif name.endswith(_IGNORED_SUFFIXES):
            sources.skipped.append(full)
        else:
            sources.files.append(full)


def _skipped_note(skipped: list[str]) -> str:
    if not skipped:
        return ""
    return f" (as Ansible does, files in an inventory folder with these names were skipped: {', '.join(skipped)})"


def _read_inventory_file(file: str, declared: Declared) -> None:
    try:
        text = read_text(file)
    except Refused as exc:
        declared.problem(Source(file), f"cannot read inventory: {exc.message}")
        return
    if file.endswith(_YAML_SUFFIXES):
        _read_yaml_inventory(text, file, declared)
    elif file.endswith(".ini"):
        parse_ini(text, file, declared)
    else:
        _read_unknown_format(text, file, declared)


def _read_yaml_inventory(text: str, file: str, declared: Declared) -> None:
    try:
        data = read_yaml(text)
    except InvalidDocument as exc:
        declared.problem(Source(file, exc.line), exc.message)
        return
    parse_yaml_inventory(data, file, declared)


def _read_unknown_format(text: str, file: str, declared: Declared) -> None:
    """As Ansible's plugins take turns: YAML when the file reads as a YAML inventory, INI otherwise.

    Stricter than Ansible here: an INI host line such as ``m1 kubeplay_labels={"a": "b"}`` happens to be a YAML
    mapping too, so YAML only wins when every value is a group body (a mapping or empty), or it names a plugin.
    A text with none of ":", "{", "?" and "!" is no YAML mapping (no key, flow mapping, complex key or tag): INI,
    without PyYAML being imported. So is a text whose first line, after blank and comment lines, is an INI group
    header such as ``[minions]`` or ``[web:children]`` (``_STARTS_WITH_GROUP_HEADER``): to YAML that line is a flow
    sequence, the document's top node, as it could only be a mapping's key with a ":" after it on the same line.
    """
    try:
        data = read_yaml(text) if _may_be_yaml_mapping(text) else None
    except InvalidDocument:
        data = None
    groups = data.value if data is not None else None
    if isinstance(groups, dict) and (
        "plugin" in groups or all(body.value is None or isinstance(body.value, dict) for body in groups.values())
    ):
        parse_yaml_inventory(data, file, declared)
    else:
        parse_ini(text, file, declared)


_STARTS_WITH_GROUP_HEADER = r"(?:[ \t]*(?:#[^\r\n]*)?\r?\n)*\[[^\[\]{}\"'#\r\n]*\][ \t]*(?:\r?\n|$)"
"""Blank and comment lines, then an INI group header: a "[" closed on its line by the first "]", with nothing but
blanks after it (no quote, bracket, brace or "#" inside, which could carry the sequence on to a later line)."""


def _may_be_yaml_mapping(text: str) -> bool:
    """Whether YAML could read ``text`` as a mapping (see ``_read_unknown_format``)."""
    return any(mark in text for mark in ":{?!") and re.match(_STARTS_WITH_GROUP_HEADER, text) is None


def _read_vars_dirs(folder: str, declared: Declared) -> None:
    base_dir = os.path.abspath(folder)
    group_vars, host_vars = os.path.join(folder, "group_vars"), os.path.join(folder, "host_vars")
    for group in list(declared.groups.values()) if os.path.isdir(group_vars) else ():  # (else nothing is under it)
        for file in _vars_files(group_vars, group.name):
            read_vars_file(file, base_dir, declared, group)
    for host in declared.hosts.values() if os.path.isdir(host_vars) else ():  # (1,000 hosts: 5,000 stats)
        for file in _vars_files(host_vars, host.name):
            read_vars_file(file, base_dir, declared, host)


def _vars_files(folder: str, name: str) -> Iterator[str]:
    """``NAME``, ``NAME.yml``, ``NAME.yaml``, ``NAME.json``, or every such file under a folder ``NAME/``."""
    for suffix in _VARS_SUFFIXES:
        path = os.path.join(folder, name + suffix)
        if suffix == "" and os.path.isdir(path):
            yield from _vars_folder(path)
        elif os.path.exists(path):  # reading refuses what is not a regular file
            yield path


def _vars_folder(folder: str) -> Iterator[str]:
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith("."):
            continue
        if os.path.isdir(path):
            yield from _vars_folder(path)
        elif os.path.splitext(name)[1] in _VARS_SUFFIXES:
            yield path


def _extra_settings(extra_vars: Mapping[str, object], declared: Declared) -> dict[str, Setting]:
    holder = HostDecl("<extra vars>", Source("<extra vars>"))
    for name, value in extra_vars.items():
        setting = Setting(value, Source("<extra vars>"), os.getcwd())
        declared.set_extra_var(holder, name, setting)
    return holder.vars


# --- groups -------------------------------------------------------------------------------------------------


def _check_groups(declared: Declared) -> None:
    for group in declared.groups.values():
        if not group.defined:
            declared.problem(group.source, f"group {group.name} is used but never declared", f"group {group.name}")
        if "all" in group.children:
            declared.problem(
                group.source, "group all cannot be a child of another group", f"group {group.name}", "children"
            )
            group.children.remove("all")
    for cycle in _cycles(declared.groups):
        first = declared.groups[cycle[0]]
        declared.problem(
            first.source, "group is its own child: " + " -> ".join(cycle), f"group {first.name}", "children"
        )
        if cycle[1] in first.children:
            first.children.remove(cycle[1])


def _cycles(groups: Mapping[str, GroupDecl]) -> list[list[str]]:
    """Each child cycle once, as a path that starts and ends at the same group."""
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycles.append([*path[path.index(name) :], name])
            return
        if name in done or name not in groups:
            return
        for child in groups[name].children:
            visit(child, [*path, name])
        done.add(name)

    for name in groups:
        visit(name, [])
    return cycles


@dataclass(frozen=True)
class _GroupTree:
    members: dict[str, tuple[str, ...]]
    """Group -> its hosts with children resolved, in declaration order."""
    depth: dict[str, int]
    groups_of: dict[str, list[str]]
    """Host -> the groups it is a member of, in the order of ``members``."""


def _group_tree(declared: Declared) -> _GroupTree:
    order = {name: index for index, name in enumerate(declared.hosts)}
    parents: dict[str, list[str]] = {name: [] for name in declared.groups}
    for group in declared.groups.values():
        for child in group.children:
            parents[child].append(group.name)
    depth: dict[str, int] = {}

    def depth_of(name: str) -> int:
        if name not in depth:
            explicit = [depth_of(parent) for parent in parents[name] if parent != "all"]
            depth[name] = 0 if name == "all" else 1 + max(explicit, default=0)
        return depth[name]

    resolved: dict[str, set[str]] = {}

    def hosts_of(name: str) -> set[str]:
        if name not in resolved:
            group = declared.groups[name]
            resolved[name] = set(group.hosts).union(*(hosts_of(child) for child in group.children))
        return resolved[name]

    members = {name: tuple(sorted(hosts_of(name), key=order.__getitem__)) for name in declared.groups}
    grouped = {host for name, hosts in members.items() if name not in ("all", "ungrouped") for host in hosts}
    members["all"] = tuple(declared.hosts)
    members["ungrouped"] = tuple(host for host in declared.hosts if host not in grouped)
    groups_of: dict[str, list[str]] = {host: [] for host in declared.hosts}
    for name, hosts in members.items():
        for host in hosts:
            groups_of[host].append(name)
    return _GroupTree(members, {name: depth_of(name) for name in declared.groups}, groups_of)


# --- merging variables and building the model ---------------------------------------------------------------


def _build(declared: Declared, extra: dict[str, Setting], path: str) -> Inventory:
    tree = _group_tree(declared)
    minions = tuple(_minion(declared, tree, host, extra) for host in declared.hosts.values())
    cluster = _cluster_settings(declared, extra)
    return Inventory(
        minions=minions,
        groups=tree.members,
        vars={name: setting.value for name, setting in cluster.items()},
        source=path,
        portal_net=parse_cidr(net.value) if (net := cluster.get("kubeplay_portal_net")) else "10.0.0.0/16",
        pod_network=parse_bool(flag.value) if (flag := cluster.get("kubeplay_pod_network")) else True,
        known_hosts=resolve_path(known) if (known := cluster.get("kubeplay_known_hosts")) else "",
        infra_image=parse_text(image.value) if (image := cluster.get("kubeplay_infra_image")) else "",
    )


def _minion(declared: Declared, tree: _GroupTree, host: HostDecl, extra: dict[str, Setting]) -> Minion:
    groups = [name for name in tree.groups_of[host.name] if name != "all"]
    groups.sort(key=lambda name: (tree.depth[name], _priority(declared.groups[name]), name))
    everything = declared.groups["all"]
    layers = [
        everything.vars,
        *(declared.groups[name].vars for name in groups),
        everything.file_vars,
        *(declared.groups[name].file_vars for name in groups),
        host.vars,
        host.file_vars,
        extra,
    ]
    settings: dict[str, Setting] = {}
    for layer in layers:
        settings.update(layer)
    settings.pop("ansible_group_priority", None)  # a group's merge order, no variable of its hosts (as in Ansible)
    magic = Setting(host.name, host.source, "")
    settings.setdefault("inventory_hostname", magic)
    settings.setdefault("group_names", Setting(sorted(groups), host.source, ""))
    for where, field, message in connection_problems(host.name, settings):
        declared.problem(where, message, f"host {host.name}", field)
    return build_minion(host.name, settings)


def _priority(group: GroupDecl) -> int:
    setting = group.file_vars.get("ansible_group_priority") or group.vars.get("ansible_group_priority")
    value = setting.value if setting else 1
    return value if isinstance(value, int) else 1


def _cluster_settings(declared: Declared, extra: dict[str, Setting]) -> dict[str, Setting]:
    everything = declared.groups["all"]
    return {**everything.vars, **everything.file_vars, **extra}
