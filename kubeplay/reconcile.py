"""The run: load -> observe -> plan -> execute -> sync network, as one typed pipeline.

Every command goes through these stages (``get`` and ``delete`` stop after observing). Each stage takes the
previous one's typed output; the pure stages (load, plan) touch no network, the others go through the
connections that ``observe`` opened, one per minion, closed when the ``Observation`` is left. What a person sees
and whether they agree is injected as an ``ApplyView``, so the whole run is unit-testable with fake connections::

    inputs  = load(files, inventory, extra_vars, limit)              # pure, raises InputError
    with observe(inputs, connect, forks, network=True, lock=request) as seen:  # connect, lock, observe
        outcome = apply(inputs, seen, options, view)                 # probe, plan, confirm, execute, sync

A run that may change minions passes a ``lock``: every minion it reached is locked (kubelet/lock.py) before it is
observed, until the block is left, so no other run changes it meanwhile.

``apply``: probe the running pods, plan the services (portals, env vars, routes) and the pods, show the plan
(``--check`` stops after showing what would change), ask, run the pods' actions, list the pods again for their
new IPs, then write each minion's proxy rules and routes where they differ.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Protocol

from kubeplay.connectors.base import Connector, MinionConnection
from kubeplay.connectors.faults import VARIABLE as FAULT_VARIABLE
from kubeplay.connectors.faults import parse_fault, with_fault
from kubeplay.errors import InputError, ManifestError, Problem
from kubeplay.inventory import load_inventory
from kubeplay.inventory.limit import limit as limit_inventory
from kubeplay.kubelet.execute import Environment, Result, execute
from kubeplay.kubelet.lock import LockRequest, hold_locks
from kubeplay.kubelet.observe import Session, observe_session, relist
from kubeplay.kubelet.observe import connect as connect_minions
from kubeplay.kubelet.probe import probe_all
from kubeplay.manifests import load_manifests
from kubeplay.model import Desired, Inventory, Minion, Observed
from kubeplay.parallel import Say
from kubeplay.planner.consent import refused_everywhere
from kubeplay.planner.pods import Options, Plan, plan_pods
from kubeplay.planner.scheduler import Scheduler
from kubeplay.pods.infra import INFRA_IMAGE
from kubeplay.proxy.plan import MinionNetwork, MinionSync, ServicePlan, plan_services, plan_sync, serving_pods
from kubeplay.proxy.portals import portal_problems
from kubeplay.proxy.sync import NetworkResult, read_failures, read_minion_network, write

# --- load ------------------------------------------------------------------------------------------------------


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


def load(files: Sequence[str], inventory_path: str, extra_vars: Mapping[str, object], limit: str | None) -> Inputs:
    """Read and validate everything before the first connection. Raises InputError with every problem found."""
    inventory = load_inventory(inventory_path, extra_vars)
    variables: dict[str, object] = {**inventory.vars, **extra_vars}
    desired = load_manifests(list(files), variables) if files else Desired()
    problems = [*portal_problems(desired.services, inventory.portal_net), *refused_everywhere(desired, inventory)]
    if problems:
        raise ManifestError(problems)
    selected = frozenset(m.name for m in limit_inventory(inventory, limit).minions) if limit else None
    return Inputs(desired, inventory, selected)


# --- observe ---------------------------------------------------------------------------------------------------


def connector(
    inventory: Inventory, accept_new_host_keys: bool, timeout: float, warn: Callable[[str], None]
) -> Connector:
    """SSH to each minion (a local connection for ansible_connection=local). paramiko and docker are imported
    only here, when a command connects: `validate` and `--help` never load them. ~/.ssh/config and known_hosts
    are read here, once: a problem in them raises InputError before anything connects; ``warn`` is told
    what was skipped in them."""
    from kubeplay.connectors.local import LocalConnection
    from kubeplay.connectors.ssh import SSHConnection, ssh_options

    options, warnings = ssh_options(
        [m for m in inventory.minions if m.connection == "ssh"],
        (inventory.known_hosts,) if inventory.known_hosts else (),
        accept_new_host_keys,
        timeout,
    )
    for warning in warnings:
        warn(warning)

    def connect(minion: Minion) -> MinionConnection:
        if minion.connection == "local":
            return LocalConnection(minion)
        return SSHConnection(minion, options)

    return with_fault(connect, parse_fault(os.environ.get(FAULT_VARIABLE, "")))  # a testing aid, see faults.py


@dataclass(frozen=True)
class Observation:
    """The cluster as observed, and the open connection to every minion that answered."""

    observed: Observed
    networks: Mapping[str, MinionNetwork]
    """Each connected minion's kubeplay rules and routes (empty when not read)."""
    session: Session

    @property
    def connections(self) -> Mapping[str, MinionConnection]:
        return self.session.connections


