"""The stages of one run, shared by the commands: load (pure), connect + observe, probe, plan, execute.

The CLI calls these in order and is the one place that renders and decides exit codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kubeplay.connectors.base import Connector, MinionConnection
from kubeplay.connectors.local import LocalConnection
from kubeplay.connectors.ssh import SSHConnection, SSHOptions
from kubeplay.errors import InputError, Problem
from kubeplay.inventory.limit import limit as limit_inventory
from kubeplay.inventory.load import load_inventory
from kubeplay.kubelet.observe import Also, Session, observe
from kubeplay.manifests import load_manifests
from kubeplay.model import Desired, Inventory, Minion, Observed


@dataclass(frozen=True)
class Inputs:
    desired: Desired
    inventory: Inventory
    """The whole inventory: every minion is observed."""
    limit: frozenset[str] | None
    """Minions selected by --limit (only they are acted on), None for all."""


def parse_extra_vars(pairs: Sequence[str]) -> dict[str, object]:
    """-e key=value pairs (values stay strings, as Ansible's key=value form)."""
    extra: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError([Problem("-e", f"expected key=value, got {pair!r}")])
        extra[key.strip()] = value
    return extra


def load_inputs(
    files: Sequence[str], inventory_path: str, extra_vars: Mapping[str, object], limit: str | None
) -> Inputs:
    """Read and validate everything before the first connection. Raises InputError with every problem found."""
    inventory = load_inventory(inventory_path, extra_vars)
    variables: dict[str, object] = {**inventory.vars, **extra_vars}
    desired = load_manifests(list(files), variables) if files else Desired()
    selected = frozenset(m.name for m in limit_inventory(inventory, limit).minions) if limit else None
    return Inputs(desired, inventory, selected)


def connector(inventory: Inventory, accept_new_host_keys: bool, timeout: float) -> Connector:
    options = SSHOptions(
        known_hosts=(inventory.known_hosts,) if inventory.known_hosts else (),
        accept_new_host_keys=accept_new_host_keys,
        timeout=timeout,
    )

    def connect(minion: Minion) -> MinionConnection:
        if minion.connection == "local":
            return LocalConnection(minion)
        return SSHConnection(minion, options)

    return connect


def observe_cluster(
    inputs: Inputs, connect: Connector, forks: int, also: Also | None = None
) -> tuple[Observed, Session]:
    return observe(inputs.inventory.minions, connect, forks, also)
