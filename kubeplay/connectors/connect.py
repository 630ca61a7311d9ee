"""How a run connects to its inventory's minions: SSH to each (a local connection for ansible_connection=local),
with the fault-injection aid when $KUBEPLAY_FAULT asks for it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from kubeplay.connectors.base import FAULT_VARIABLE, Connector, MinionConnection
from kubeplay.dataclass import replace
from kubeplay.model import Inventory, Minion


def connector(
    inventory: Inventory,
    accept_new_host_keys: bool,
    timeout: float,
    warn: Callable[[str], None],
    remember: Callable[[Path, str], None] | None = None,
) -> Connector:
    """SSH to each minion (a local connection for ansible_connection=local). paramiko and docker are imported
    only here, when a command connects: `validate` and `--help` never load them. ~/.ssh/config and known_hosts
    are read here, once: a problem in them raises InputError before anything connects; ``warn`` is told
    what was skipped in them. ``remember``: where new host keys that are accepted go, instead of their known_hosts
    file at once (``SSHOptions.remember``)."""
    from kubeplay.connectors.ssh import SSHConnection, ssh_options

    options, warnings = ssh_options(
        [m for m in inventory.minions if m.connection == "ssh"],
        (inventory.known_hosts,) if inventory.known_hosts else (),
        accept_new_host_keys,
        timeout,
    )
    for warning in warnings:
        warn(warning)
    options = replace(options, remember=remember)

    def connect(minion: Minion) -> MinionConnection:
        if minion.connection == "local":
            from kubeplay.connectors.local import LocalConnection  # (imported only for such a minion)

            return LocalConnection(minion)
        return SSHConnection(minion, options)

    fault = os.environ.get(FAULT_VARIABLE, "")
    if not fault:
        return connect
    from kubeplay.connectors.faults import parse_fault, with_fault  # a testing aid, see there

    return with_fault(connect, parse_fault(fault))