def _no_network(conn: MinionConnection) -> MinionNetwork | None:
    return None


def _quiet(message: str) -> None:
    pass


@contextmanager
def observe(
    inputs: Inputs,
    connect: Connector,
    forks: int,
    *,
    network: bool,
    lock: LockRequest | None = None,
    say: Say = _quiet,
) -> Iterator[Observation]:
    """Connect to every minion in parallel, lock them in order when a ``lock`` is asked for (raises Locked when
    another run holds one: nothing has been changed), then observe them in parallel; with ``network``, each
    minion's rules and routes are read at the same time, over the same connection. The locks are released and
    the connections closed when the block is left. ``say`` is told when the run waits for a lock."""
    minions = inputs.inventory.minions
    with ExitStack() as stack:
        session = connect_minions(minions, connect, forks)
        stack.callback(session.close)
        if lock is not None:
            stack.enter_context(hold_locks(session, lock, say))
        observed, read = observe_session(minions, session, forks, read_minion_network if network else _no_network)
        networks = {name: n for name, n in read.items() if n is not None}
        yield Observation(observed, networks, session)


# --- plan, execute, sync -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyOptions:
    scheduler: Scheduler
    forks: int = 20
    max_unavailable: int = 1
    check: bool = False
    """Plan and show, change nothing."""
    ask: bool = False
    """Ask the view before changing anything."""


class ApplyView(Protocol):
    """What a person sees of an apply, and whether they agree."""

    def progress(self, message: str) -> None: ...

    def planned(self, plan: Plan) -> None:
        """The pods' plan, before anything changes."""

    def network_planned(self, syncs: Sequence[MinionSync], *, check: bool) -> None:
        """The proxy rules and routes that differ: with --check before the pods, else after them."""

    def confirm(self, plan: Plan, syncs: Sequence[MinionSync]) -> bool:
        """Whether to go on (``syncs``: the network changes known before the pods')."""
        ...


Event = Result | NetworkResult
"""What an apply reports as it happens, for a log: each pod action's result (with its minion, verb, subject and
duration), and each write of a minion's proxy rules or a route."""
EventSink = Callable[[Event], None]
"""Where an apply reports its events; called from the minions' threads, so it must be thread-safe."""


def _no_sink(event: Event) -> None:
    pass


@dataclass(frozen=True)
class RunPlan:
    """Everything an apply will do, decided before anything changes."""

    pods: Plan
    services: ServicePlan
    probe_failures: Mapping[tuple[str, str], str]
    """(minion, pod) -> why its liveness probe failed."""
    network_now: tuple[MinionSync, ...]
    """The rules and routes as they would change with the pods as they are now (the pods' changes may add more):
    what --check shows and the confirmation question counts."""

    @property
    def changes(self) -> bool:
        return self.pods.changes or any(s.changes for s in self.network_now)


