"""Connecting early: `apply` and `delete` start connecting to the minions as soon as the inventory is read, in the
background, before the rest of kubeplay is imported and before the manifests are read and checked, so that all this
overlaps the minions' part of connecting (the SSH handshake, the start of each minion's one program).

What starts early changes nothing, so that bad input still changes nothing on any minion: a run that locks starts
the lock program, which waits for ``go`` before it takes the lock (kubelet/lock.py); a run that does not lock
(--check) starts the program that only reads. When the input is bad the run closes them all unasked. Nothing the
early start says is shown before the run gets to connecting (``Early.connector``): the warnings about ~/.ssh/config,
the -vv trace, a problem in the ssh files; new host keys accepted (--accept-new-host-keys) are only written to
known_hosts then. When the early start cannot be made (an inventory or -e the run will report), the run connects as
before.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import Generic, ParamSpec

from kubeplay.cli import render
from kubeplay.connectors.ahead import ConnectingAhead
from kubeplay.connectors.base import Connector, MinionConnection
from kubeplay.connectors.connect import connector
from kubeplay.connectors.ssh import remember_host_key
from kubeplay.connectors.sshconfig import ssh_args_problems
from kubeplay.errors import InputError, KubeplayError
from kubeplay.inventory import load_inventory
from kubeplay.inventory.variables import parse_extra_vars
from kubeplay.model import Inventory

P = ParamSpec("P")


class _Postponed(Generic[P]):
    """Calls of ``target`` held back until ``release``, then made in their order; made at once after that."""

    def __init__(self, target: Callable[P, None]) -> None:
        self._target = target
        self._held: list[tuple[tuple[object, ...], dict[str, object]]] = []
        self._released = False
        self._lock = threading.Lock()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        with self._lock:
            if not self._released:
                self._held.append((args, kwargs))
                return
        self._target(*args, **kwargs)

    def release(self) -> None:
        with self._lock:
            self._released = True
            held, self._held = self._held, []
        for args, kwargs in held:
            self._target(*args, **kwargs)  # type: ignore[arg-type]


class Early:
    """The connections a run started early, for the run to take (``connector``) once its input is good."""

    def __init__(self, inventory: Inventory, connect: Connector | InputError, postponed: list[_Postponed[...]]) -> None:
        self.inventory = inventory
        self._connect = connect
        self._postponed = postponed
        self._taken = False

    def connector(self, inventory: Inventory) -> Connector | None:
        """How the run connects: through the connections started early, once (None when they were made for another
        inventory, or were taken already). Says what was postponed; raises InputError for a problem in the ssh
        files."""
        if self._taken or (inventory.minions, inventory.known_hosts) != (
            self.inventory.minions,
            self.inventory.known_hosts,
        ):
            return None
        self._taken = True
        for postponed in self._postponed:
            postponed.release()
        if isinstance(self._connect, InputError):
            raise self._connect
        return self._connect

    def close(self) -> None:
        """Close what the run did not take (all of it, when it stopped before connecting)."""
        if isinstance(self._connect, ConnectingAhead):
            self._connect.close()


def start(args: argparse.Namespace, *, network: bool, lock: bool) -> Early | None:
    """Start connecting to the minions of the run's inventory (-i, -e), each with the program the run starts first:
    the lock program (``lock``), else the reading one; with ``network``, reading the rules and routes too."""
    try:
        inventory = load_inventory(args.inventory, parse_extra_vars(args.extra_vars))
    except KubeplayError:  # the run reports it, in its order
        return None
    if ssh_args_problems(inventory.minions)[0]:
        return None
    warn, trace, remember = _Postponed(render.warning), _Postponed(render.trace), _Postponed(remember_host_key)
    postponed: list[_Postponed[...]] = [warn, remember, trace]
    try:
        connect = connector(inventory, args.accept_new_host_keys, args.timeout, warn, remember)
    except InputError as exc:
        return Early(inventory, exc, postponed)
    if render.verbosity >= render.TRACE:
        from kubeplay.connectors.trace import traced

        connect = traced(connect, trace)

    from kubeplay.connectors import dockerread  # noqa: F401 (the connections' docker_dial needs it: imported here, not by the threads)

    reader = _rules_reader(inventory, args)

    def program(conn: MinionConnection) -> list[str] | None:
        # (imported by the first connection made, while the run goes on importing and reading its input)
        from kubeplay.kubelet.lock import lock_program, read_program
        from kubeplay.reconcile import first_steps  # (the very steps the observation will take it for)

        held = first_steps(network, conn, reader)
        if lock:
            return lock_program(held, 0)
        return read_program(held) if conn.docker_dial() else None

    return Early(inventory, ConnectingAhead(inventory.minions, connect, program, args.forks), postponed)


def _rules_reader(inventory: Inventory, args: argparse.Namespace) -> str:
    """The minion the run will have read its rules in full (``reconcile.rules_reader``): the first one by name in
    --limit; "" when the limit is bad (the run reports it; the programs started early are then not the run's)."""
    selected = inventory
    if getattr(args, "limit", None):
        from kubeplay.inventory.limit import limit

        try:
            selected = limit(inventory, args.limit)
        except KubeplayError:
            return ""
    return min((m.name for m in selected.minions), default="")


def apply(args: argparse.Namespace) -> int:
    """`kubeplay apply`, connecting early (one run: apply --every connects each round)."""
    return _run("apply", args, start(args, network=True, lock=not args.check) if args.every is None else None)


def delete(args: argparse.Namespace) -> int:
    """`kubeplay delete`, connecting early."""
    return _run("delete", args, start(args, network=True, lock=not args.check))


def _run(command: str, args: argparse.Namespace, early: Early | None) -> int:
    """The command of commands.py, which takes the connections started early with ``args.early_connector``."""
    args.early_connector = early.connector if early is not None else None
    try:
        from kubeplay.cli import commands

        run: Callable[[argparse.Namespace], int] = getattr(commands, command)
        return run(args)
    finally:
        if early is not None:
            early.close()
