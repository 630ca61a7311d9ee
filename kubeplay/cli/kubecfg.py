"""kubecfg mode: the 2014 walkthrough's own command lines, verbatim (`kubeplay kubecfg ...`, or the `kubecfg`
console script).

    kubecfg -c redis.json create /pods          kubecfg list /pods          kubecfg get /pods/redis
    kubecfg -c redisController.json create /replicationControllers          kubecfg delete /pods/redis

Only the parser lives here (argparse, so `--help` loads nothing else); the commands are in cli/kubecfg_run.py.
kubecfg's ``-h HOST`` named its apiserver: it is accepted and ignored (kubeplay has none; it acts on the minions of
the inventory), so its help is ``--help`` alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from kubeplay.cli.args import command, connect_args, inventory_args, lock_args, verbosity_args
from kubeplay.dataclass import dataclass

if TYPE_CHECKING:
    from kubeplay.cli.main import Subparsers

RESOURCES = {"pods": "pods", "replicationcontrollers": "replicationControllers", "services": "services"}
"""A path's first part, in any case -> the resource as kubecfg named it."""
VERBS = ("create", "list", "get", "delete")
DEFAULT_PROJECT = "kubecfg"
"""The project of what kubecfg mode creates, unless --project, kubeplay_project or $KUBEPLAY_PROJECT names one."""


@dataclass(frozen=True)
class Path:
    """A kubecfg path: ``/pods``, ``/replicationControllers/redisController``, ..."""

    resource: str
    name: str = ""

    def __str__(self) -> str:
        return f"/{self.resource}/{self.name}" if self.name else f"/{self.resource}"


def parse_path(text: str) -> Path:
    """``/RESOURCE`` or ``/RESOURCE/NAME`` (leading and trailing slashes optional, as kubecfg trimmed them); raises
    ArgumentTypeError (a usage error) for another resource or shape."""
    parts = text.strip("/").split("/")
    resource = RESOURCES.get(parts[0].lower())
    if resource is None or len(parts) > 2 or (len(parts) == 2 and not parts[1]):
        known = ", ".join(f"/{r}" for r in RESOURCES.values())
        raise argparse.ArgumentTypeError(f"expected /RESOURCE or /RESOURCE/NAME with a resource of {known}: {text!r}")
    return Path(resource, parts[1] if len(parts) == 2 else "")


def usage_problem(verb: str, path: Path, config: str | None) -> str | None:
    """Why the verb, path and -c do not go together, or None."""
    if verb in ("get", "delete") and not path.name:
        return f"{verb} needs a name: kubecfg {verb} {path}/NAME"
    if verb in ("create", "list") and path.name:
        return f"{verb} takes no name: kubecfg {'-c FILE ' if verb == 'create' else ''}{verb} /{path.resource}"
    if verb == "create" and not config:
        return f"create needs the file to create from: kubecfg -c FILE create {path}"
    if verb != "create" and config:
        return f"-c FILE is for create, not {verb}"
    return None


def add_parsers(sub: Subparsers) -> None:
    p = sub.add_parser(
        "kubecfg",
        add_help=False,
        help="the 2014 kubecfg command lines: -c FILE create /pods, list /pods, get /pods/NAME, delete /pods/NAME",
        description="kubecfg's verbs on /pods, /replicationControllers and /services. create adds the file's "
        "objects (and refuses one that exists), delete removes one; every run also keeps kubecfg's replication "
        "controllers at their counts, and prunes nothing else.",
    )
    p.add_argument("--help", action="help", help="show this help and exit")
    p.add_argument("-c", dest="config", metavar="FILE", help="the manifest to create from (create)")
    p.add_argument(
        "-h", dest="host", metavar="HOST", help="kubecfg's apiserver: accepted and ignored (the inventory is used)"
    )
    p.add_argument(
        "--project",
        default=None,
        metavar="NAME",
        help=f"the project of what kubecfg creates (default: kubeplay_project, $KUBEPLAY_PROJECT, {DEFAULT_PROJECT})",
    )
    inventory_args(p)
    connect_args(p)
    lock_args(p)
    verbosity_args(p)
    p.add_argument("verb", choices=VERBS)
    p.add_argument("path", type=parse_path, metavar="/RESOURCE[/NAME]")
    p.set_defaults(func=command("kubecfg", "kubeplay.cli.kubecfg_run"))


def main(argv: Sequence[str] | None = None) -> int:
    """The `kubecfg` console script: `kubeplay kubecfg ARGS`."""
    from kubeplay.cli.main import main as kubeplay

    return kubeplay(["kubecfg", *(sys.argv[1:] if argv is None else argv)])


def entry_point() -> NoReturn:
    """The `kubecfg` console script's process: ``main``, ended as every kubeplay process (cli/ending.py)."""
    from kubeplay.cli.main import entry_point as kubeplay

    kubeplay(["kubecfg", *sys.argv[1:]])


if __name__ == "__main__":
    entry_point()
