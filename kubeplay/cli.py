"""The `kubeplay` command line: argument parsing and the one error boundary. Output is rendered by render.py."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from kubeplay import __version__
from kubeplay.errors import InputError, KubeplayError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGED = 2
EXIT_UNREACHABLE = 4

Command = Callable[[argparse.Namespace], int]


def _lab_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    lab.set_defaults(func=_run_lab)


def _run_lab(args: argparse.Namespace) -> int:
    from kubeplay import render
    from kubeplay.lab import cluster

    say = render.progress
    if args.lab_command == "up":
        cluster.up(args.name, args.minions, args.inventory, say)
        st = cluster.status(args.name)
        assert st is not None
        render.lab_status(st)
        return EXIT_OK if st.healthy else EXIT_ERROR
    if args.lab_command == "status":
        st = cluster.status(args.name)
        if st is None:
            render.progress(f"no lab named {args.name!r} is up")
            return EXIT_ERROR
        render.lab_status(st)
        return EXIT_OK if st.healthy else EXIT_ERROR
    if not cluster.down(args.name, say):
        render.progress(f"no lab named {args.name!r}: nothing to remove")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubeplay",
        description="Pods, services and replication controllers (the 2014 Kubernetes model) on your Docker hosts.",
    )
    parser.add_argument("--version", action="version", version=f"kubeplay {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _lab_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    from kubeplay import render

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
        return 130


if __name__ == "__main__":
    sys.exit(main())
