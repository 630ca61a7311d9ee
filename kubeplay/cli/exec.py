"""`kubeplay exec POD -- COMMAND...`: run a command in a pod's container, its exit code kubeplay's (the body is in
attach.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubeplay.cli.args import command, connect_args, inventory_args, verbosity_args
from kubeplay.cli.logs import container_arg

if TYPE_CHECKING:
    from kubeplay.cli.main import Subparsers


def add_parsers(sub: Subparsers) -> None:
    run = sub.add_parser(
        "exec",
        help="run a command in a pod's container; its exit code is kubeplay's",
        description="Run COMMAND in a container of POD (`docker exec` over the minion's SSH connection). "
        "Put -- before the command: kubeplay exec redis -- redis-cli ping",
    )
    run.add_argument("pod", metavar="POD")
    run.add_argument("argv", nargs="+", metavar="COMMAND")
    container_arg(run)
    run.add_argument("-i", "--stdin", action="store_true", help="pass this terminal's input to the command")
    run.add_argument("-t", "--tty", action="store_true", help="run it on a pseudo-terminal (with -i: interactive)")
    inventory_args(run, short=False)
    connect_args(run)
    verbosity_args(run)
    run.set_defaults(func=command("exec_command", "kubeplay.cli.attach"))
