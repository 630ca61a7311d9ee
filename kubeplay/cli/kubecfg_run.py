"""kubecfg mode's commands: each is one run of the same stages as apply (reconcile.py: connect, lock, observe, plan,
execute, sync the rules), on the objects kubecfg created, as the cluster keeps them (kubelet/records.py).

Every run, whatever its verb, is also one pass of the 2014 controller manager over what kubecfg made: its
replication controllers are kept at their counts (a pod of theirs deleted is made again), its services' endpoints
are brought up to date. ``create`` records the file's objects (refusing one whose name is taken) once the run's plan
has accepted them, then makes them; ``delete`` removes one object (a controller with its replicas, as `kubecfg stop`
did) and then its record.

Nothing else is ever removed: the run plans with the project's other pods seen as another project's (``kubecfg_view``:
they hold their ports and resources, and are never acted on) and keeps every other service's rules as they are.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from kubeplay import reconcile
from kubeplay.cli import render, views
from kubeplay.cli.commands import connector_for, warn_ignored
from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_USAGE, apply_exit_code
from kubeplay.cli.kubecfg import DEFAULT_PROJECT, Path, usage_problem
from kubeplay.dataclass import replace
from kubeplay.errors import InputError, KubeplayError, Problem
from kubeplay.kubelet import records
from kubeplay.kubelet.lock import LockRequest, this_process
from kubeplay.kubelet.observe import relist
from kubeplay.kubelet.records import CONTROLLERS, PODS, KubecfgObject, Record
from kubeplay.model import Desired, Observed, Pod, PodSpec, ReplicationController, Service
from kubeplay.planner.pods import Plan
from kubeplay.planner.scheduler import get_scheduler
from kubeplay.pods.secrets import looks_secret
from kubeplay.proxy.plan import (
    MinionNetwork,
    MinionSync,
    observed_portals,
    observed_projects,
    observed_services,
    plan_services,
    plan_sync,
    serving_pods,
)
from kubeplay.selectors import format_selector

# --- pure: what a command does to kubecfg's objects ----------------------------------------------------------


class KubecfgError(KubeplayError):
    """A kubecfg command that cannot be done (a name taken, an object not found): nothing was changed."""


def created_objects(desired: Desired, path: Path, file: str) -> list[KubecfgObject]:
    """The file's objects for ``create PATH``: all of the path's kind, no secret-looking env value (a record is a
    label, and no label holds a secret). Raises InputError naming the file and object."""
    objects: list[KubecfgObject] = [*desired.pods, *desired.controllers, *desired.services]
    problems = [
        Problem(file, f"is a {records.kind_of(o)} object: create it with /{records.kind_of(o)}", o.source.line, o.name)
        for o in objects
        if records.kind_of(o) != path.resource
    ]
    problems += [
        Problem(
            file,
            f"env {env} looks secret: kubecfg mode keeps objects in labels on the minions, which never "
            "hold a secret; apply its manifest with kubeplay apply",
            o.source.line,
            o.name,
        )
        for o in objects
        for env in _secret_env(o)
    ]
    if not objects:
        problems.append(Problem(file, f"holds no object to create in /{path.resource}"))
    if problems:
        raise InputError(problems)
    return objects


def _secret_env(obj: KubecfgObject) -> list[str]:
    spec: PodSpec | None = obj.spec if isinstance(obj, Pod) else None
    if isinstance(obj, ReplicationController):
        spec = obj.template.spec
    return [e.name for c in (spec.containers if spec else ()) for e in c.env if looks_secret(e.name)]


def taken(obj: KubecfgObject, mine: Sequence[KubecfgObject], observed: Observed, services: Mapping[str, str]) -> str:
    """Why ``obj``'s name is taken (by kubecfg's own objects, a pod or controller on the cluster, a service in the
    rules; of any project), or ""."""
    kind = records.kind_of(obj)
    if any(records.kind_of(o) == kind and o.name == obj.name for o in mine):
        return f"{kind}/{obj.name} already exists"
    if isinstance(obj, Pod):
        found = next((p for p in observed.pods if p.name == obj.name), None)
    elif isinstance(obj, ReplicationController):
        found = next((p for p in observed.pods if p.controller == obj.name), None)
    else:
        project = services.get(obj.name)
        return f"{kind}/{obj.name} already exists (project {project})" if project else ""
    return f"{kind}/{obj.name} already exists (on {found.minion}, project {found.project})" if found else ""


def kubecfg_view(observed: Observed, project: str, mine: Sequence[KubecfgObject]) -> Observed:
    """The cluster as kubecfg's run plans it: the project's pods that are not kubecfg's (neither one of its pods
    nor a replica of one of its controllers) are seen as another project's, so they are never acted on and still
    hold their ports and resources."""
    pods = {o.name for o in mine if isinstance(o, Pod)}
    controllers = {o.name for o in mine if isinstance(o, ReplicationController)}
    other = f"{project} (not kubecfg's)"
    return Observed(
        {
            name: replace(
                m,
                containers=tuple(
                    c
                    if c.project != project or c.pod in pods or c.controller in controllers
                    else replace(c, project=other)
                    for c in m.containers
                ),
                volumes=tuple(
                    v if v[2] != project or v[1] in pods or v[1].rsplit("-", 1)[0] in controllers else (*v[:2], other)
                    for v in m.volumes
                ),
            )
            for name, m in observed.minions.items()
        }
    )


# --- pure: kubecfg's tables -------------------------------------------------------------------------------------

MIN_WIDTH, PADDING = 20, 3
"""kubecfg's tabwriter: every column but the last at least 20 wide, 3 spaces after its widest cell."""


