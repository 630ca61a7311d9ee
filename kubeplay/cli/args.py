"""What the subcommands share on the command line: argument groups, argparse types, and lazy commands.

A verb registers its parser with these (kept light: argparse only) and names its body with `command`, which
imports the module holding it only when the verb runs, so `--help` loads nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from kubeplay.cli.exitcodes import EXIT_USAGE

DEFAULT_INVENTORY = os.environ.get("KUBEPLAY_INVENTORY", "inventory/lab.ini")

Command = Callable[[argparse.Namespace], int]

POD_KINDS = ("pods", "pod", "po")
CONTROLLER_KINDS = ("replicationcontrollers", "replicationcontroller", "rc")
SERVICE_KINDS = ("services", "service", "svc")
ENDPOINT_KINDS = ("endpoints", "ep")
MINION_KINDS = ("minions", "minion", "nodes", "node", "no")
"""The names a person may give each kind of object (get, describe, scale, rollout), as kubectl's short names."""


class Parser(argparse.ArgumentParser):
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


def inventory_args(p: argparse.ArgumentParser, short: bool = True) -> None:
    """-i/--inventory and -e; without ``short``, --inventory only (where -i means something else: exec's stdin)."""
    p.add_argument(
        *(["-i"] if short else []),
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


def verbosity_args(p: argparse.ArgumentParser) -> None:
    said = p.add_mutually_exclusive_group()
    said.add_argument("-q", "--quiet", action="store_true", help="print only changes, warnings and errors")
    said.add_argument(
        "-v", "--verbose", action="count", default=0, help="more detail; -vv also every SSH and Docker call"
    )


def project_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-p",
        "--project",
        default=None,
        metavar="NAME",
        help="the project to act on (default: the inventory's kubeplay_project, else $KUBEPLAY_PROJECT, "
        "else the name of the first -f path's folder, else default)",
    )


def change_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help="show the plan, change nothing (takes no lock)")
    p.add_argument("--yes", "-y", action="store_true", help="never ask for confirmation")


def connect_args(p: argparse.ArgumentParser, timeout_flag: str = "--timeout") -> None:
    """--limit, --forks, the SSH connect timeout (``timeout_flag``, for a verb whose --timeout is another wait;
    ``args.timeout`` all the same) and --accept-new-host-keys."""
    p.add_argument("--limit", default=None, metavar="PATTERN", help="only act on minions matching this Ansible pattern")
    p.add_argument(
        "--forks", type=count(1, MAX_FORKS), default=20, help=f"minions handled in parallel, 1-{MAX_FORKS} (default 20)"
    )
    p.add_argument(
        timeout_flag,
        dest="timeout",
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


def lock_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lock-timeout",
        type=_seconds,
        default=60,
        metavar="SECONDS",
        help="wait this long for minions locked by another run, then exit 6 (default 60; 0: do not wait)",
    )


def interval(text: str) -> float:
    """--every's interval: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def command(name: str, module: str = "kubeplay.cli.commands") -> Command:
    """The command ``name`` of ``module``, imported when it runs."""

    def run(args: argparse.Namespace) -> int:
        func: Command = getattr(importlib.import_module(module), name)
        return func(args)

    return run
