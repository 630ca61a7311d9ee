"""`kubeplay export -f PATH [--to kubernetes] [-o FILE|-]`: the manifests as Kubernetes objects of today.

The way out: the output is multi-document YAML for `kubectl apply -f` on a real cluster (the conversion is
kubeplay.manifests.kubernetes). The manifests and the inventory are read and checked as `validate` does; nothing
connects anywhere.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kubeplay.cli.args import command, inventory_args, project_arg, verbosity_args
from kubeplay.cli.exitcodes import EXIT_OK

if TYPE_CHECKING:
    from kubeplay.cli.main import Subparsers


def add_parsers(sub: Subparsers) -> None:
    export = sub.add_parser("export", help="write the manifests as Kubernetes objects of today, for kubectl apply")
    export.add_argument("-f", "--filename", action="append", required=True, metavar="PATH")
    export.add_argument("--to", choices=("kubernetes",), default="kubernetes", help="(default kubernetes)")
    export.add_argument("-o", "--file", default="-", metavar="FILE", help="where to write the YAML (default -: stdout)")
    export.add_argument(
        "--keep-ips", action="store_true", help="keep the services' portal IPs as their clusterIP (else allocated)"
    )
    inventory_args(export)
    project_arg(export)
    verbosity_args(export)
    export.set_defaults(func=command("export", "kubeplay.cli.export"))


def export(args: argparse.Namespace) -> int:
    import sys

    from kubeplay import __version__
    from kubeplay.cli import render
    from kubeplay.cli.commands import load_inputs
    from kubeplay.cli.edited import write_whole
    from kubeplay.manifests.kubernetes import export as to_kubernetes
    from kubeplay.manifests.kubernetes import inventory_notes, to_yaml

    inputs = load_inputs(args, args.filename)
    objects = to_kubernetes(inputs.desired, keep_ips=args.keep_ips)
    header = [
        f"Exported by kubeplay {__version__} from project {inputs.project}: kubectl apply -f THIS_FILE",
        *(f"inventory {inputs.inventory.source}: {note}" for note in inventory_notes(inputs.inventory)),
    ]
    text = to_yaml(objects, header)
    if args.file == "-":
        sys.stdout.write(text)
    else:
        write_whole(args.file, text)
        render.progress(f"wrote {len(objects)} objects to {args.file}")
    return EXIT_OK