def table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """kubecfg's table: the header, a row of ``----------`` under each column, then the rows."""
    lines = [list(columns), ["-" * 10] * len(columns), *(list(r) for r in rows)]
    widths = [max(MIN_WIDTH, max(len(line[i]) for line in lines) + PADDING) for i in range(len(columns) - 1)]
    return "\n".join(
        "".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + line[-1] for line in lines
    )


POD_COLUMNS = ("ID", "Image(s)", "Host", "Labels", "Status")
CONTROLLER_COLUMNS = ("ID", "Image(s)", "Selector", "Replicas")
SERVICE_COLUMNS = ("Name", "Labels", "Selector", "IP", "Port")
STATUS_COLUMNS = ("Status",)


def pod_table(rows: Sequence[views.PodRow]) -> str:
    return table(POD_COLUMNS, [(r.name, ",".join(r.images), r.host, r.labels_text, r.status) for r in rows])


def controller_table(rows: Sequence[views.ControllerRow]) -> str:
    cells = [(r.name, ",".join(r.images), format_selector(r.selector), str(r.desired)) for r in rows]
    return table(CONTROLLER_COLUMNS, cells)


def service_table(rows: Sequence[views.ServiceRow]) -> str:
    cells = [
        (
            r.name,
            format_selector(r.labels),
            format_selector(r.selector),
            r.ip,
            ",".join(p.split("/")[0] for p in r.ports),
        )
        for r in rows
    ]
    return table(SERVICE_COLUMNS, cells)


# --- the command ---------------------------------------------------------------------------------------------


class KubecfgScreen:
    """What a person sees of a kubecfg run (reconcile.ApplyView): no plan and no question (kubecfg asked none),
    each change as a line on stderr; stdout is kubecfg's table."""

    def progress(self, message: str) -> None:
        render.progress(message)

    def planned(self, plan: Plan) -> None:
        for a in plan.actions:  # (kubecfg's "manifests" are the objects it created)
            render.progress(f"{a.minion}: {a.verb} {a.subject}: {a.reason.replace('the manifests', 'kubecfg')}")
        for note in plan.notes:
            render.progress(note)

    def network_planned(self, syncs: Sequence[MinionSync], *, check: bool) -> None:
        pass

    def confirm(self, plan: Plan, syncs: Sequence[MinionSync]) -> bool:
        return True


