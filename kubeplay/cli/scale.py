"""`kubeplay scale rc NAME --replicas N -f PATH`: the replica count changed in the manifest file itself, then applied.

The files are the truth: the controller's file is edited (only the count; kubeplay.manifests.edit), the diff shown,
then the file's folder applied as `apply` does, so a later `apply` keeps the new count.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kubeplay.cli.args import CONTROLLER_KINDS, command, count
from kubeplay.cli.edited import apply_args
from kubeplay.cli.exitcodes import EXIT_OK
from kubeplay.dataclass import replace
from kubeplay.errors import InputError, Problem

if TYPE_CHECKING:
    from kubeplay.cli.main import Subparsers
    from kubeplay.model import ReplicationController
    from kubeplay.reconcile import Inputs

MAX_REPLICAS = 10_000
"""As kubeplay.manifests.objects.MAX_REPLICAS (not imported here: --help loads no manifest reader)."""


def add_parsers(sub: Subparsers) -> None:
    scale = sub.add_parser(
        "scale", help="set a replication controller's replicas in its manifest file, then apply the file's folder"
    )
    scale.add_argument("kind", choices=CONTROLLER_KINDS)
    scale.add_argument("name", metavar="NAME")
    scale.add_argument("--replicas", type=count(0, MAX_REPLICAS), required=True, metavar="N")
    scale.add_argument(
        "-f",
        "--filename",
        required=True,
        metavar="PATH",
        help="the manifest file or folder that holds the controller; that folder (a file's folder) is applied",
    )
    apply_args(scale)
    scale.set_defaults(func=command("scale", "kubeplay.cli.scale"))


def scale(args: argparse.Namespace) -> int:
    import difflib

    from kubeplay.cli import render
    from kubeplay.cli.commands import load_inputs
    from kubeplay.cli.edited import apply_folder, project_folder, write_whole
    from kubeplay.manifests.edit import EditRefused, set_replicas

    if args.filename == "-":
        raise InputError([Problem("-f", "scale edits a manifest file: name the file or its folder, not -")])
    inputs = load_inputs(args, [args.filename])
    file = controller_file(inputs.desired.controllers, args.name, args.filename)
    before, bom = _read(file)
    try:
        after, old = set_replicas(before, file, args.name, args.replicas)
    except EditRefused as exc:
        raise InputError([Problem(file, exc.message, exc.line, f"ReplicationController {args.name}")]) from exc
    diff = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), file, file)
    for line in diff:
        render.result(line.rstrip("\r\n"))
    was = 1 if old is None else old
    folder = project_folder(args.filename)
    if args.check:
        render.progress(f"--check: {file} not written (replicas {was} -> {args.replicas}); the plan as if it were:")
        return apply_folder(args, folder, with_replicas(load_inputs(args, [folder]), args.name, args.replicas))
    if after != before:
        write_whole(file, ("\ufeff" if bom else "") + after)
        render.progress(f"{file}: {args.name} replicas {was} -> {args.replicas}")
    else:
        render.progress(f"{file}: {args.name} already has {args.replicas} replicas")
    return EXIT_OK if args.no_apply else apply_folder(args, folder)


def with_replicas(inputs: Inputs, name: str, replicas: int) -> Inputs:
    """``inputs`` with controller ``name`` asking for ``replicas``: what the edited file will load to."""
    controllers = tuple(replace(rc, replicas=replicas) if rc.name == name else rc for rc in inputs.desired.controllers)
    return replace(inputs, desired=replace(inputs.desired, controllers=controllers))


def controller_file(controllers: Sequence[ReplicationController], name: str, path: str) -> str:
    """The file that declares controller ``name`` under ``path``. Raises InputError when none does, or when it is a
    template (its count is the template's to say)."""
    from kubeplay.manifests.sources import TEMPLATE_SUFFIX

    found = [rc for rc in controllers if rc.name == name]
    if not found:
        known = ", ".join(f"{rc.name} ({rc.source})" for rc in controllers)
        raise InputError([Problem(path, f"no ReplicationController named {name!r} (found: {known or 'none'})")])
    file = found[0].source.file
    if file.lower().endswith(TEMPLATE_SUFFIX):
        hint = "change the replicas in the template itself, or the variable it takes them from (-e, the inventory)"
        raise InputError([Problem(file, f"{name} is declared in a template, which kubeplay does not rewrite: {hint}")])
    return file


def _read(file: str) -> tuple[str, bool]:
    """The file's text as written (its line ends kept), and whether it starts with a UTF-8 byte order mark."""
    import codecs

    with open(file, "rb") as f:
        data = f.read()
    return data.decode("utf-8-sig"), data.startswith(codecs.BOM_UTF8)
