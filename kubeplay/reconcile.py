"""The run: load -> observe -> plan -> execute -> sync network, as one typed pipeline.

Every command goes through these stages (``get`` and ``delete`` stop after observing). Each stage takes the
previous one's typed output; the pure stages (load, plan) touch no network, the others go through the
connections that ``observe`` opened, one per minion, closed when the ``Observation`` is left. What a person sees
and whether they agree is injected as an ``ApplyView``, so the whole run is unit-testable with fake connections::

    inputs  = load(files, inventory, extra_vars, limit, project)     # pure, raises InputError
    with observe(inputs, connect, forks, network=True, lock=request) as seen:  # connect, lock, observe
        outcome = apply(inputs, seen, options, view)                 # probe, plan, confirm, execute, sync
        # or: outcome = delete(inputs, seen, pod_names, options, view)  # the same stages, removals only

Every run belongs to a project (``resolve_project``): it reconciles and removes only that project's pods and
services; other projects' pods count for scheduling and endpoints, their services' rules are kept as they are.

A run that may change minions passes a ``lock``: every minion it reached is locked (kubelet/lock.py) before it is
observed, until the block is left, so no other run changes it meanwhile. Over SSH the lock's program is the run's
one exec session on the minion: it also reads the rules and routes, then runs `docker system dial-stdio`, over which
Docker's reads go (``first_steps``); a run that takes no lock starts the same program without the lock's steps.

``apply``: probe the running pods, plan the services (portals, env vars, routes) and the pods, show the plan
(``--check`` stops after showing what would change), ask, then services first: write each minion's proxy rules
and routes where they differ, every service with the endpoints of the pods that stay (one going away is taken out
before it is stopped; a service without endpoints REJECTs, so a client started next is refused at once, not left
to retry a dropped SYN). Then run the pods' actions and rollout steps (each step rewrites the endpoints: new pods
in once they run and pass their probes, old ones out before they stop), list the pods again for their new IPs,
and write the rules once more where they differ. A run that changes no pod writes at most once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import TYPE_CHECKING, Protocol, TypeAlias

from kubeplay.connectors.base import Connector, MinionConnection
from kubeplay.connectors.connect import connector as connector
from kubeplay.connectors.sshconfig import ssh_args_problems
from kubeplay.dataclass import dataclass
from kubeplay.errors import InputError, KubeplayError, Problem
from kubeplay.inventory import load_inventory
from kubeplay.inventory.limit import limit as limit_inventory
from kubeplay.inventory.variables import parse_extra_vars as parse_extra_vars
from kubeplay.manifests import load_manifests
from kubeplay.model import DEFAULT_PROJECT, Desired, Inventory, Observed, ObservedPod
from kubeplay.names import DNS_LABEL_MAX, dns_label_error
from kubeplay.planner.consent import refused_everywhere
from kubeplay.proxy.portals import portal_problems
from kubeplay.yamlnodes import paused_gc

if TYPE_CHECKING:  # (the later stages' modules are imported where they run: `validate` only loads)
    from kubeplay.connectors.held import HeldReader
    from kubeplay.kubelet.execute import Pulling, Reroute, Rerouted, Result, Waiting
    from kubeplay.kubelet.lock import Held, LockRequest
    from kubeplay.kubelet.observe import Session
    from kubeplay.parallel import Say
    from kubeplay.planner.pods import Plan
    from kubeplay.planner.scheduler import Scheduler
    from kubeplay.proxy.plan import MinionNetwork, MinionSync, ServicePlan
    from kubeplay.proxy.sync import ClusterRules, NetworkRead, NetworkResult

# --- load ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    desired: Desired
    inventory: Inventory
    """The whole inventory: every minion is observed."""
    limit: frozenset[str] | None
    """Minions selected by --limit (only they are acted on), None for all."""
    project: str = DEFAULT_PROJECT
    """The project the run reconciles (``resolve_project``)."""
    warnings: tuple[str, ...] = ()
    """Files under -f skipped because they are no manifests, ssh options in the inventory kubeplay ignores."""


PROJECT_VARIABLE = "kubeplay_project"
PROJECT_ENVIRONMENT = "KUBEPLAY_PROJECT"


@paused_gc()  # pure, and makes many objects without cycles
def load(
    files: Sequence[str],
    inventory_path: str,
    extra_vars: Mapping[str, object],
    limit: str | None,
    project: str | None = None,
    environ: Mapping[str, str] = os.environ,
    fallback_project: str | None = None,
) -> Inputs:
    """Read and validate everything before the first connection. Raises InputError with every problem found.
    ``fallback_project``: the project when none is named (-p, the variable, the environment), instead of the
    first path's folder's name (kubecfg mode)."""
    inventory = load_inventory(inventory_path, extra_vars)
    variables: dict[str, object] = {**inventory.vars, **extra_vars}
    warnings: list[str] = []
    problems: list[Problem] = []
    try:
        name = resolve_project(project, variables, environ, files, fallback_project)
    except InputError as exc:  # reported together with the manifests' own problems
        name, problems = DEFAULT_PROJECT, exc.problems
    try:
        desired = load_manifests(list(files), variables, warnings=warnings) if files else Desired()
    except InputError as exc:
        raise InputError([*problems, *exc.problems]) from exc
    problems += [*portal_problems(desired.services, inventory.portal_net), *refused_everywhere(desired, inventory)]
    ssh_problems, ssh_warnings = ssh_args_problems(inventory.minions)
    problems += ssh_problems
    warnings += ssh_warnings
    if problems:
        raise InputError(problems)
    selected = frozenset(m.name for m in limit_inventory(inventory, limit).minions) if limit else None
    return Inputs(desired, inventory, selected, name, tuple(warnings))


def resolve_project(
    explicit: str | None,
    variables: Mapping[str, object],
    environ: Mapping[str, str],
    files: Sequence[str],
    fallback: str | None = None,
) -> str:
    """The run's project: -p, else the inventory variable kubeplay_project, else $KUBEPLAY_PROJECT, else the name
    of the folder of the first -f path (a file's folder, a folder's own name; ``default`` for stdin or no -f),
    made a DNS label as Docker Compose makes its project names (``My_App`` -> ``my-app``). Raises InputError when
    a name given as such (-p, the variable, the environment) is not a DNS label, or a folder's name has no letter
    or digit. ``fallback``, when given, is the project when none is named (instead of the folder's name)."""
    given = [
        ("-p", explicit),
        (PROJECT_VARIABLE, variables.get(PROJECT_VARIABLE)),
        (f"${PROJECT_ENVIRONMENT}", environ.get(PROJECT_ENVIRONMENT)),
    ]
    for source, value in given:
        if value is not None and str(value) != "":
            return _valid_project(str(value), source)
    if fallback:
        return fallback
    if not files or files[0] == "-":
        return DEFAULT_PROJECT
    path = os.path.abspath(files[0])
    folder = os.path.basename(path if os.path.isdir(path) else os.path.dirname(path))
    return _valid_project(folder_project(folder), f"the folder of -f {files[0]}")


def folder_project(folder: str) -> str:
    """A folder's name as a project name: lower case, each run of other characters than letters, digits and '-'
    one '-', no '-' at either end, at most 63 characters ("Shop_Manifests" -> "shop-manifests")."""
    name = re.sub(r"[^a-z0-9-]+", "-", folder.lower())[:DNS_LABEL_MAX]
    return name.strip("-")


def _valid_project(name: str, source: str) -> str:
    problem = dns_label_error(name)
    if problem:
        message = f"project name {name!r} (from {source}) {problem}: name the project with -p NAME"
        raise InputError([Problem("project", message)])
    return name


# --- observe ---------------------------------------------------------------------------------------------------


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


def _no_network(conn: MinionConnection) -> NetworkRead | None:
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
    from kubeplay.kubelet.lock import hold_locks, release
    from kubeplay.kubelet.observe import connect as connect_minions
    from kubeplay.kubelet.observe import observe_session

    minions = inputs.inventory.minions
    with ExitStack() as stack:
        session = connect_minions(minions, connect, forks)
        stack.callback(session.close)
        held = partial(first_steps, network, reader=rules_reader(inputs))
        if lock is not None:
            programs = stack.enter_context(hold_locks(session, lock, say, forks=forks, held=held))
        else:
            programs = _start_reads(session, held, forks)
            stack.callback(release, list(programs.values()))
        for name, program in programs.items():
            if session.connections[name].docker_dial():
                session.connections[name].read_docker_over(program)
        alongside = partial(_read_network, programs) if network else _no_network
        observed, read = observe_session(minions, session, forks, alongside)
        networks = resolve_networks({name: n for name, n in read.items() if n is not None}, session, forks)
        yield Observation(observed, networks, session)


def first_steps(network: bool, conn: MinionConnection, reader: str = "") -> Held:
    """What a minion's one program runs (after taking the lock, when the run locks): when the connection reads
    Docker through a program of the minion, the rules and routes (with ``network``: in full on the minion named
    ``reader``, the others' shared chains as a digest), then that program (see ``reading_docker``)."""
    from kubeplay.kubelet.lock import reading_docker
    from kubeplay.proxy.sync import READ_NETWORK_DIGESTED_STEP, READ_NETWORK_FIELDS, READ_NETWORK_STEP

    if not network:
        return reading_docker(conn)
    step = READ_NETWORK_STEP if conn.minion.name == reader else READ_NETWORK_DIGESTED_STEP
    return reading_docker(conn, step, READ_NETWORK_FIELDS)


def rules_reader(inputs: Inputs) -> str:
    """The minion whose one program prints its rules in full, the others only their own and a digest of the chains
    every minion shares (proxy/sync.py): the first acted-on one, by name."""
    acted = [m.name for m in inputs.inventory.minions if inputs.limit is None or m.name in inputs.limit]
    return min(acted, default="")


def resolve_networks(reads: Mapping[str, NetworkRead], session: Session, forks: int) -> dict[str, MinionNetwork]:
    """The minions' rules and routes, their shared chains matched by digest (proxy/sync.py ``resolve``)."""
    from kubeplay.proxy.sync import read_network_of, resolve

    return resolve(reads, read_network_of(session.connections), forks)


def _start_reads(session: Session, held: Callable[[MinionConnection], Held], forks: int) -> dict[str, HeldReader]:
    """For a run that takes no lock: each minion's one program without the lock's steps, where it reads Docker
    through a program (``first_steps``). A minion whose program cannot be started is unreachable."""
    from kubeplay.connectors.held import HeldReader
    from kubeplay.kubelet.lock import read_program
    from kubeplay.parallel import in_parallel

    def start(name: str) -> HeldReader | str:
        conn = session.connections[name]
        steps = held(conn)
        try:
            return HeldReader(conn.spawn(read_program(steps)), steps.fields)
        except KubeplayError as exc:
            return str(getattr(exc, "reason", exc))

    names = [name for name, conn in session.connections.items() if conn.docker_dial()]
    started = dict(zip(names, in_parallel(start, names, forks), strict=True))
    for name, outcome in started.items():
        if isinstance(outcome, str):
            session.drop(name, outcome)
    return {name: outcome for name, outcome in started.items() if isinstance(outcome, HeldReader)}


def _read_network(programs: Mapping[str, HeldReader], conn: MinionConnection) -> NetworkRead:
    """The minion's rules and routes: from its one program's output when it read them, else by a program of
    their own."""
    from kubeplay.proxy.sync import READ_NETWORK_FIELDS, NetworkRead, network_of_fields, read_network

    name = conn.minion.name
    program = programs.get(name)
    if program is None or program.fields != READ_NETWORK_FIELDS:
        return read_network(conn)
    try:
        fields = program.preamble(NETWORK_READ_TIMEOUT)
    except (EOFError, OSError) as exc:
        return NetworkRead(name, error=f"reading rules and routes: {exc}")
    return network_of_fields(name, fields)


NETWORK_READ_TIMEOUT = 120.0
"""Seconds a minion's one program may take to write its rules and routes (as READ_NETWORK run on its own)."""


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
    allow_empty: bool = False
    """Let manifests with no object at all remove every pod and service of the project."""
    waiting: Waiting | None = None
    """How rollout steps wait for new pods, and drain the pods taken out of the endpoints (None: kubelet.execute's
    ``Waiting()``, made when the pods change)."""
    pull_progress: bool = False
    """Tell the event sink each line of a pull's progress (``Pulling``), for a live view."""


class ApplyView(Protocol):
    """What a person sees of an apply, and whether they agree."""

    def progress(self, message: str) -> None: ...

    def planned(self, plan: Plan) -> None:
        """The pods' plan, before anything changes."""

    def network_planned(self, syncs: Sequence[MinionSync], *, check: bool) -> None:
        """The proxy rules and routes that differ: with --check before the pods; else the first write's, before the
        pods, and the endpoints' after them (when they differ)."""

    def confirm(self, plan: Plan, syncs: Sequence[MinionSync]) -> bool:
        """Whether to go on (``syncs``: the network changes known before the pods')."""
        ...


Event: TypeAlias = "Result | NetworkResult | Pulling"
"""What an apply reports as it happens, for a log: each pod action's result (with its minion, verb, subject and
duration), and each write of a minion's proxy rules or a route; for a live view also each line of a pull's
progress (``Pulling``, which a log skips)."""
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
    """The rules and routes written before the pods change: every service with the endpoints of ``serving`` (the
    pods' changes may add more): what --check shows and the confirmation question counts."""
    missing: tuple[str, ...] = ()
    """Pods named to delete that are on no reachable minion acted on."""
    sync_network: bool = True
    """Write the proxy rules and routes around the pods (a delete of pods only leaves them to the next apply)."""
    serving: tuple[ObservedPod, ...] = ()
    """The pods that take traffic while the pods change: running, passing their probes, not going away."""

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
    """Per minion, the rules as read and as last planned, with the route changes (with --check: the first write's)."""
    network: tuple[NetworkResult, ...] = ()

    @property
    def failed(self) -> bool:
        p = self.plan.pods
        return bool(
            self.declined
            or p.refused
            or self.plan.missing
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


@paused_gc()  # (as load)
def plan(inputs: Inputs, seen: Observation, options: ApplyOptions) -> RunPlan:
    """Probe the running pods (over the connections), then plan services and pods (pure)."""
    from kubeplay.kubelet.probe import probe_all
    from kubeplay.planner.pods import Options, plan_pods
    from kubeplay.proxy.plan import plan_services, plan_sync, serving_pods

    observed = seen.observed
    services = plan_services(inputs.desired.services, observed, seen.networks, inputs.inventory, inputs.project)
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
            project=inputs.project,
        ),
    )
    if not options.allow_empty:
        refuse_empty(inputs, seen, pods)
    going = {(a.minion, a.pod) for a in pods.actions if a.verb in GOING}
    serving = tuple(p for p in serving_pods(observed.pods, probe_failures) if (p.minion, p.name) not in going)
    network_now = plan_sync(services, observed.minions, serving, seen.networks, inputs.limit)
    return RunPlan(pods, services, probe_failures, network_now, serving=serving)


