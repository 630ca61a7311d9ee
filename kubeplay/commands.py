"""The commands: each runs the stages of a run in order and returns the exit code."""

from __future__ import annotations

import argparse
import sys

from kubeplay import render
from kubeplay.cli import EXIT_CHANGED, EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE
from kubeplay.errors import InputError, Problem
from kubeplay.execute import Environment, MinionExecutor, Result, execute
from kubeplay.infra import INFRA_IMAGE
from kubeplay.plan import Options, Plan, plan
from kubeplay.probe import probe_all
from kubeplay.run import Inputs, connector, load_inputs, observe_cluster, parse_extra_vars
from kubeplay.scheduler import get_scheduler
from kubeplay.selectors import parse_selector
from kubeplay.status import pod_rows


def _inputs(args: argparse.Namespace, files: list[str]) -> Inputs:
    return load_inputs(files, args.inventory, parse_extra_vars(args.extra_vars), getattr(args, "limit", None))


def _exit_code(plan_: Plan, results: list[Result], detailed: bool, changed: bool) -> int:
    if plan_.unschedulable or plan_.failures or any(not r.ok for r in results):
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
    observed, session = observe_cluster(inputs, connect, args.forks)
    try:
        probe_failures = probe_all(observed.pods, inputs.desired, session.connections, args.forks)
        the_plan = plan(
            inputs.desired,
            observed,
            inputs.inventory,
            Options(scheduler=scheduler, limit=inputs.limit, probe_failures=probe_failures,
                    max_unavailable=args.max_unavailable),
        )
        if args.output == "text":
            render.plan(the_plan, diff=args.diff, check=args.check)
        if args.check or not the_plan.changes:
            if args.output == "json":
                render.plan_json(the_plan, [], inputs.inventory)
            return _exit_code(the_plan, [], args.detailed_exitcode, the_plan.changes)
        if not args.yes and sys.stdin.isatty() and not render.confirm(the_plan):
            render.progress("nothing was changed")
            return EXIT_ERROR
        environment = Environment(infra_image=inputs.inventory.infra_image or INFRA_IMAGE)
        results = execute(the_plan, session.connections, environment, render.progress, args.forks)
    finally:
        session.close()
    if args.output == "json":
        render.plan_json(the_plan, results, inputs.inventory)
    else:
        render.recap(the_plan, results, inputs.inventory)
    return _exit_code(the_plan, results, args.detailed_exitcode, any(r.ok for r in results))


def get(args: argparse.Namespace) -> int:
    try:
        selector = parse_selector(args.selector) if args.selector else None
    except ValueError as exc:
        raise InputError([Problem("--selector", str(exc))]) from exc
    inputs = _inputs(args, args.filename)
    observed, session = observe_cluster(inputs, connector(inputs.inventory, args.accept_new_host_keys, args.timeout),
                                        args.forks)
    session.close()
    if args.kind in ("replicationcontrollers", "replicationcontroller", "rc"):
        render.controllers(inputs.desired, observed, args.output)
    else:
        rows = [r for r in pod_rows(observed) if selector is None or selector.matches(r.labels)]
        render.pods(rows, args.output)
    for name, why in ((n, observed.minions[n].error) for n in observed.unreachable):
        render.warning(f"{name} unreachable, its pods are Unknown: {why}")
    return EXIT_UNREACHABLE if observed.unreachable else EXIT_OK


def delete(args: argparse.Namespace) -> int:
    inputs = _inputs(args, [])
    observed, session = observe_cluster(inputs, connector(inputs.inventory, args.accept_new_host_keys, args.timeout),
                                        args.forks)
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
