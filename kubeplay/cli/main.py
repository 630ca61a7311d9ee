"""The `kubeplay` command line: argument parsing and the one error boundary.

Each subcommand's body is imported only when it runs (so `--help` loads nothing else); the shared argument groups
are in args.py; everything shown to a person is rendered by render.py (results to stdout, progress to stderr).
Exit codes are in exitcodes.py.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeAlias

from kubeplay import __version__
from kubeplay.cli.args import (
    CONTROLLER_KINDS,
    ENDPOINT_KINDS,
    MAX_TIMEOUT,
    MAX_UNAVAILABLE,
    MINION_KINDS,
    POD_KINDS,
    SERVICE_KINDS,
    Command,
    Parser,
    change_args,
    command,
    connect_args,
    count,
    interval,
    inventory_args,
    lock_args,
    project_arg,
    seconds,
    verbosity_args,
)
from kubeplay.cli.exitcodes import exit_code_for, interrupted
from kubeplay.errors import InputError, KubeplayError

Subparsers: TypeAlias = "argparse._SubParsersAction[Parser]"

VERB_MODULES: tuple[str, ...] = (
    "scale",
    "run",
    "rollout",
    "export",
    "graph",
    "kubecfg",
    "logs",
    "exec",
    "describe",
)
"""Modules of kubeplay.cli that register more verbs: each has ``add_parsers(sub: Subparsers) -> None`` (argparse
only; the verb's body is named with args.command, imported when it runs)."""


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser, with every verb's; with ``verb`` (one of VERBS), with that verb's alone (its
    usage still lists every verb), which parses a command line of that verb as the whole one does, usage, help and
    errors included, for a tenth of the work (building every verb's parser was 6-10 ms of each run)."""
    parser = Parser(
        prog="kubeplay",
        description="Pods, services and replication controllers (the 2014 Kubernetes model) on your Docker hosts.",
    )
    parser.add_argument("--version", action="version", version=f"kubeplay {__version__}")
    every = "{" + ",".join(VERBS) + "}"  # (what argparse would show for the verbs: VERBS, their parsers not made)
    sub = parser.add_subparsers(dest="command", required=True, metavar=None if verb is None else every)
    for name in VERBS if verb is None else (verb,):
        register = _CORE_PARSERS.get(name) or importlib.import_module(f"kubeplay.cli.{name}").add_parsers
        register(sub)
    return parser


def _apply_parser(sub: Subparsers) -> None:
    apply = sub.add_parser("apply", help="make the minions match the manifests")
    apply.add_argument(
        "-f",
        "--filename",
        action="append",
        required=True,
        metavar="PATH",
        help="manifest file, folder (recursive) or - for stdin (repeatable)",
    )
    inventory_args(apply)
    connect_args(apply)
    project_arg(apply)
    change_args(apply)
    lock_args(apply)
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
        type=interval,
        metavar="SECONDS",
        help="reconcile again and again, one round per interval, until SIGTERM or Ctrl-C (for a systemd unit)",
    )
    verbosity_args(apply)
    apply.set_defaults(func=command("apply", "kubeplay.cli.early"))


def _get_parser(sub: Subparsers) -> None:
    get = sub.add_parser("get", help="list pods, replication controllers, services, endpoints, minions")
    get.add_argument(
        "kind",
        choices=[*POD_KINDS, *CONTROLLER_KINDS, *SERVICE_KINDS, *ENDPOINT_KINDS, *MINION_KINDS],
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
    get.add_argument(
        "-w", "--watch", action="store_true", help="show it again every --interval seconds until Ctrl-C (exit 0)"
    )
    get.add_argument("--interval", type=seconds(MAX_TIMEOUT), default=2.0, metavar="SECONDS", help="for -w (default 2)")
    inventory_args(get)
    connect_args(get)
    verbosity_args(get)
    get.add_argument("-p", "--project", default=None, metavar="NAME", help="only pods of this project")
    get.set_defaults(func=command("get"))


def _delete_parser(sub: Subparsers) -> None:
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
    inventory_args(delete)
    connect_args(delete)
    lock_args(delete)
    verbosity_args(delete)
    project_arg(delete)
    change_args(delete)
    delete.add_argument("-o", "--output", choices=["text", "json"], default="text")
    delete.set_defaults(func=command("delete", "kubeplay.cli.early"))


def _validate_parser(sub: Subparsers) -> None:
    validate = sub.add_parser("validate", help="check manifests and inventory without connecting anywhere")
    validate.add_argument("-f", "--filename", action="append", default=[], metavar="PATH")
    inventory_args(validate)
    verbosity_args(validate)
    project_arg(validate)
    validate.set_defaults(func=command("validate"))


def _lab_parser(sub: Subparsers) -> None:
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
    lab.set_defaults(func=command("lab"))


_CORE_PARSERS: dict[str, Callable[[Subparsers], None]] = {
    "apply": _apply_parser,
    "get": _get_parser,
    "delete": _delete_parser,
    "validate": _validate_parser,
    "lab": _lab_parser,
}
"""The parsers of the verbs of this module (the others are in VERB_MODULES)."""
VERBS: tuple[str, ...] = (*_CORE_PARSERS, *VERB_MODULES)
"""Every verb, in the order `kubeplay --help` lists them (each of VERB_MODULES registers the verb of its name)."""


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(arguments[0] if arguments and arguments[0] in VERBS else None)
    args = parser.parse_args(arguments)
    args.command_line = ["kubeplay", *arguments]
    func: Command = args.func
    from kubeplay.cli import render
    from kubeplay.limits import environment_problems

    for problem in environment_problems():
        parser.error(problem)

    render.verbosity = render.QUIET if getattr(args, "quiet", False) else getattr(args, "verbose", 0)
    render.ended = False
    try:
        return func(args)
    except (Exception, KeyboardInterrupt) as exc:  # the one boundary: one message and its exit code, no traceback
        render.end()
        if interrupted(exc):  # (Ctrl-C, or what failed as it unwound the run: see exitcodes.interrupted)
            render.error("interrupted")
        elif isinstance(exc, InputError):
            render.input_error(exc)
        elif isinstance(exc, KubeplayError):
            render.error(str(exc))
        elif isinstance(exc, Exception):  # (always, a KeyboardInterrupt being interrupted)
            render.internal_error(exc)
        return exit_code_for(exc)


YOUNG_OBJECTS_PER_COLLECTION = 100_000
"""How many new objects the process's cyclic garbage collector lets come before it looks at them (Python's default
is 700): see ``entry_point``."""


def entry_point(argv: Sequence[str] | None = None) -> NoReturn:
    """The process's entry point (the `kubeplay` script, `python -m kubeplay.cli`): ``main``'s exit code.

    The garbage collector looks at new objects once per ``YOUNG_OBJECTS_PER_COLLECTION``: what a command imports
    (about 45,000 modules', classes' and functions' objects, that live as long as the process) otherwise made it
    collect some 60 times for nothing, a tenth of the imports' time; long runs (apply --every, get -w) are still
    collected.

    Once the command is done, what it made lives until the process ends: its objects are frozen out of the garbage
    collector, whose collections while the interpreter shuts down would otherwise walk them all and free nothing
    (about 50 ms of a no-op apply, a twentieth of its time). ``main`` itself, which tests call again and again in one
    process, leaves the collector alone.

    The process then ends with no thread of its own running (``ending.end_process``)."""
    gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, *gc.get_threshold()[1:])
    try:
        code: int | str | None = main(argv)
    except SystemExit as exc:  # a usage error, --help, --version: ended as any run (cli/ending.py)
        code = exc.code
    gc.freeze()
    from kubeplay.cli.ending import end_process

    end_process(code)
