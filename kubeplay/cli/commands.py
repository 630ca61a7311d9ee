"""The commands: each turns its arguments into the run's stages (reconcile.py), shows the result and returns the
exit code."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kubeplay import reconcile
from kubeplay.cli import render
from kubeplay.cli.args import CONTROLLER_KINDS, ENDPOINT_KINDS, MINION_KINDS, SERVICE_KINDS
from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE, apply_exit_code
from kubeplay.connectors.base import Connector
from kubeplay.errors import InputError, Problem
from kubeplay.model import DEFAULT_PROJECT, Inventory, Observed
from kubeplay.model import ReplicationController as RC
from kubeplay.planner.scheduler import get_scheduler
from kubeplay.selectors import Selector, parse_selector

if TYPE_CHECKING:
    from kubeplay.connectors.kept import KeptConnections
    from kubeplay.kubelet.lock import LockRequest


def load_inputs(args: argparse.Namespace, files: list[str], project: str | None = None) -> reconcile.Inputs:
    """The manifests, inventory and project a command's -f, -i, -e, --limit and -p name, warnings shown."""
    extra_vars = reconcile.parse_extra_vars(args.extra_vars)
    inputs = reconcile.load(
        files, args.inventory, extra_vars, getattr(args, "limit", None), project or getattr(args, "project", None)
    )
    for warning in inputs.warnings:
        render.warning(warning)
    return inputs


def connector_for(args: argparse.Namespace, inputs: reconcile.Inputs) -> Connector:
    """How a command connects to the inventory's minions (traced at -vv): through the connections it started
    early, when it did (cli/early.py)."""
    early: Callable[[Inventory], Connector | None] | None = getattr(args, "early_connector", None)
    connect = early(inputs.inventory) if early is not None else None
    if connect is not None:
        return connect
    connect = reconcile.connector(inputs.inventory, args.accept_new_host_keys, args.timeout, render.warning)
    if render.verbosity >= render.TRACE:
        from kubeplay.connectors.trace import traced

        connect = traced(connect, render.trace)
    return connect


def _lock(args: argparse.Namespace) -> LockRequest:
    """The lock a run that changes minions holds on each of them (not taken by get, validate, --check)."""
    from kubeplay.kubelet.lock import LockRequest, this_process

    return LockRequest(this_process(), args.lock_timeout)


def apply(args: argparse.Namespace, inputs: reconcile.Inputs | None = None) -> int:
    """`kubeplay apply`; ``inputs``: the desired state already loaded (scale --check), instead of reading -f."""
    if args.every is not None:
        from kubeplay.cli.loop import every

        return every(args, apply_once)
    from kubeplay.cli import runlog  # (the --log-file lines: not for validate)

    with runlog.opened(args.log_file, args.command_line, runlog.project_name(args)) as log:
        _, outcome = apply_once(args, log.event, inputs=inputs)
        assert outcome is not None
        code = apply_exit_code(outcome, args.detailed_exitcode)
        log.end(code, time.monotonic() - log.began, runlog.counts(outcome))
    return code


def _never() -> bool:
    return False


def apply_once(
    args: argparse.Namespace,
    on_event: reconcile.EventSink,
    kept: KeptConnections | None = None,
    stopping: Callable[[], bool] = _never,
    inputs: reconcile.Inputs | None = None,
) -> tuple[reconcile.Inputs, reconcile.Outcome | None]:
    """Load, observe, plan, show, ask and change, as `kubeplay apply` does once: the inputs and the outcome (None
    when ``stopping`` said so once the cluster was observed: then nothing was changed). ``kept``: the connections
    to keep open for the next round (apply --every); ``inputs``: the desired state already loaded, else -f is read."""
    try:
        scheduler = get_scheduler(args.scheduler)
    except ValueError as exc:
        raise InputError([Problem("--scheduler", str(exc))]) from exc
    from kubeplay.cli import live

    inputs = inputs or load_inputs(args, args.filename)
    options = reconcile.ApplyOptions(
        scheduler=scheduler,
        forks=args.forks,
        max_unavailable=args.max_unavailable,
        check=args.check,
        ask=not args.yes and args.every is None and sys.stdin.isatty(),
        allow_empty=args.allow_empty,
        pull_progress=live.wanted(args.output),
    )
    screen = render.ApplyScreen(args.output, diff=args.diff, check=args.check, show_secrets=args.show_secrets)

    def stages(seen: reconcile.Observation) -> reconcile.Outcome | None:
        if stopping():
            return None
        with live.live_apply(screen, args.output, options.ask, _shown(on_event)) as (view, sink):
            return reconcile.apply(inputs, seen, options, view, sink)

    return inputs, _change(args, inputs, stages, kept)