def _waiting(options: ApplyOptions) -> Waiting:
    from kubeplay.kubelet.execute import Waiting

    return options.waiting or Waiting()


GOING = ("remove", "replace")
"""The actions that stop a pod: it is taken out of the endpoints before them."""


class EmptyInputRefused(KubeplayError):
    """Manifests with no object at all would remove the project's pods or services (see ``refuse_empty``)."""


def refuse_empty(inputs: Inputs, seen: Observation, pods: Plan) -> None:
    """Raise EmptyInputRefused when the manifests hold no object while the run would remove pods or services of
    the project: an empty folder, an empty stdin or a mistyped path removes nothing by accident."""
    from kubeplay.proxy.plan import observed_projects

    d = inputs.desired
    if d.pods or d.controllers or d.services:
        return
    removed = sum(1 for a in pods.actions if a.verb == "remove")
    in_scope = {n: read for n, read in seen.networks.items() if inputs.limit is None or n in inputs.limit}
    services = sum(1 for p in observed_projects(in_scope).values() if p == inputs.project)
    if removed or services:
        what = " and ".join([_count(removed, "pod")] * bool(removed) + [_count(services, "service")] * bool(services))
        raise EmptyInputRefused(
            f"{what} of project {inputs.project} would be removed; pass --allow-empty to remove them"
        )


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def plan_delete(inputs: Inputs, seen: Observation, names: Sequence[str]) -> RunPlan:
    """The removals a delete makes: the pods named, and the objects of the manifests (their pods, the replicas of
    their controllers, their services' rules), of the project, on the minions acted on. Pure. Raises InputError
    for a name another project uses."""
    from kubeplay.planner.pods import Action, Plan
    from kubeplay.proxy.plan import ServicePlan, observed_projects, plan_sync

    observed, project = seen.observed, inputs.project
    d = inputs.desired
    named = {*names, *(p.name for p in d.pods)}
    controllers = {rc.name for rc in d.controllers}
    foreign = [p for p in observed.pods if p.project != project and (p.name in named or p.controller in controllers)]
    services = {s.name for s in d.services}
    projects = observed_projects(seen.networks)
    problems = [
        Problem("delete", f"pod {p.name} is of project {p.project} (on {p.minion}): delete it with -p {p.project}")
        for p in foreign
    ] + [
        Problem("delete", f"service {n} is of project {projects[n]}: delete it with -p {projects[n]}")
        for n in sorted(services)
        if projects.get(n, project) != project
    ]
    if problems:
        raise InputError(problems)
    acted = [p for p in observed.pods if inputs.limit is None or p.minion in inputs.limit]
    gone = [p for p in acted if p.project == project and (p.name in named or p.controller in controllers)]
    actions = tuple(
        Action("remove", p.minion, f"replica of {p.controller}" if p.controller else "deleted", pod=p.name, observed=p)
        for p in sorted(gone, key=lambda p: (p.minion, p.name))
    )
    unreachable = {n: observed.minions[n].error for n in observed.unreachable}
    pods = Plan(actions, unreachable=unreachable, project=project)
    service_plan = ServicePlan(
        (), {}, (), {}, {}, inputs.inventory.pod_network, project=project, removed=frozenset(services)
    )
    found = {p.name for p in gone}
    network_now = plan_sync(service_plan, observed.minions, [], seen.networks, inputs.limit) if services else ()
    missing = tuple(n for n in names if n not in found)
    return RunPlan(pods, service_plan, {}, network_now, missing=missing, sync_network=bool(services))


