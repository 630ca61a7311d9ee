"""`kubeplay logs POD`: what a pod's container wrote, as `docker logs` shows it (the body is in attach.py)."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from kubeplay.cli.args import command, connect_args, count, inventory_args, verbosity_args

if TYPE_CHECKING:
    from kubeplay.cli.main import Subparsers

# compiled when first used, by re's cache: only --since and the like read a duration
_DURATION = r"(?:(\d+(?:\.\d+)?)(ms|s|m|h))"
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_TAIL = 10_000_000


def duration(text: str) -> float:
    """An argparse type: a duration as kubectl and Go write it ("30s", "5m", "1h30m", "250ms"), in seconds."""
    if not text or re.sub(_DURATION, "", text) != "":
        raise argparse.ArgumentTypeError(f"expected a duration such as 30s, 5m or 1h30m, got {text!r}")
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in re.findall(_DURATION, text))
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration above 0, got {text!r}")
    return seconds


def container_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--container", default="", help="the pod's container (needed when it has several)")


def add_parsers(sub: Subparsers) -> None:
    logs = sub.add_parser("logs", help="print what a pod's container wrote (stdout and stderr)")
    logs.add_argument("pod", metavar="POD")
    container_arg(logs)
    logs.add_argument("-f", "--follow", action="store_true", help="go on printing what it writes, until Ctrl-C")
    logs.add_argument("--tail", type=count(0, MAX_TAIL), default=None, metavar="N", help="only its last N lines")
    logs.add_argument(
        "--since", type=duration, default=None, metavar="DURATION", help="only what it wrote in the last 30s, 5m, 1h"
    )
    inventory_args(logs)
    connect_args(logs)
    verbosity_args(logs)
    logs.set_defaults(func=command("logs", "kubeplay.cli.attach"))
