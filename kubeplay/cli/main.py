"""The `kubeplay` command line: argument parsing and the one error boundary.

Each subcommand is a function of commands.py, imported only when it runs (so `--help` loads nothing else);
everything shown to a person is rendered by render.py (results to stdout, progress to stderr). Exit codes are
in exitcodes.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from kubeplay import __version__
from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE
from kubeplay.errors import InputError, KubeplayError

DEFAULT_INVENTORY = os.environ.get("KUBEPLAY_INVENTORY", "inventory/lab.ini")

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits EXIT_USAGE (argparse's own 2 is --detailed-exitcode's "changes made")."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _inventory_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-i",
        "--inventory",
        default=DEFAULT_INVENTORY,
        help="inventory file or folder, Ansible INI or YAML (default: $KUBEPLAY_INVENTORY, else inventory/lab.ini)",
    )
    p.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra variable for templates and the inventory (repeatable)",
    )


def _connect_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", default=None, metavar="PATTERN", help="only act on minions matching this Ansible pattern")
    p.add_argument("--forks", type=int, default=20, help="minions handled in parallel (default 20)")
    p.add_argument("--timeout", type=float, default=10.0, help="SSH connect timeout in seconds (default 10)")
    p.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="accept and remember host keys never seen before (a changed key is always refused)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kubeplay",
        description="Pods, services and replication controllers (the 2014 Kubernetes model) on your Docker hosts.",
    )
    parser.add_argument("--version", action="version", version=f"kubeplay {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    apply = sub.add_parser("apply", help="make the minions match the manifests")
    apply.add_argument(
        "-f",
        "--filename",
        action="append",
        required=True,
        metavar="PATH",
        help="manifest file, folder (recursive) or - for stdin (repeatable)",
    )
    _inventory_args(apply)
    _connect_args(apply)
    apply.add_argument("--check", action="store_true", help="show the plan, change nothing")
    apply.add_argument("--diff", action="store_true", help="show a field-level diff of what changes")
    apply.add_argument("--yes", "-y", action="store_true", help="never ask for confirmation")
    apply.add_argument("-o", "--output", choices=["text", "json"], default="text")
    apply.add_argument(
        "--detailed-exitcode", action="store_true", help="exit 2 when changes were made (with --check: are pending)"
    )
    apply.add_argument("--scheduler", default="default", help="scheduler to place new pods (default: default)")
    apply.add_argument(
        "--max-unavailable", type=int, default=1, help="replicas a rolling update may take down at a time (default 1)"
    )
    apply.set_defaults(func=_cmd("apply"))

    get = sub.add_parser("get", help="list pods, replication controllers, services, endpoints")
    get.add_argument(
        "kind",
        choices=[
            "pods",
            "pod",
            "po",
            "replicationcontrollers",
            "replicationcontroller",
            "rc",
            "services",
            "service",
            "svc",
            "endpoints",
            "ep",
        ],
    )
    get.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        metavar="PATH",
        help="manifests (replication controllers and services live only in them)",
    )
    get.add_argument("--selector", "-l", default="", help="label selector, e.g. name=redis,tier!=db")
    get.add_argument("-o", "--output", choices=["table", "wide", "json", "yaml"], default="table")
    _inventory_args(get)
    _connect_args(get)
    get.set_defaults(func=_cmd("get"))

    delete = sub.add_parser("delete", help="remove a pod's containers now (the manifests decide on the next apply)")
    delete.add_argument("kind", choices=["pod", "pods", "po"])
    delete.add_argument("names", nargs="+", metavar="NAME")
    _inventory_args(delete)
    _connect_args(delete)
    delete.set_defaults(func=_cmd("delete"))

    validate = sub.add_parser("validate", help="check manifests and inventory without connecting anywhere")
    validate.add_argument("-f", "--filename", action="append", default=[], metavar="PATH")
    _inventory_args(validate)
    validate.set_defaults(func=_cmd("validate"))

    _lab_parser(sub)
    return parser


def _cmd(name: str) -> Command:
    def command(args: argparse.Namespace) -> int:
        from kubeplay.cli import commands

        func: Command = getattr(commands, name)
        return func(args)

    return command


def _lab_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    lab = sub.add_parser("lab", help="a local multi-minion cluster on this machine (root)")
    lab_sub = lab.add_subparsers(dest="lab_command", required=True)
    up = lab_sub.add_parser("up", help="bring the lab up, or repair a running one")
    up.add_argument("--minions", type=int, default=3, help="number of minions (default 3)")
    up.add_argument("--name", default="lab", help="lab name (default lab)")
    up.add_argument("--inventory", "-i", default="inventory/lab.ini", help="inventory file to write")
    st = lab_sub.add_parser("status", help="show the lab's minions, sshd, dockerd and addresses")
    st.add_argument("--name", default="lab")
    down = lab_sub.add_parser("down", help="remove everything the lab created")
    down.add_argument("--name", default="lab")
    lab.set_defaults(func=_cmd("lab"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    func: Command = args.func
    from kubeplay.cli import render
    from kubeplay.limits import environment_problems

    for problem in environment_problems():
        parser.error(problem)

    try:
        return func(args)
    except InputError as exc:
        render.input_error(exc)
        return EXIT_ERROR
    except KubeplayError as exc:
        render.error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        render.error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # the one boundary: a bug is one line and its own exit code, never a traceback
        render.internal_error(exc)
        return EXIT_INTERNAL
