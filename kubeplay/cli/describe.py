"""`kubeplay describe pod|rc|service|minion NAME [-f PATH]`: everything known about one object (the body is in
describing.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubeplay.cli.args import (
    CONTROLLER_KINDS,
    MINION_KINDS,
    POD_KINDS,
    SERVICE_KINDS,
    command,
    connect_args,
    inventory_args,
    project_arg,
    verbosity_args,
)

if TYPE_CHECKING:
    from kubeplay.cli.main import Subparsers

KINDS = (*POD_KINDS, *CONTROLLER_KINDS, *SERVICE_KINDS, *MINION_KINDS)


def add_parsers(sub: Subparsers) -> None:
    describe = sub.add_parser(
        "describe",
        help="everything known about one pod, replication controller, service or minion",
        description="With -f, what the manifests declare but the cluster does not hold (yet) is described as "
        "Pending, with the reason: where the next apply puts it, or why it fits on no minion.",
    )
    describe.add_argument("kind", choices=KINDS)
    describe.add_argument("name", metavar="NAME")
    describe.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        metavar="PATH",
        help="manifests (replication controllers live only in them; declared objects not yet applied show as Pending)",
    )
    inventory_args(describe)
    connect_args(describe)
    project_arg(describe)
    verbosity_args(describe)
    describe.set_defaults(func=command("describe", "kubeplay.cli.describing"))