@dataclass(frozen=True)
class Outcome:
    plan: RunPlan
    checked: bool = False
    """--check: nothing was changed, ``syncs`` are the network changes known before the pods'."""
    declined: bool = False
    """Asked, and the answer was no: nothing was changed."""
    results: tuple[Result, ...] = ()
    syncs: tuple[MinionSync, ...] = ()
    """The network changes planned after the pods (with --check: before them)."""
    network: tuple[NetworkResult, ...] = ()

    @property
    def failed(self) -> bool:
        p = self.plan.pods
        return bool(
            self.declined
            or p.refused
            or p.unschedulable
            or p.failures
            or not all(r.ok for r in self.results)
            or not all(n.ok for n in self.network)
        )

    @property
    def changed(self) -> bool:
        """Something was changed (with --check: would be)."""
        if self.checked:
            return self.plan.changes
        return any(r.ok for r in self.results) or any(n.ok for n in self.network)


def plan(inputs: Inputs, seen: Observation, options: ApplyOptions) -> RunPlan:
    """Probe the running pods (over the connections), then plan services and pods (pure)."""
    observed = seen.observed
    services = plan_services(inputs.desired.services, observed, seen.networks, inputs.inventory)
    probe_failures = probe_all(observed.pods, inputs.desired, seen.connections, options.forks)
    pods = plan_pods(
        inputs.desired,
        observed,
        inputs.inventory,
        Options(
            scheduler=options.scheduler,
            limit=inputs.limit,
            probe_failures=probe_failures,
            max_unavailable=options.max_unavailable,
            spread_selectors=tuple(s.selector for s in inputs.desired.services),
        ),
    )
    serving = serving_pods(observed.pods, probe_failures)
    network_now = plan_sync(services, observed.minions, serving, seen.networks, inputs.limit)
    return RunPlan(pods, services, probe_failures, network_now)


def apply(
    inputs: Inputs, seen: Observation, options: ApplyOptions, view: ApplyView, on_event: EventSink = _no_sink
) -> Outcome:
    """Plan, show, ask, then change the pods and after them the proxy rules and routes. ``on_event`` is told each
    pod action's result as it is known, then each network write's."""
    run = plan(inputs, seen, options)
    view.planned(run.pods)
    if options.check:
        view.network_planned(run.network_now, check=True)
        return Outcome(run, checked=True, syncs=run.network_now)
    if options.ask and run.changes and not view.confirm(run.pods, run.network_now):
        view.progress("nothing was changed")
        return Outcome(run, declined=True)
    results = _run_pods(inputs, seen, run, options, view.progress, on_event)
    now = relist(seen.observed, seen.connections, options.forks) if results else seen.observed
    syncs, network = _sync_network(inputs, seen, run, now, options, view)
    for written in network:
        on_event(written)
    return Outcome(run, results=tuple(results), syncs=syncs, network=network)


def _run_pods(
    inputs: Inputs, seen: Observation, run: RunPlan, options: ApplyOptions, say: Say, on_event: EventSink
) -> list[Result]:
    if not run.pods.changes:
        return []
    environment = Environment(
        run.services.env, run.services.hosts, infra_image=inputs.inventory.infra_image or INFRA_IMAGE
    )
    return execute(run.pods, seen.connections, environment, say, options.forks, done=on_event)


def _sync_network(
    inputs: Inputs, seen: Observation, run: RunPlan, now: Observed, options: ApplyOptions, view: ApplyView
) -> tuple[tuple[MinionSync, ...], tuple[NetworkResult, ...]]:
    """Endpoints of the pods as they are now, then each minion's rules and routes where they differ."""
    acted = {(a.minion, a.pod) for a in run.pods.actions}
    serving = serving_pods(now.pods, set(run.probe_failures) - acted)
    syncs = plan_sync(run.services, now.minions, serving, seen.networks, inputs.limit)
    view.network_planned(syncs, check=False)
    in_scope = {n: read for n, read in seen.networks.items() if inputs.limit is None or n in inputs.limit}
    written = write(syncs, seen.connections, view.progress, options.forks)
    return syncs, (*read_failures(in_scope), *written)
