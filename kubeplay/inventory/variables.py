"""The inventory variables kubeplay understands: how each is checked and what it becomes in a ``Minion``.

Connection (Ansible's names, with their old ``ansible_ssh_*`` aliases):
    ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file, ansible_connection,
    ansible_ssh_common_args, ansible_ssh_extra_args (ssh arguments, read by kubeplay.connectors.sshconfig)
Per minion (any host or group):
    kubeplay_labels, kubeplay_cpu, kubeplay_memory, kubeplay_cordoned, kubeplay_allow_privileged, kubeplay_host_paths
Cluster-wide (the ``all`` group only, or extra vars):
    kubeplay_portal_net, kubeplay_pod_network, kubeplay_known_hosts, kubeplay_infra_image, kubeplay_project

The variables that grant pods power over a minion (``PROTECTED_VARS``) can only be set in the inventory's own
files, never with ``-e``: extra vars come from whoever types the command, the inventory from whoever runs the
minions.

Every ``parse_*`` function raises ValueError with a message fit for a ``Problem``; ``check_var`` returns it.
"""

from __future__ import annotations

import ast
import ipaddress
import json
import os
import posixpath
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from kubeplay import quantities
from kubeplay.dataclass import dataclass
from kubeplay.errors import InputError, Problem
from kubeplay.limits import excerpt
from kubeplay.model import Connection, Minion, Source, SSHArguments
from kubeplay.names import dns_label_error, host_address_error, label_key_error, label_value_error, path_error

Scope = Literal["all", "group", "host", "extra"]


@dataclass(frozen=True)
class Setting:
    """One variable as one file set it."""

    value: object
    source: Source
    base_dir: str
    """The inventory's folder: relative paths in this value are resolved against it."""


# --- value parsers ------------------------------------------------------------------------------------------


def parse_extra_vars(pairs: Sequence[str]) -> dict[str, object]:
    """-e key=value pairs (values stay strings, as Ansible's key=value form)."""
    extra: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError([Problem("-e", f"expected key=value, got {pair!r}")])
        extra[key.strip()] = value
    return extra


_TRUE = {"yes", "y", "on", "true", "t", "1"}
_FALSE = {"no", "n", "off", "false", "f", "0"}


def parse_bool(value: object) -> bool:
    """A boolean as Ansible reads one: True/False, yes/no, on/off, 1/0 (strings in any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"must be a boolean (true/false, yes/no), got {excerpt(value)}")


def parse_text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, got {excerpt(value)}")
    return value.strip()


def parse_port(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a port number, got {excerpt(value)}")
    if not 1 <= value <= 65535:
        raise ValueError(f"port {value} is out of range 1-65535")
    return value


def parse_host(value: object) -> str:
    """The address to connect to: an IP address (IPv6 with or without brackets) or a host name; never anything
    a command line could read as an option or a shell could interpret."""
    text = parse_text(value)
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    problem = host_address_error(bare)
    if problem:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ValueError(f"{shown!r} {problem}")
    return bare


_SSH_CONNECTIONS = {"ssh", "paramiko", "smart"}


def parse_project(value: object) -> str:
    """kubeplay_project: the project a run acts on when -p is not given (a DNS label)."""
    text = parse_text(value)
    problem = dns_label_error(text)
    if problem:
        raise ValueError(f"project name {excerpt(text)} {problem}")
    return text


def parse_connection(value: object) -> Connection:
    text = parse_text(value)
    if text in _SSH_CONNECTIONS:
        return "ssh"
    if text == "local":
        return "local"
    raise ValueError(f"connection {excerpt(text)} is not supported: use ssh or local")


def parse_labels(value: object) -> dict[str, str]:
    """A mapping of Kubernetes-style labels; a string holding a JSON or Python dict is read as one."""
    if isinstance(value, str):
        value = _read_mapping_text(value)
    if not isinstance(value, Mapping):
        raise ValueError(f'must be a mapping of labels like {{"disk": "ssd"}}, got {excerpt(value)}')
    labels: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise ValueError(
                f"label {excerpt(key)}: {excerpt(item)} must be a string key and a string value (quote it)"
            )
        key_error = label_key_error(key)
        if key_error:
            raise ValueError(f"label key {excerpt(key)} is invalid: {key_error}")
        value_error = label_value_error(item)
        if value_error:
            raise ValueError(f"label {key}={excerpt(item)} has an invalid value: {value_error}")
        labels[key] = item
    return labels


def parse_host_paths(value: object) -> tuple[str, ...]:
    """kubeplay_host_paths: the minion's folders that pods may bind mount from (a list, or one path)."""
    if isinstance(value, str):
        value = _read_mapping_text(value)
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list | tuple) or not all(isinstance(path, str) for path in paths):
        raise ValueError(f'must be a list of absolute paths like ["/srv/data"], got {value!r}')
    for path in paths:
        problem = path_error(path)
        if problem:
            raise ValueError(f"host path {path!r} {problem}")
    return tuple(dict.fromkeys("/" + posixpath.normpath(path).lstrip("/") for path in paths))