def kubecfg(args: argparse.Namespace) -> int:
    path: Path = args.path
    problem = usage_problem(args.verb, path, args.config)
    if args.limit:
        problem = "kubecfg mode acts on the whole cluster: --limit is not taken"
    if problem:
        render.error(problem)
        return EXIT_USAGE
    if args.host:
        render.warning(
            f"-h {args.host} is ignored: kubeplay has no apiserver, it acts on the minions of {args.inventory}"
        )
    files = [args.config] if args.config else []
    extra_vars = reconcile.parse_extra_vars(args.extra_vars)
    inputs = reconcile.load(files, args.inventory, extra_vars, None, args.project, fallback_project=DEFAULT_PROJECT)
    created = created_objects(inputs.desired, path, args.config) if args.verb == "create" else []
    inputs = replace(inputs, desired=Desired())
    options = reconcile.ApplyOptions(scheduler=get_scheduler("default"), forks=args.forks, allow_empty=True)
    lock = LockRequest(this_process(args.command_line[1:]), args.lock_timeout)
    connect = connector_for(args, inputs)
    with reconcile.observe(inputs, connect, args.forks, network=True, lock=lock, say=render.progress) as seen:
        warn_ignored(seen.observed)
        code, shown = _run(args, inputs, seen, options, created)
    render.result(shown)
    return code


def _run(
    args: argparse.Namespace,
    inputs: reconcile.Inputs,
    seen: reconcile.Observation,
    options: reconcile.ApplyOptions,
    created: Sequence[KubecfgObject],
) -> tuple[int, str]:
    """Read kubecfg's records, change them as the verb says, reconcile; the exit code and the table to show."""
    path: Path = args.path
    project = inputs.project
    merged = records.merge(records.read(seen.connections, args.forks))
    for warning in merged.warnings:
        render.warning(warning)
    mine = merged.of_project(project)
    gone = _target(mine, path, seen.observed) if args.verb == "delete" else None
    now = [*mine, *created] if gone is None else [o for o in mine if o is not gone]
    _refuse_taken(created, mine, seen)
    inputs, seen, run = _plan(inputs, seen, options, now, [*mine, *created], gone)  # raises before any change
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    new = [records.record_of(o, project, stamp) for o in created]
    missing = {m: (*merged.missing.get(m, ()), *new) for m in seen.connections}
    errors = records.write(seen.connections, missing, args.forks)
    if errors:
        raise KubecfgError("; ".join(errors))
    outcome = reconcile.carry_out(inputs, seen, run, options, KubecfgScreen())
    code = apply_exit_code(outcome, detailed=False)
    if gone is not None and not outcome.failed:
        record = merged.records[records.record_of(gone, project, "").volume]
        errors = records.remove(seen.connections, [record], args.forks)
        for error in errors:
            render.error(error)
        code = EXIT_ERROR if errors else code
    _report(outcome)
    return code, _shown(args, seen, outcome, [*merged.records.values(), *new], created, gone)


def _target(mine: Sequence[KubecfgObject], path: Path, observed: Observed) -> KubecfgObject:
    """The object ``delete PATH`` removes; KubecfgError when kubecfg made none of that name, or a minion is
    unreachable (it keeps a copy of the record, which would bring the object back)."""
    found = next((o for o in mine if records.kind_of(o) == path.resource and o.name == path.name), None)
    if found is None:
        raise KubecfgError(f"{path.resource}/{path.name} not found among what kubecfg created")
    if observed.unreachable:
        raise KubecfgError(
            f"{', '.join(observed.unreachable)} unreachable: it keeps kubecfg's record of {path.resource}/{path.name}, "
            "which would bring it back; delete it when every minion answers"
        )
    return found


def _refuse_taken(created: Sequence[KubecfgObject], mine: Sequence[KubecfgObject], seen: reconcile.Observation) -> None:
    services = observed_projects(seen.networks)
    reasons = [why for o in created if (why := taken(o, mine, seen.observed, services))]
    if reasons:
        raise KubecfgError("; ".join(reasons) + ": nothing was created")