def apply(
    inputs: Inputs, seen: Observation, options: ApplyOptions, view: ApplyView, on_event: EventSink = _no_sink
) -> Outcome:
    """Plan, show, ask, then change the pods and after them the proxy rules and routes. ``on_event`` is told each
    pod action's result as it is known, then each network write's."""
    return carry_out(inputs, seen, plan(inputs, seen, options), options, view, on_event)


def delete(inputs: Inputs, seen: Observation, names: Sequence[str], options: ApplyOptions, view: ApplyView) -> Outcome:
    """Remove the pods named and the objects of the manifests, as apply does: show, ask, then remove."""
    return carry_out(inputs, seen, plan_delete(inputs, seen, names), options, view)


def carry_out(
    inputs: Inputs,
    seen: Observation,
    run: RunPlan,
    options: ApplyOptions,
    view: ApplyView,
    on_event: EventSink = _no_sink,
) -> Outcome:
    """Show the plan, stop there with --check, ask, then write the services' rules, change the pods (and the
    endpoints at each rollout step), and write the endpoints of the pods as they are then."""
    from kubeplay.proxy.sync import ClusterRules, read_failures

    view.planned(run.pods)
    if options.check:
        if run.sync_network:
            view.network_planned(run.network_now, check=True)
        return Outcome(run, checked=True, syncs=run.network_now)
    if options.ask and run.changes and not view.confirm(run.pods, run.network_now):
        view.progress("nothing was changed")
        return Outcome(run, declined=True)
    if not run.sync_network:
        return Outcome(run, results=tuple(_run_pods(inputs, seen, run, options, view.progress, on_event)))
    in_scope = {n: read for n, read in seen.networks.items() if inputs.limit is None or n in inputs.limit}
    unread = read_failures(in_scope)
    for failure in unread:
        on_event(failure)
    rules = ClusterRules(
        run.services,
        seen.observed.minions,
        seen.networks,
        seen.connections,
        limit=inputs.limit,
        forks=options.forks,
        say=view.progress,
        report=on_event,
    )
    view.network_planned(run.network_now, check=False)
    written = rules.write(run.network_now, run.serving, "proxy rules (services first)")
    if any(r.ok for r in written) and _going_endpoints(run, seen.observed):
        waiting = _waiting(options)
        waiting.sleep(waiting.drain)
    results = _run_pods(inputs, seen, run, options, view.progress, on_event, _reroute(rules))
    if results:
        _sync_network(seen, run, rules, options, view)
    return Outcome(run, results=tuple(results), syncs=rules.syncs, network=(*unread, *rules.results))