def _read_mapping_text(text: str) -> object:
    for read in (json.loads, ast.literal_eval):
        try:
            return read(text)
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            continue
    return text


MIN_CPU = 100
"""An integer kubeplay_cpu below this is almost surely cores written as millicores, and is refused."""
_CPU_FORMS = 'millicores (2000) or a string like "2" or "500m"'
_MEMORY_FORMS = 'bytes or a quantity like "8Gi" or "512Mi"'


def parse_cpu_capacity(value: object) -> int:
    """A minion's cpu (kubeplay_cpu) in millicores: an integer is millicores, a string is cores ("2", "1.5") or
    millicores ("500m")."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 < value < MIN_CPU:
            raise ValueError(f'{value} means {value} millicores; for {value} cores write {value * 1000} or "{value}"')
        return _non_negative(value)
    if isinstance(value, str):
        try:
            return quantities.parse_cpu(value)
        except ValueError as exc:
            raise ValueError(f"must be {_CPU_FORMS}, got {excerpt(value)}") from exc
    raise ValueError(f"must be {_CPU_FORMS}, got {excerpt(value)}")


def parse_memory_capacity(value: object) -> int:
    """A minion's memory (kubeplay_memory) in bytes: an integer, or a Kubernetes quantity string like "8Gi"."""
    if isinstance(value, int) and not isinstance(value, bool):
        amount = _non_negative(value)
    elif isinstance(value, str):
        try:
            amount = quantities.parse_memory(value)
        except ValueError as exc:
            raise ValueError(f"must be {_MEMORY_FORMS}, got {excerpt(value)}") from exc
    else:
        raise ValueError(f"must be {_MEMORY_FORMS}, got {excerpt(value)}")
    if 0 < amount < quantities.DOCKER_MIN_MEMORY:  # not even one container with a memory limit fits
        minimum = quantities.DOCKER_MIN_MEMORY >> 20
        raise ValueError(
            f"{excerpt(value)} is only {amount} bytes; did you forget a unit like Gi or Mi? "
            f"(a minion needs at least {minimum}Mi, Docker's smallest memory limit for a container)"
        )
    return amount


def _non_negative(value: int) -> int:
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


def parse_cidr(value: object) -> str:
    text = parse_text(value)
    try:
        return str(ipaddress.IPv4Network(text, strict=True))
    except ValueError as exc:
        raise ValueError(f"{excerpt(text)} is not an IPv4 network in CIDR form like 10.0.0.0/16 ({exc})") from exc


# --- the catalogue ------------------------------------------------------------------------------------------

MINION_VARS: dict[str, Callable[[object], object]] = {
    "kubeplay_labels": parse_labels,
    "kubeplay_cpu": parse_cpu_capacity,
    "kubeplay_memory": parse_memory_capacity,
    "kubeplay_cordoned": parse_bool,
    "kubeplay_allow_privileged": parse_bool,
    "kubeplay_host_paths": parse_host_paths,
}
PROTECTED_VARS = ("kubeplay_allow_privileged", "kubeplay_host_paths")
"""Variables that give pods power over a minion: set in the inventory's files only, never with -e."""
CLUSTER_VARS: dict[str, Callable[[object], object]] = {
    "kubeplay_portal_net": parse_cidr,
    "kubeplay_pod_network": parse_bool,
    "kubeplay_known_hosts": parse_text,
    "kubeplay_infra_image": parse_text,
    "kubeplay_project": parse_project,
}
CONNECTION_VARS: dict[str, Callable[[object], object]] = {
    "ansible_host": parse_host,
    "ansible_ssh_host": parse_host,
    "ansible_port": parse_port,
    "ansible_ssh_port": parse_port,
    "ansible_user": parse_text,
    "ansible_ssh_user": parse_text,
    "ansible_ssh_private_key_file": parse_text,
    "ansible_private_key_file": parse_text,
    "ansible_connection": parse_connection,
    "ansible_ssh_common_args": parse_text,
    "ansible_ssh_extra_args": parse_text,
}
SSH_ARGUMENT_VARS = ("ansible_ssh_common_args", "ansible_ssh_extra_args")
"""In the order Ansible puts them on ssh's command line (the first value of an option wins)."""
KUBEPLAY_VARS = sorted(MINION_VARS | CLUSTER_VARS)


