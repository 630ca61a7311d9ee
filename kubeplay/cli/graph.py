"""`kubeplay graph`: the command line of the cluster's picture (the body is in picture.py, loaded when it runs)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kubeplay.cli.args import command, connect_args, inventory_args, project_arg, verbosity_args

if TYPE_CHECKING:
    from kubeplay.cli.main import Subparsers


def add_parsers(sub: Subparsers) -> None:
    graph: argparse.ArgumentParser = sub.add_parser(
        "graph", help="draw the cluster: minions holding their pods, services and their endpoints, controllers"
    )
    graph.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        metavar="PATH",
        help="manifests: their services, controllers and the pods not running anywhere (Pending) are drawn too",
    )
    graph.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=None,
        help="write the picture to FILE.svg or FILE.png (drawn by Graphviz's dot) or FILE.dot; "
        "without -o, DOT text goes to stdout",
    )
    inventory_args(graph)
    connect_args(graph)
    project_arg(graph)
    verbosity_args(graph)
    graph.set_defaults(func=command("graph", "kubeplay.cli.picture"))
