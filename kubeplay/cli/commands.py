"""The commands: each runs the stages of a run in order and returns the exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kubeplay.cli import render
from kubeplay.cli.main import EXIT_CHANGED, EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE
from kubeplay.cli.views import pod_rows, unknown_rows
from kubeplay.errors import InputError, Problem
from kubeplay.kubelet.execute import Environment, MinionExecutor, Result, execute
from kubeplay.kubelet.observe import relist
from kubeplay.kubelet.probe import probe_all
from kubeplay.planner.pods import Options, Plan, plan
from kubeplay.planner.scheduler import get_scheduler
from kubeplay.pods.infra import INFRA_IMAGE
from kubeplay.proxy import sync as network_sync
from kubeplay.proxy.plan import (
    MinionNetwork,
    MinionSync,
    endpoint_rows,
    observed_portals,
    plan_services,
    plan_sync,
    service_rows,
    serving_pods,
)
from kubeplay.proxy.portals import allocate_portals
from kubeplay.proxy.sync import NetworkResult
from kubeplay.reconcile import Inputs, connector, load_inputs, observe_cluster, parse_extra_vars
from kubeplay.selectors import parse_selector


def _inputs(args: argparse.Namespace, files: list[str]) -> Inputs:
    return load_inputs(files, args.inventory, parse_extra_vars(args.extra_vars), getattr(args, "limit", None))


def _exit_code(
    plan_: Plan, results: list[Result], detailed: bool, changed: bool, network: Sequence[NetworkResult] = ()
) -> int:
    if plan_.unschedulable or plan_.failures or not all(r.ok for r in results) or not all(n.ok for n in network):
        return EXIT_ERROR
    if plan_.unreachable:
        return EXIT_UNREACHABLE
    return EXIT_CHANGED if detailed and changed else EXIT_OK


def apply(args: argparse.Namespace) -> int:
    try:
        scheduler = get_scheduler(args.scheduler)
    except ValueError as exc:
        raise InputError([Problem("--scheduler", str(exc))]) from exc
    inputs = _inputs(args, args.filename)
    connect = connector(inputs.inventory, args.accept_new_host_keys, args.timeout)
    render.progress(f"observing {len(inputs.inventory.minions)} minions")
    # each minion's rules and routes are read while its Docker is observed
    observed, session = observe_cluster(inputs, connect, args.forks, also=network_sync.read_minion_network)
    try:
        # services, before the pods: portals, env vars and hosts of new containers, pod network check
        networks = {n: net for n, net in session.also.items() if isinstance(net, MinionNetwork)}
        service_plan = plan_services(inputs.desired.services, observed, networks, inputs.inventory)
        probe_failures = probe_all(observed.pods, inputs.desired, session.connections, args.forks)
        the_plan = plan(
            inputs.desired,
            observed,
            inputs.inventory,
            Options(
                scheduler=scheduler,
                limit=inputs.limit,
                probe_failures=probe_failures,
                max_unavailable=args.max_unavailable,
                spread_selectors=tuple(s.selector for s in inputs.desired.services),
            ),
        )
        if args.output == "text":
            render.plan(the_plan, diff=args.diff, check=args.check)

        def syncs_before_pods() -> tuple[MinionSync, ...]:
            """The rules and routes as they would change with the pods as they are now (the pods' changes may add
            more): what --check shows and what the confirmation question counts."""
            return plan_sync(
                service_plan, observed.minions, serving_pods(observed.pods, probe_failures), networks, inputs.limit
            )

        if args.check:
            syncs = syncs_before_pods()
            if args.output == "json":
                render.plan_json(the_plan, [], inputs.inventory, syncs=syncs)
            else:
                render.network_plan(syncs, check=True)
            changed = the_plan.changes or any(s.changes for s in syncs)
            return _exit_code(the_plan, [], args.detailed_exitcode, changed)
        results: list[Result] = []
        now = observed
        if not args.yes and sys.stdin.isatty():
            preview = syncs_before_pods()
            if (the_plan.changes or any(s.changes for s in preview)) and not render.confirm(the_plan, preview):
                render.progress("nothing was changed")
                return EXIT_ERROR
        if the_plan.changes:
            environment = Environment(
                service_plan.env, service_plan.hosts, infra_image=inputs.inventory.infra_image or INFRA_IMAGE
            )
            results = execute(the_plan, session.connections, environment, render.progress, args.forks)
            now = relist(observed, session.connections, args.forks)
        # services, after the pods: endpoints, then each minion's rules and routes where they differ
        acted = {(a.minion, a.pod) for a in the_plan.actions}
        serving = serving_pods(now.pods, set(probe_failures) - acted)
        syncs = plan_sync(service_plan, now.minions, serving, networks, inputs.limit)
        if args.output == "text" and args.diff:
            render.network_plan(syncs, check=False)
        in_scope = {n: read for n, read in networks.items() if inputs.limit is None or n in inputs.limit}
        network_results = [
            *network_sync.read_failures(in_scope),
            *network_sync.write(syncs, session.connections, render.progress, args.forks),
        ]
    finally:
        session.close()
    if args.output == "json":
        render.plan_json(the_plan, results, inputs.inventory, syncs=syncs, network=network_results)
    else:
        render.recap(the_plan, results, inputs.inventory, network=network_results)
    changed = any(r.ok for r in results) or any(r.ok for r in network_results)
    return _exit_code(the_plan, results, args.detailed_exitcode, changed, network_results)


CONTROLLER_KINDS = ("replicationcontrollers", "replicationcontroller", "rc")
CONTROLLERS_LIVE_IN_MANIFESTS = (
    "replication controllers live in the manifests, not on the minions (kubeplay keeps no state of its own): "
    "name them with -f, e.g. kubeplay get rc -f manifests/"
)
SERVICE_KINDS = ("services", "service", "svc")
ENDPOINT_KINDS = ("endpoints", "ep")


def get(args: argparse.Namespace) -> int:
    try:
        selector = parse_selector(args.selector) if args.selector else None
    except ValueError as exc:
        raise InputError([Problem("--selector", str(exc))]) from exc
    if args.kind in CONTROLLER_KINDS and not args.filename:
        raise InputError([Problem("-f", CONTROLLERS_LIVE_IN_MANIFESTS)])
    inputs = _inputs(args, args.filename)
    observed, session = observe_cluster(
        inputs, connector(inputs.inventory, args.accept_new_host_keys, args.timeout), args.forks
    )
    try:
        networks = network_sync.read_networks(session.connections, args.forks) if args.kind in SERVICE_KINDS else {}
    finally:
        session.close()
    if args.kind in CONTROLLER_KINDS:
        render.controllers(inputs.desired, observed, args.output)
    elif args.kind in SERVICE_KINDS:
        known = observed_portals(networks)
        portals = allocate_portals(inputs.desired.services, known, inputs.inventory.portal_net)
        services = service_rows(inputs.desired.services, portals, known)
        render.services([r for r in services if selector is None or selector.matches(r.labels)], args.output)
    elif args.kind in ENDPOINT_KINDS:
        render.endpoints(endpoint_rows(inputs.desired.services, serving_pods(observed.pods, ())), args.output)
    else:
        rows = [*pod_rows(observed), *unknown_rows(inputs.desired, observed)]
        render.pods([r for r in rows if selector is None or selector.matches(r.labels)], args.output)
    for name, why in ((n, observed.minions[n].error) for n in observed.unreachable):
        render.warning(f"{name} unreachable, its pods are Unknown: {why}")
    return EXIT_UNREACHABLE if observed.unreachable else EXIT_OK


def delete(args: argparse.Namespace) -> int:
    inputs = _inputs(args, [])
    observed, session = observe_cluster(
        inputs, connector(inputs.inventory, args.accept_new_host_keys, args.timeout), args.forks
    )
    code = EXIT_OK
    try:
        for name in args.names:
            where = [p.minion for p in observed.pods if p.name == name]
            for minion in where:
                MinionExecutor(session.connections[minion], Environment()).remove_pod_by_name(name)
                render.result(f"pod {name} deleted on {minion}")
            if not where:
                render.error(f"pod {name} not found on any reachable minion")
                code = EXIT_ERROR
    finally:
        session.close()
    if code == EXIT_OK and observed.unreachable:
        return EXIT_UNREACHABLE
    return code


def validate(args: argparse.Namespace) -> int:
    inputs = _inputs(args, args.filename)
    d = inputs.desired
    render.result(
        f"ok: {len(d.pods)} pods, {len(d.controllers)} replication controllers, {len(d.services)} services; "
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
