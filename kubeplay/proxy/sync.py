"""The service stage's I/O: read each minion's iptables and routes, write rules and routes.

Everything runs over the run's one connection per minion, minions in parallel. Per minion, reading is
``iptables-save`` and ``ip -4 route show``; writing is at most ONE ``iptables-restore --noflush`` (only when the
rules differ) and one ``ip route`` per route that changes.

A large restore text (thousands of services) is sent gzipped and unpacked on the minion by a fixed ``sh -c``
pipeline (no value of the manifests in it): paramiko moves ~50 MB/s at best and competes with iptables-restore
for the CPU, gzip -1 makes 14 MB of rules ~2.6 MB in 0.05 s. A minion without gzip gets the plain text.

The iptables backend is the minion's own ``iptables`` (the one on the SSH session's PATH), which must be the one
Docker writes with. When it is nf_tables while Docker's chains sit in iptables-legacy, iptables-save warns about
legacy tables and shows no DOCKER chain: that minion is reported and nothing is written to it, since kubeplay's
rules would land in another backend than Docker's.
"""

from __future__ import annotations

import gzip
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from kubeplay.connectors.base import MinionConnection
from kubeplay.errors import KubeplayError
from kubeplay.parallel import Say, in_parallel
from kubeplay.proxy.plan import MinionNetwork, MinionSync
from kubeplay.proxy.routes import SHOW_ROUTES, parse_routes
from kubeplay.proxy.rules import SAVE, parse_save

RESTORE = ("iptables-restore", "--noflush", "--wait=10")
RESTORE_GZIPPED = ("sh", "-c", f"command -v gzip >/dev/null || exit 127; gzip -dc | {shlex.join(RESTORE)}")
"""RESTORE reading gzip. Exit 127 (a program not found) means nothing was written: the plain RESTORE is tried."""
GZIP_FROM = 1 << 20
"""Restore texts from this many bytes on are sent gzipped."""
_NOT_FOUND = 127
_OTHER_BACKEND = "iptables-legacy tables present"


@dataclass(frozen=True)
class NetworkResult:
    """One change written to a minion (its proxy rules, or one route), or why reading or writing failed."""

    minion: str
    what: str
    ok: bool
    error: str = ""
    seconds: float = field(default=0.0, compare=False)
    """How long writing took. (a measurement: two results alike but for it are equal)"""


def _run(conn: MinionConnection, argv: Sequence[str], stdin: bytes | None = None) -> str:
    result = conn.run(argv, stdin=stdin, timeout=120)
    if not result.ok:
        raise KubeplayError(f"{' '.join(argv)}: exit {result.exit_code}: {result.stderr.strip()}")
    return result.stdout


def restore(conn: MinionConnection, text: str) -> None:
    """Load a restore text (see ``proxy.to_restore``) with ONE iptables-restore --noflush; raises KubeplayError."""
    data = text.encode()
    if len(data) >= GZIP_FROM:
        result = conn.run(RESTORE_GZIPPED, stdin=gzip.compress(data, compresslevel=1, mtime=0), timeout=120)
        if result.ok:
            return
        if result.exit_code != _NOT_FOUND:
            raise KubeplayError(f"{' '.join(RESTORE)} (gzipped): exit {result.exit_code}: {result.stderr.strip()}")
    _run(conn, RESTORE, data)


def backend_problem(saved: str) -> str:
    """Why kubeplay must not write with this minion's iptables ("" when it may), from its iptables-save output."""
    if _OTHER_BACKEND in saved and "\n:DOCKER " not in saved:
        return (
            "iptables on this minion is nf_tables but its iptables-legacy tables are in use (Docker's rules?): "
            "kubeplay's rules would go to another backend than Docker's; make `iptables` the same one dockerd "
            "uses (e.g. update-alternatives --set iptables /usr/sbin/iptables-legacy, then restart dockerd)"
        )
    return ""


def read_minion_network(conn: MinionConnection) -> MinionNetwork:
    name = conn.minion.name
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # two channels on the one connection, side by side
            saving = pool.submit(_run, conn, SAVE)
            routes = _run(conn, SHOW_ROUTES)
            saved = saving.result()
    except KubeplayError as exc:
        return MinionNetwork(name, error=str(exc))
    problem = backend_problem(saved)
    if problem:
        return MinionNetwork(name, error=problem)
    return MinionNetwork(name, parse_save(saved), parse_routes(routes))


def write(
    syncs: Sequence[MinionSync], connections: Mapping[str, MinionConnection], say: Say, forks: int
) -> list[NetworkResult]:
    """Write what differs: one iptables-restore per minion whose rules are not in sync, then its route changes."""

    def one(sync: MinionSync) -> list[NetworkResult]:
        conn = connections[sync.minion]
        results = []
        if not sync.rules_in_sync:
            results.append(_attempt(sync.minion, "proxy rules", partial(restore, conn, sync.restore)))
        for command in sync.route_commands:
            what = " ".join(command[1:4]) + " via " + command[5]
            results.append(_attempt(sync.minion, what, partial(_run, conn, command)))
        for r in results:
            say(f"{r.minion}: {r.what}: {'ok' if r.ok else 'FAILED: ' + r.error}")
        return results

    return [r for results in in_parallel(one, [s for s in syncs if s.changes], forks) for r in results]


def _attempt(minion: str, what: str, work: Callable[[], object]) -> NetworkResult:
    began = time.monotonic()
    try:
        work()
    except KubeplayError as exc:
        return NetworkResult(minion, what, False, str(exc), time.monotonic() - began)
    return NetworkResult(minion, what, True, seconds=time.monotonic() - began)


def read_failures(networks: Mapping[str, MinionNetwork]) -> list[NetworkResult]:
    """A failed result for each minion whose network could not be read (so the recap counts it)."""
    return [NetworkResult(n.minion, "read iptables and routes", False, n.error) for n in networks.values() if n.error]
