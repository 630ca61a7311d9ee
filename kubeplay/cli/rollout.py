"""`kubeplay rollout status rc NAME -f PATH`: wait until every replica of a controller runs its current template.

It only looks: every --interval seconds it observes the minions (no lock, the connections kept open between looks)
and prints a line each time the progress changes ("web: 1 of 3 replicas updated, 1 of them running; 2 old"). It
exits 0 once the controller has its count of replicas, all made from the template in the manifests and running,
and 1 when --timeout passes first.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kubeplay.cli.args import (
    CONTROLLER_KINDS,
    MAX_TIMEOUT,
    command,
    connect_args,
    inventory_args,
    project_arg,
    seconds,
    verbosity_args,
)
from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_OK
from kubeplay.errors import InputError, Problem

if TYPE_CHECKING:
    from kubeplay.cli.main import Subparsers

DEFAULT_TIMEOUT = 300.0
DEFAULT_INTERVAL = 2.0


def add_parsers(sub: Subparsers) -> None:
    rollout = sub.add_parser("rollout", help="follow a replication controller's rolling update")
    verbs = rollout.add_subparsers(dest="rollout_command", required=True)
    status = verbs.add_parser("status", help="wait until every replica runs the current template (changes nothing)")
    status.add_argument("kind", choices=CONTROLLER_KINDS)
    status.add_argument("name", metavar="NAME")
    status.add_argument(
        "-f", "--filename", action="append", required=True, metavar="PATH", help="the manifests declaring it"
    )
    status.add_argument(
        "--timeout",
        dest="wait",
        type=seconds(24 * MAX_TIMEOUT),
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up (exit 1) after this long (default {DEFAULT_TIMEOUT:g})",
    )
    status.add_argument(
        "--interval",
        type=seconds(MAX_TIMEOUT),
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"look again after this long (default {DEFAULT_INTERVAL:g})",
    )
    inventory_args(status)
    connect_args(status, timeout_flag="--connect-timeout")
    project_arg(status)
    verbosity_args(status)
    status.set_defaults(func=command("status", "kubeplay.cli.rollout"))


def status(args: argparse.Namespace) -> int:
    import time

    from kubeplay import reconcile
    from kubeplay.cli import render
    from kubeplay.cli.commands import connector_for, load_inputs
    from kubeplay.connectors.kept import KeptConnections
    from kubeplay.planner.progress import rollout_progress

    inputs = load_inputs(args, args.filename)
    found = [rc for rc in inputs.desired.controllers if rc.name == args.name]
    if not found:
        known = ", ".join(rc.name for rc in inputs.desired.controllers) or "none"
        raise InputError([Problem("-f", f"no ReplicationController named {args.name!r} (found: {known})")])
    deadline = time.monotonic() + args.wait
    kept = KeptConnections()
    connect = kept.through(connector_for(args, inputs))
    said = ""
    try:
        while True:
            with reconcile.observe(inputs, connect, args.forks, network=False) as seen:
                progress = rollout_progress(found[0], seen.observed, inputs.project)
            kept.drop(seen.observed.unreachable)
            if progress.line() != said:
                said = progress.line()
                render.result(said)
            if progress.done:
                return EXIT_OK
            left = deadline - time.monotonic()
            if left <= 0:
                render.error(f"timed out after {args.wait:g} s: {said}")
                return EXIT_ERROR
            time.sleep(min(args.interval, left))
    finally:
        kept.close()
