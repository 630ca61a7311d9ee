"""`kubeplay run NAME --image IMAGE`: kubecfg's `run`, as a manifest file written, then applied.

The file is a Kubernetes-style ReplicationController (to -o FILE, else manifests/NAME.yaml; an existing file is
kept unless --force), checked by kubeplay's own manifest reader before it is written; then its folder is applied as
`apply` does. From then on the file is the controller: edit it, or `scale` it, and apply.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kubeplay.cli.args import command, count
from kubeplay.cli.edited import apply_args
from kubeplay.errors import InputError, Problem

if TYPE_CHECKING:
    from kubeplay.cli.main import Subparsers

MAX_REPLICAS = 10_000
"""As kubeplay.manifests.objects.MAX_REPLICAS (not imported here: --help loads no manifest reader)."""


def add_parsers(sub: Subparsers) -> None:
    run = sub.add_parser("run", help="write a replication controller's manifest file (kubecfg's run) and apply it")
    run.add_argument("name", metavar="NAME")
    run.add_argument("--image", required=True)
    run.add_argument("--replicas", type=count(0, MAX_REPLICAS), default=1, metavar="N", help="(default 1)")
    run.add_argument(
        "--port",
        type=port_pair,
        action="append",
        default=[],
        metavar="PORT[:HOSTPORT]",
        help="a container port, published on the minion's HOSTPORT when given (repeatable)",
    )
    run.add_argument(
        "-l",
        "--labels",
        type=label,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="the pods' labels, also the selector (repeatable; default name=NAME)",
    )
    run.add_argument("-o", "--file", metavar="FILE", help="the manifest file to write (default manifests/NAME.yaml)")
    run.add_argument("--force", action="store_true", help="overwrite FILE when it exists")
    apply_args(run)
    run.set_defaults(func=command("run", "kubeplay.cli.run"))


def port_pair(text: str) -> tuple[int, int]:
    """--port's PORT[:HOSTPORT], each 1-65535."""
    check = count(1, 65535)
    container, _, host = text.partition(":")
    try:
        return check(container), check(host) if host else 0
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"expected PORT or PORT:HOSTPORT, got {text!r}: {exc}") from None


def label(text: str) -> tuple[str, str]:
    """-l's KEY=VALUE (checked as a label with the manifest it goes into)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def controller_manifest(
    name: str, image: str, replicas: int, ports: Sequence[tuple[int, int]], labels: Mapping[str, str]
) -> dict[str, Any]:
    """The controller kubecfg's run made: ``replicas`` pods of one container named as the controller (lower
    case), selected by ``labels`` (default ``name=NAME``)."""
    chosen = dict(labels) or {"name": name}
    container: dict[str, Any] = {"name": name.lower(), "image": image}
    if ports:
        container["ports"] = [{"containerPort": port, **({"hostPort": host} if host else {})} for port, host in ports]
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name, "labels": dict(chosen)},
        "spec": {
            "replicas": replicas,
            "selector": dict(chosen),
            "template": {"metadata": {"labels": dict(chosen)}, "spec": {"containers": [container]}},
        },
    }


def manifest_text(document: Mapping[str, Any], command_line: Sequence[str]) -> str:
    import shlex

    import yaml

    said = shlex.join(command_line).replace("\r", "\\r").replace("\n", "\\n")  # one comment line, always
    return f"# Written by `{said}`: edit it, then apply its folder.\n" + yaml.safe_dump(
        dict(document), sort_keys=False, default_flow_style=False
    )


def run(args: argparse.Namespace) -> int:
    from kubeplay.cli import render
    from kubeplay.cli.edited import apply_folder, project_folder, write_whole

    file = args.file or os.path.join("manifests", f"{args.name}.yaml")
    labels = dict(args.labels)
    text = manifest_text(
        controller_manifest(args.name, args.image, args.replicas, args.port, labels), args.command_line
    )
    problems = manifest_problems(text, file)
    if os.path.exists(file) and not args.force:
        problems.append(Problem(file, "exists: kubeplay keeps it (--force writes over it; -o names another file)"))
    if problems:
        raise InputError(problems)
    if args.check:
        render.result(text.rstrip("\n"))
        render.progress(f"--check: {file} not written, nothing applied")
        return 0
    os.makedirs(os.path.dirname(file) or ".", exist_ok=True)
    write_whole(file, text)
    render.progress(f"wrote {file}")
    return 0 if args.no_apply else apply_folder(args, project_folder(file))


def manifest_problems(text: str, file: str) -> list[Problem]:
    """What kubeplay's manifest reader finds wrong in ``text``, as if read from ``file``."""
    from kubeplay.manifests.objects import read_document
    from kubeplay.manifests.sources import Document, parse

    problems: list[Problem] = []
    for node in parse(text, "yaml"):
        read_document(Document(file, node), problems)
    return problems
