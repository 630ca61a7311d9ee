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
from kubeplay.cli.exitcodes import EXIT_USAGE, exit_code_for
from kubeplay.errors import InputError, KubeplayError

DEFAULT_INVENTORY = os.environ.get("KUBEPLAY_INVENTORY", "inventory/lab.ini")

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits EXIT_USAGE (argparse's own 2 is --detailed-exitcode's "changes made")."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def count(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (a usage error otherwise, before anything runs)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    parse.__name__ = "count"
    return parse


def seconds(high: float) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds above 0 and at most ``high`` (not nan, inf or negative)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
        if not 0 < value <= high:  # also false for nan
            raise argparse.ArgumentTypeError(f"must be more than 0 and at most {high:g} seconds, got {text}")
        return value

    parse.__name__ = "seconds"
    return parse


MAX_FORKS = 1000
MAX_TIMEOUT = 3600.0
MAX_UNAVAILABLE = 10_000


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


def _verbosity_args(p: argparse.ArgumentParser) -> None:
    said = p.add_mutually_exclusive_group()
    said.add_argument("-q", "--quiet", action="store_true", help="print only changes, warnings and errors")
    said.add_argument(
        "-v", "--verbose", action="count", default=0, help="more detail; -vv also every SSH and Docker call"
    )


def _project_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-p",
        "--project",
        default=None,
        metavar="NAME",
        help="the project to act on (default: the inventory's kubeplay_project, else $KUBEPLAY_PROJECT, "
        "else the name of the first -f path's folder, else default)",
    )


def _change_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help="show the plan, change nothing (takes no lock)")
    p.add_argument("--yes", "-y", action="store_true", help="never ask for confirmation")


def _connect_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", default=None, metavar="PATTERN", help="only act on minions matching this Ansible pattern")
    p.add_argument(
        "--forks", type=count(1, MAX_FORKS), default=20, help=f"minions handled in parallel, 1-{MAX_FORKS} (default 20)"
    )
    p.add_argument(
        "--timeout",
        type=seconds(MAX_TIMEOUT),
        default=10.0,
        help=f"SSH connect timeout in seconds, up to {MAX_TIMEOUT:g} (default 10)",
    )
    p.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="accept and remember host keys never seen before (a changed key is always refused)",
    )


def _seconds(text: str) -> int:
    try:
        seconds = int(text)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds >= 0, got {text!r}")
    return seconds


def _lock_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lock-timeout",
        type=_seconds,
        default=60,
        metavar="SECONDS",
        help="wait this long for minions locked by another run, then exit 6 (default 60; 0: do not wait)",
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
    _project_arg(apply)
    _change_args(apply)
    _lock_args(apply)
    apply.add_argument("--diff", action="store_true", help="show a field-level diff of what changes")
    apply.add_argument(
        "--show-secrets",
        action="store_true",
        help="show env values whose names contain PASSWORD, TOKEN, SECRET or KEY (hidden by --diff and -o json)",
    )
    apply.add_argument(
        "--allow-empty",
        action="store_true",
        help="let manifests with no object remove every pod and service of the project (refused otherwise)",
    )
    apply.add_argument("-o", "--output", choices=["text", "json"], default="text")
    apply.add_argument(
        "--detailed-exitcode", action="store_true", help="exit 2 when changes were made (with --check: are pending)"
    )
    apply.add_argument("--scheduler", default="default", help="scheduler to place new pods (default: default)")
    apply.add_argument(
        "--max-unavailable",
        type=count(1, MAX_UNAVAILABLE),
        default=1,
        help="replicas a rolling update may take down at a time, at least 1 (default 1)",
    )
    apply.add_argument(
        "--log-file", metavar="PATH", help="append one JSON line per event (run start, each action, run end)"
    )
    apply.add_argument(
        "--every",
        type=_interval,
        metavar="SECONDS",
        help="reconcile again and again, one round per interval, until SIGTERM or Ctrl-C (for a systemd unit)",
    )
    _verbosity_args(apply)
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
    _verbosity_args(get)
    get.add_argument("-p", "--project", default=None, metavar="NAME", help="only pods of this project")
    get.set_defaults(func=_cmd("get"))

    delete = sub.add_parser(
        "delete", help="remove pods now, by name or as the manifests declare them (-f): pods, replicas, services"
    )
    delete.add_argument("kind", nargs="?", choices=["pod", "pods", "po"])
    delete.add_argument("names", nargs="*", metavar="NAME")
    delete.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        metavar="PATH",
        help="delete what these manifests declare: their pods, their controllers' replicas, their services' rules",
    )
    _inventory_args(delete)
    _connect_args(delete)
    _lock_args(delete)
    _verbosity_args(delete)
    _project_arg(delete)
    _change_args(delete)
    delete.add_argument("-o", "--output", choices=["text", "json"], default="text")
    delete.set_defaults(func=_cmd("delete"))

    validate = sub.add_parser("validate", help="check manifests and inventory without connecting anywhere")
    validate.add_argument("-f", "--filename", action="append", default=[], metavar="PATH")
    _inventory_args(validate)
    _verbosity_args(validate)
    _project_arg(validate)
    validate.set_defaults(func=_cmd("validate"))

    _lab_parser(sub)
    return parser


def _interval(text: str) -> float:
    """--every's interval: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


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
    args.command_line = ["kubeplay", *(sys.argv[1:] if argv is None else argv)]
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    func: Command = args.func
    from kubeplay.cli import render
    from kubeplay.limits import environment_problems

    for problem in environment_problems():
        parser.error(problem)

    render.verbosity = render.QUIET if getattr(args, "quiet", False) else getattr(args, "verbose", 0)
    try:
        return func(args)
    except (Exception, KeyboardInterrupt) as exc:  # the one boundary: one message and its exit code, no traceback
        if isinstance(exc, InputError):
            render.input_error(exc)
        elif isinstance(exc, KubeplayError):
            render.error(str(exc))
        elif isinstance(exc, KeyboardInterrupt):
            render.error("interrupted")
        else:
            render.internal_error(exc)
        return exit_code_for(exc)