def _going_endpoints(run: RunPlan, observed: Observed) -> bool:
    """Whether a pod the actions stop was an endpoint (the first write took it out: it is drained)."""
    from kubeplay.proxy.endpoints import endpoint_pods
    from kubeplay.proxy.plan import serving_pods

    going = {a.pod for a in run.pods.actions if a.verb in GOING}
    return bool(going & endpoint_pods(run.services.services, serving_pods(observed.pods, run.probe_failures)))


def _reroute(rules: ClusterRules) -> Reroute:
    """A rollout's changes of endpoints, written to every minion by ``rules``."""

    def reroute(serve: Sequence[ObservedPod], stop: Sequence[ObservedPod]) -> Rerouted:
        from kubeplay.kubelet.execute import Rerouted

        written = rules.reroute(serve, stop, "proxy rules (rollout)")
        return Rerouted(ok=all(r.ok for r in written), changed=bool(written))

    return reroute


def _run_pods(
    inputs: Inputs,
    seen: Observation,
    run: RunPlan,
    options: ApplyOptions,
    say: Say,
    on_event: EventSink,
    reroute: Reroute | None = None,
) -> list[Result]:
    """The pods' actions and rollout steps carried out (``reroute``: how endpoints change at each step, None for
    a run without services' rules)."""
    if not run.pods.changes:
        return []
    from kubeplay.kubelet.execute import Environment, execute, no_proxy
    from kubeplay.pods.infra import INFRA_IMAGE

    environment = Environment(
        tuple(run.services.env),
        run.services.hosts,
        infra_image=inputs.inventory.infra_image or INFRA_IMAGE,
        project=inputs.project,
    )
    return execute(
        run.pods,
        seen.connections,
        environment,
        say,
        options.forks,
        _waiting(options),
        on_event,
        reroute or no_proxy,
        pulling=on_event if options.pull_progress else None,
    )


def _sync_network(seen: Observation, run: RunPlan, rules: ClusterRules, options: ApplyOptions, view: ApplyView) -> None:
    """Endpoints of the pods as they are after the pods changed, written where they differ."""
    from kubeplay.kubelet.observe import relist
    from kubeplay.proxy.plan import serving_pods

    now = relist(seen.observed, seen.connections, options.forks)
    acted = {(a.minion, a.pod) for a in run.pods.actions}
    serving = serving_pods(now.pods, set(run.probe_failures) - acted)
    syncs = rules.planned(serving)
    if any(s.changes for s in syncs):
        view.network_planned(syncs, check=False)
    rules.write(syncs, serving, "proxy rules")