def check_var(name: str, value: object, scope: Scope) -> str | None:
    """The problem with setting ``name`` to ``value`` in ``scope``, or None when it is fine."""
    parse = MINION_VARS.get(name) or CLUSTER_VARS.get(name) or CONNECTION_VARS.get(name)
    if parse is None:
        return _unknown_var(name) if name.startswith("kubeplay_") else None
    if name in PROTECTED_VARS and scope == "extra":
        return f"{name} grants pods access to the minions: set it in the inventory (host or group vars), not with -e"
    if name in CLUSTER_VARS and scope in ("group", "host"):
        return f"{name} is cluster-wide: set it in the vars of the all group (or group_vars/all)"
    try:
        parse(value)
    except ValueError as exc:
        return str(exc)
    return None


def _unknown_var(name: str) -> str:
    import difflib  # (a hint for a mistake: not loaded by a run without one)

    close = difflib.get_close_matches(name, KUBEPLAY_VARS, n=1)
    hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(KUBEPLAY_VARS)}"
    return f"unknown variable {name}{hint}"


# --- from merged variables to kubeplay's model --------------------------------------------------------------


def build_minion(name: str, settings: Mapping[str, Setting]) -> Minion:
    """A Minion from the variables that apply to host ``name`` (already checked, merged by precedence)."""
    key_file = _first(settings, "ansible_ssh_private_key_file", "ansible_private_key_file")
    connection = _first(settings, "ansible_connection")
    labels = settings.get("kubeplay_labels")
    return Minion(
        name=name,
        host=parse_host(address.value) if (address := _first(settings, "ansible_host", "ansible_ssh_host")) else name,
        port=parse_port(port.value) if (port := _first(settings, "ansible_port", "ansible_ssh_port")) else 22,
        user=_text(_first(settings, "ansible_user", "ansible_ssh_user")),
        key_file=resolve_path(key_file) if key_file else "",
        connection=parse_connection(connection.value) if connection else "ssh",
        labels=parse_labels(labels.value) if labels else {},
        cpu=parse_cpu_capacity(cpu.value) if (cpu := settings.get("kubeplay_cpu")) else 0,
        memory=parse_memory_capacity(memory.value) if (memory := settings.get("kubeplay_memory")) else 0,
        cordoned=_flag(settings, "kubeplay_cordoned", default=False),
        allow_privileged=_flag(settings, "kubeplay_allow_privileged", default=False),
        host_paths=parse_host_paths(paths.value) if (paths := settings.get("kubeplay_host_paths")) else (),
        vars={key: setting.value for key, setting in settings.items()},
        ssh_arguments=tuple(
            SSHArguments(variable, parse_text(setting.value), setting.source)
            for variable in SSH_ARGUMENT_VARS
            if (setting := settings.get(variable))
        ),
    )


def connection_problems(name: str, settings: Mapping[str, Setting]) -> list[tuple[Source, str, str]]:
    """What would fail only when host ``name`` is connected to, found now: an inventory name that is no address
    (with no ansible_host), a private key file that does not exist. Each as (where, field, message)."""
    connection = _first(settings, "ansible_connection")
    if connection and parse_connection(connection.value) == "local":
        return []
    problems = []
    named = settings.get("inventory_hostname")
    problem = host_address_error(name)
    if named and problem and not _first(settings, "ansible_host", "ansible_ssh_host"):
        problems.append(
            (named.source, "ansible_host", f"the host name {name!r} is no address to connect to: {problem}")
        )
    key_file = _first(settings, "ansible_ssh_private_key_file", "ansible_private_key_file")
    if key_file and not os.path.isfile(path := resolve_path(key_file)):
        why = "is not a file" if os.path.exists(path) else "does not exist"
        problems.append((key_file.source, "ansible_ssh_private_key_file", f"the private key file {path} {why}"))
    return problems


def resolve_path(setting: Setting) -> str:
    """``~`` expanded; a relative path is taken from the inventory's folder."""
    path = os.path.expanduser(parse_text(setting.value))
    return os.path.normpath(os.path.join(setting.base_dir, path))


def _first(settings: Mapping[str, Setting], *names: str) -> Setting | None:
    for name in names:  # (not next() of a generator: 7 calls for each of 1,000 minions)
        if name in settings:
            return settings[name]
    return None


def _text(setting: Setting | None) -> str:
    return parse_text(setting.value) if setting else ""


def _flag(settings: Mapping[str, Setting], name: str, *, default: bool) -> bool:
    setting = settings.get(name)
    return parse_bool(setting.value) if setting else default
