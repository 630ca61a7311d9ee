"""What the verbs that write manifest files share (scale, run): the options of the apply they end with, that apply,
and writing a file whole or not at all.

The apply is `kubeplay apply -f FOLDER` with the options given to the verb: the folder holding the file edited,
which is the file's project (a project is its folder's manifests, and applying the file alone would remove the
rest of the project).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import TYPE_CHECKING

from kubeplay.cli.args import (
    MAX_UNAVAILABLE,
    change_args,
    connect_args,
    count,
    inventory_args,
    lock_args,
    project_arg,
    verbosity_args,
)

if TYPE_CHECKING:
    from kubeplay.reconcile import Inputs


def apply_args(p: argparse.ArgumentParser) -> None:
    """The options of the apply that follows the edit, as apply takes them, and --no-apply."""
    inventory_args(p)
    connect_args(p)
    project_arg(p)
    change_args(p)
    lock_args(p)
    verbosity_args(p)
    p.add_argument(
        "--max-unavailable",
        type=count(1, MAX_UNAVAILABLE),
        default=1,
        help="replicas a rolling update may take down at a time, at least 1 (default 1)",
    )
    p.add_argument("--no-apply", action="store_true", help="only write the file, apply nothing")


def project_folder(path: str) -> str:
    """The folder applied after ``path`` (a manifest file or a folder) was edited: the folder itself, or the file's."""
    return path if os.path.isdir(path) else os.path.dirname(path) or "."


def apply_folder(args: argparse.Namespace, folder: str, inputs: Inputs | None = None) -> int:
    """`kubeplay apply -f FOLDER` with the options of ``args`` that apply has (its own defaults for the others);
    ``inputs``: the folder's desired state as edited but not written (--check), else the folder is read."""
    from kubeplay.cli.commands import apply
    from kubeplay.cli.main import build_parser

    options = build_parser("apply").parse_args(["apply", f"--filename={folder}"])
    for key, value in vars(args).items():
        if key in vars(options) and key not in ("command", "func", "filename"):
            setattr(options, key, value)
    options.command_line = args.command_line
    return apply(options, inputs)


def write_whole(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a file beside it renamed over it: a reader sees the old file or the new
    one, never half of one; the old file's permissions are kept, and a link is followed to the file it names."""
    path = os.path.realpath(path)
    folder = os.path.dirname(path)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".kubeplay-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        if os.path.exists(path):
            os.chmod(temporary, os.stat(path).st_mode & 0o7777)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