def _change(
    args: argparse.Namespace,
    inputs: reconcile.Inputs,
    stages: Callable[[reconcile.Observation], reconcile.Outcome | None],
    kept: KeptConnections | None = None,
) -> reconcile.Outcome | None:
    """Connect, lock (unless --check), observe, run a command's stages (plan, show, ask, change) and show the
    outcome: the one path of every command that changes minions (apply, delete). None when the stages stopped
    before changing anything (apply --every being told to stop)."""
    render.progress(f"observing {len(inputs.inventory.minions)} minions")
    began = time.monotonic()
    connect = connector_for(args, inputs)
    connect = kept.through(connect) if kept else connect
    lock = None if args.check else _lock(args)
    with reconcile.observe(inputs, connect, args.forks, network=True, lock=lock, say=render.progress) as seen:
        warn_ignored(seen.observed)
        _observed_detail(seen.observed, time.monotonic() - began)
        outcome = stages(seen)
    if outcome is not None and not outcome.declined:
        show_secrets = getattr(args, "show_secrets", False)
        diff = getattr(args, "diff", False)
        render.apply_outcome(outcome, inputs.inventory, args.output, diff=diff, show_secrets=show_secrets)
    return outcome


def _observed_detail(observed: Observed, seconds: float) -> None:
    """-v: what each minion holds, and how long observing took."""
    for m in observed.minions.values():
        held = f"{len(m.pods)} pods, {len(m.containers)} containers" if m.reachable else f"unreachable: {m.error}"
        render.detail(f"{m.name}: {held}")
    render.detail(f"observed in {seconds:.2f} s")


def _shown(on_event: reconcile.EventSink) -> reconcile.EventSink:
    """``on_event``, and with -v each event's duration on stderr."""

    def shown(event: reconcile.Event) -> None:
        from kubeplay.kubelet.execute import Pulling, Result  # (the executor's: loaded once the pods change)

        on_event(event)
        if isinstance(event, Pulling):
            return
        if isinstance(event, Result):
            what = f"{event.action.minion}: {event.action.verb} {event.action.subject}"
        else:
            what = f"{event.minion}: {event.what}"
        render.detail(f"{what} took {event.seconds:.2f} s")

    return shown


def get(args: argparse.Namespace) -> int:
    try:
        selector = parse_selector(args.selector) if args.selector else None
    except ValueError as exc:
        raise InputError([Problem("--selector", str(exc))]) from exc
    inputs = load_inputs(args, args.filename, args.project or DEFAULT_PROJECT)  # -p filters, it is not resolved
    network = args.kind in SERVICE_KINDS

    def look(connect: Connector) -> Observed:
        """Observe the cluster and show the table once."""
        with reconcile.observe(inputs, connect, args.forks, network=network) as seen:
            warn_ignored(seen.observed)
            _show(
                args.kind, args.output, inputs, seen, selector, args.project, live=not args.filename, forks=args.forks
            )
        report_unreachable(seen.observed)
        return seen.observed

    if args.watch:
        from kubeplay.cli.watch import watch

        return watch(look, connector_for(args, inputs), args.interval, " ".join(args.command_line))
    return unreachable_or(EXIT_OK, look(connector_for(args, inputs)))


def report_unreachable(observed: Observed) -> None:
    """What a command that only looks says of the minions it could not reach."""
    for name, why in ((n, observed.minions[n].error) for n in observed.unreachable):
        if name in observed.refused:
            render.error(f"{name}: {why}; its pods are Unknown")
        else:
            render.warning(f"{name} unreachable, its pods are Unknown: {why}")