def _plan(
    inputs: reconcile.Inputs,
    seen: reconcile.Observation,
    options: reconcile.ApplyOptions,
    now: Sequence[KubecfgObject],
    owned: Sequence[KubecfgObject],
    gone: KubecfgObject | None,
) -> tuple[reconcile.Inputs, reconcile.Observation, reconcile.RunPlan]:
    """Plan kubecfg's objects ``now`` as apply would, removing only what kubecfg owned and is gone: the inputs and
    the view of the cluster to carry it out with, and the plan. Changes nothing; raises what apply's plan raises
    (a name of another project, colliding portal IPs, ...)."""
    desired = records.desired_of(now)
    inputs = replace(inputs, desired=desired)
    seen = replace(seen, observed=kubecfg_view(seen.observed, inputs.project, owned))
    run = reconcile.plan(inputs, seen, options)
    removed = frozenset([gone.name] if isinstance(gone, Service) else [])
    services = plan_services(
        desired.services, seen.observed, seen.networks, inputs.inventory, inputs.project, removed=removed
    )
    serving = serving_pods(seen.observed.pods, run.probe_failures)
    network_now = plan_sync(services, seen.observed.minions, serving, seen.networks)
    return inputs, seen, replace(run, services=services, network_now=network_now)


def _report(outcome: reconcile.Outcome) -> None:
    """What failed, on stderr (kubecfg's stdout is its table)."""
    plan = outcome.plan.pods
    for pod, why in sorted(plan.unschedulable.items()):
        render.error(f"pod {pod} is unschedulable: {why}")
    for f in plan.failures:
        render.error(f"{f.minion}: {f.pod}: {f.reason}")
    for r in outcome.results:
        if not r.ok:
            render.error(f"{r.action.minion}: {r.action.verb} {r.action.subject} failed: {r.error}")
    for n in outcome.network:
        if not n.ok:
            render.error(f"{n.minion}: {n.what} failed: {n.error}")
    for name, why in sorted(plan.unreachable.items()):
        render.warning(f"{name} unreachable: {why}")


def _shown(
    args: argparse.Namespace,
    seen: reconcile.Observation,
    outcome: reconcile.Outcome,
    recorded: Sequence[Record],
    created: Sequence[KubecfgObject],
    gone: KubecfgObject | None,
) -> str:
    """The table the verb prints, of the cluster as it is after the run: every row (list), the one named (get), the
    objects created (create), the status (delete)."""
    path: Path = args.path
    if args.verb == "delete":
        return table(STATUS_COLUMNS, [("success",)])
    names = {path.name} if args.verb == "get" else {o.name for o in created} if args.verb == "create" else None
    objects = [(r.project, o) for r in recorded if (o := _decoded(r)) is not None and o is not gone]
    if path.resource == PODS:
        after = relist(seen.observed, seen.connections, args.forks)
        pods = [*views.pod_rows(after), *_waiting([o for _, o in objects if isinstance(o, Pod)], after)]
        return pod_table(_named(pods, names, path))
    if path.resource == CONTROLLERS:
        controllers = [(p, o) for p, o in objects if isinstance(o, ReplicationController)]
        live = views.live_controller_rows(relist(seen.observed, seen.connections, args.forks), controllers)
        return controller_table(_named(live, names, path))
    networks = {s.minion: MinionNetwork(s.minion, s.desired) for s in outcome.syncs} or dict(seen.networks)
    known = observed_portals(networks)
    services = [o for _, o in objects if isinstance(o, Service) and o.name in known]
    rows = views.service_rows(services, known, known, observed_services(networks))
    return service_table(_named(rows, names, path))


def _waiting(pods: Sequence[Pod], observed: Observed) -> list[views.PodRow]:
    """kubecfg's pods on no reachable minion: Pending, with no host (none had room), or Unknown while a minion is
    unreachable (it may be there)."""
    on = {p.name for p in observed.pods}
    status = "Unknown" if observed.unreachable else "Pending"
    return [
        views.PodRow(p.name, tuple(c.image for c in p.spec.containers), "", "", p.labels, status)
        for p in pods
        if p.name not in on
    ]


Row = TypeVar("Row", views.PodRow, views.ControllerRow, views.ServiceRow)


def _named(rows: Sequence[Row], names: set[str] | None, path: Path) -> list[Row]:
    """The rows of ``names`` (all for None); KubecfgError when get names one that is not there."""
    found = [r for r in rows if names is None or r.name in names]
    if path.name and not found:
        raise KubecfgError(f"{path.resource}/{path.name} not found")
    return found


def _decoded(record: Record) -> KubecfgObject | None:
    try:
        return records.decode(record)
    except (ValueError, TypeError, AssertionError):
        return None