def _show(
    kind: str,
    output: str,
    inputs: reconcile.Inputs,
    seen: reconcile.Observation,
    selector: Selector | None,
    project: str | None,
    live: bool = False,
    forks: int = 20,
) -> None:
    """``live`` (no -f): controllers and services as the cluster tells them (kubecfg's records, container labels,
    the rules' comments)."""
    from kubeplay.cli import views  # (the tables of get: not loaded by apply)
    from kubeplay.proxy.plan import observed_portals, observed_services, serving_pods
    from kubeplay.proxy.portals import allocate_portals

    desired, observed = inputs.desired, seen.observed
    if kind in MINION_KINDS:
        minions = views.minion_rows(inputs.inventory, observed)
        render.minions([r for r in minions if selector is None or selector.matches(r.labels)], output)
    elif kind in CONTROLLER_KINDS and live:
        from kubeplay.kubelet import records  # (kubecfg's records: only for the live listing)

        merged = records.merge(records.read(seen.connections, forks))
        recorded = [(r.project, o) for v, r in merged.records.items() if isinstance(o := merged.objects.get(v), RC)]
        render.controllers(views.live_controller_rows(observed, recorded), output)
    elif kind in CONTROLLER_KINDS:
        render.controllers(views.controller_rows(desired, observed), output)
    elif kind in SERVICE_KINDS:
        known = observed_portals(seen.networks)
        portals = allocate_portals(desired.services, known, inputs.inventory.portal_net)
        rows = views.service_rows(desired.services, portals, known, observed_services(seen.networks) if live else None)
        render.services([r for r in rows if selector is None or selector.matches(r.labels)], output)
    elif kind in ENDPOINT_KINDS:
        render.endpoints(views.endpoint_rows(desired.services, serving_pods(observed.pods, ())), output)
    else:
        pods = [*views.pod_rows(observed), *views.unknown_rows(desired, observed, inputs.project)]
        render.pods(
            [r for r in pods if (selector is None or selector.matches(r.labels)) and project in (None, r.project)],
            output,
        )


DELETE_WHAT = "name what to delete: kubeplay delete pod NAME..., or kubeplay delete -f PATH"


def delete(args: argparse.Namespace) -> int:
    """Remove pods by name, or what manifests declare, through the same stages as apply (--limit, --check,
    the question, the project)."""
    names = list(args.names)
    if args.kind is None and names:
        raise InputError([Problem("delete", f"unknown kind {names[0]!r}: {DELETE_WHAT}")])
    if not names and not args.filename:
        raise InputError([Problem("delete", DELETE_WHAT)])
    inputs = load_inputs(args, args.filename)
    options = reconcile.ApplyOptions(
        scheduler=get_scheduler("default"), forks=args.forks, check=args.check, ask=not args.yes and sys.stdin.isatty()
    )
    screen = render.ApplyScreen(args.output, diff=False, check=args.check, nothing="nothing to delete")
    outcome = _change(args, inputs, lambda seen: reconcile.delete(inputs, seen, names, options, screen))
    assert outcome is not None  # (only apply --every stops before changing)
    for name in outcome.plan.missing:
        render.error(f"pod {name} of project {inputs.project} not found on any reachable minion acted on")
    return apply_exit_code(outcome, detailed=False)


def warn_ignored(observed: Observed) -> None:
    """What minions reported that was invalid, and is ignored (kubeplay.kubelet.observe.check_container)."""
    for name, minion in observed.minions.items():
        for warning in minion.warnings:
            render.warning(f"{name}: {warning}")


def unreachable_or(code: int, observed: Observed) -> int:
    """A minion that could not be reached makes an otherwise successful command exit 4; a refused host key, 1."""
    if code == EXIT_OK and observed.refused:
        return EXIT_ERROR
    return EXIT_UNREACHABLE if code == EXIT_OK and observed.unreachable else code


def validate(args: argparse.Namespace) -> int:
    inputs = load_inputs(args, args.filename)
    d = inputs.desired
    render.result(
        f"ok: project {inputs.project}: "
        f"{len(d.pods)} pods, {len(d.controllers)} replication controllers, {len(d.services)} services; "
        f"inventory {args.inventory}: {len(inputs.inventory.minions)} minions"
    )
    return EXIT_OK


def lab(args: argparse.Namespace) -> int:
    from kubeplay.lab import cluster

    if args.lab_command == "up":
        cluster.up(args.name, args.minions, args.inventory, render.progress)
    elif args.lab_command == "down":
        if not cluster.down(args.name, render.progress):
            render.progress(f"no lab named {args.name!r}: nothing to remove")
        return EXIT_OK
    st = cluster.status(args.name)
    if st is None:
        render.error(f"no lab named {args.name!r} is up")
        return EXIT_ERROR
    render.lab_status(st)
    return EXIT_OK if st.healthy else EXIT_ERROR
