"""The service stage's I/O: read each minion's iptables and routes, write rules and routes.

Everything runs over the run's one connection per minion, minions in parallel. Per minion, reading is ONE
program (READ_NETWORK: ``iptables-save`` then ``ip -4 route show``, their outputs and exit codes apart by NUL
bytes, which neither prints; over SSH it is a step of the run's one program per minion, READ_NETWORK_STEP);
writing is at most ONE ``iptables-restore --noflush`` (only when the rules differ) and one ``ip route`` per route
that changes.

In an apply the rules are written more than once only when the pods that serve change meanwhile
(``ClusterRules``): first every service with the endpoints of the pods that stay (a service without any REJECTs
at once: a client started next does not wait for a dropped SYN's retry), then at each rollout step, then with the
pods as they are after the run. A minion whose rules already are as planned is not written to.

A large restore text (thousands of services) is sent gzipped and unpacked on the minion by a fixed ``sh -c``
pipeline (no value of the manifests in it): paramiko moves ~50 MB/s at best and competes with iptables-restore
for the CPU, gzip -1 makes 14 MB of rules ~2.6 MB in 0.05 s. A minion without gzip gets the plain text.

The iptables backend is the minion's own ``iptables`` (the one on the SSH session's PATH), which must be the one
Docker writes with. When it is nf_tables while Docker's chains sit in iptables-legacy, iptables-save warns about
legacy tables and shows no DOCKER chain: that minion is reported and nothing is written to it, since kubeplay's
rules would land in another backend than Docker's.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, replace
from functools import partial

from kubeplay.connectors.base import MinionConnection
from kubeplay.dataclass import dataclass
from kubeplay.errors import KubeplayError
from kubeplay.model import ObservedMinion, ObservedPod
from kubeplay.parallel import Say, in_parallel
from kubeplay.proxy.plan import MinionNetwork, MinionSync, ServicePlan, plan_sync
from kubeplay.proxy.routes import SHOW_ROUTES, parse_routes
from kubeplay.proxy.rules import SAVE, parse_save

RESTORE = ("iptables-restore", "--noflush", "--wait=10")
RESTORE_GZIPPED = ("sh", "-c", f"command -v gzip >/dev/null || exit 127; gzip -dc | {shlex.join(RESTORE)}")
"""RESTORE reading gzip. Exit 127 (a program not found) means nothing was written: the plain RESTORE is tried."""
GZIP_FROM = 1 << 20
"""Restore texts from this many bytes on are sent gzipped."""
READ_NETWORK = (
    "sh",
    "-c",
    f"{shlex.join(SAVE)}; saved=$?; printf '\\0%d\\0' \"$saved\"; "
    f"{shlex.join(SHOW_ROUTES)}; routes=$?; printf '\\0%d' \"$routes\"",
)
"""A minion's rules and routes in one program (a fixed script): SAVE's output, NUL, its exit code, NUL, SHOW_ROUTES'
output, NUL, its exit code. Their stderr go to its stderr."""
READ_NETWORK_STEP = f"{{ err=$({{ {READ_NETWORK[2]}; }} 2>&1 >&3); }} 3>&1; printf '\\0%s\\0' \"$err\"\n"
"""READ_NETWORK as a step of a longer program whose output goes on (kubelet/lock.py's, then Docker's stream): its
output, then NUL, its stderr and NUL, so that it ends in ``READ_NETWORK_FIELDS`` NUL-ended fields (its stderr kept
out of the program's own)."""
READ_NETWORK_FIELDS = 5
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
        import gzip  # (large rule sets only: not loaded by a no-op)

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
    """A minion's kubeplay rules and gateway routes, read by one program (READ_NETWORK), or why they could not be."""
    name = conn.minion.name
    try:
        read = conn.run(READ_NETWORK, timeout=120)
        saved, routes = split_network_read(read.stdout, read.stderr)
    except KubeplayError as exc:
        return MinionNetwork(name, error=str(exc))
    return _minion_network(name, saved, routes)


def network_of_fields(minion: str, fields: Sequence[bytes]) -> MinionNetwork:
    """A minion's kubeplay rules and gateway routes from the fields READ_NETWORK_STEP wrote, or why they could not
    be read."""
    *output, stderr = (part.decode(errors="replace") for part in fields)
    try:
        saved, routes = split_network_read("\0".join(output), stderr)
    except KubeplayError as exc:
        return MinionNetwork(minion, error=str(exc))
    return _minion_network(minion, saved, routes)


def _minion_network(name: str, saved: str, routes: str) -> MinionNetwork:
    problem = backend_problem(saved)
    if problem:
        return MinionNetwork(name, error=problem)
    return MinionNetwork(name, parse_save(saved), parse_routes(routes))


def split_network_read(output: str, stderr: str = "") -> tuple[str, str]:
    """The iptables-save output and the ``ip route`` output in READ_NETWORK's output; raises KubeplayError (naming
    the program, its exit code and ``stderr``) when either failed, or when the output is not READ_NETWORK's."""
    parts = output.split("\0")
    if len(parts) != 4 or not all(code.isdigit() for code in parts[1::2]):
        raise KubeplayError(f"reading rules and routes: unexpected output: {stderr.strip() or output[-200:]!r}")
    saved, saved_exit, routes, routes_exit = parts
    for argv, code in ((SAVE, saved_exit), (SHOW_ROUTES, routes_exit)):
        if code != "0":
            raise KubeplayError(f"{' '.join(argv)}: exit {code}: {stderr.strip()}")
    return saved, routes


def write(
    syncs: Sequence[MinionSync],
    connections: Mapping[str, MinionConnection],
    say: Say,
    forks: int,
    what: str = "proxy rules",
) -> list[NetworkResult]:
    """Write what differs: one iptables-restore per minion whose rules are not in sync (its result says ``what``),
    then its route changes."""

    def one(sync: MinionSync) -> list[NetworkResult]:
        conn = connections[sync.minion]
        results = []
        if not sync.rules_in_sync:
            results.append(_attempt(sync.minion, what, partial(restore, conn, sync.restore)))
        for command in sync.route_commands:
            route = " ".join(command[1:4]) + " via " + command[5]
            results.append(_attempt(sync.minion, route, partial(_run, conn, command)))
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


def _no_report(result: NetworkResult) -> None:
    pass


class ClusterRules:
    """Every acted-on minion's proxy rules as this run last read or wrote them, written again where they differ as
    the pods that serve change (services first, each rollout step, after the pods). Routes do not depend on the
    pods: only the first write changes them."""

    def __init__(
        self,
        plan: ServicePlan,
        minions: Mapping[str, ObservedMinion],
        networks: Mapping[str, MinionNetwork],
        connections: Mapping[str, MinionConnection],
        *,
        limit: frozenset[str] | None,
        forks: int,
        say: Say,
        report: Callable[[NetworkResult], None] = _no_report,
    ) -> None:
        self.services = plan
        self.minions = minions
        self.networks = dict(networks)
        self.connections = connections
        self.limit = limit
        self.forks = forks
        self.say = say
        self.report = report
        """Told each result as it is known."""
        self.serving: dict[tuple[str, str], ObservedPod] = {}
        self.first: dict[str, MinionSync] = {}
        self.last: dict[str, MinionSync] = {}
        self.results: list[NetworkResult] = []

    def write(self, syncs: Sequence[MinionSync], serving: Sequence[ObservedPod], what: str) -> list[NetworkResult]:
        """Write ``syncs`` (planned for ``serving``, e.g. the ones already shown) where they differ."""
        self.serving = {(p.minion, p.name): p for p in serving}
        written = write(syncs, self.connections, self.say, self.forks, what)
        failed = {r.minion for r in written if not r.ok and r.what == what}
        for s in syncs:
            self.first.setdefault(s.minion, s)
            self.last[s.minion] = s
            if s.minion not in failed:
                self.networks[s.minion] = replace(self.networks[s.minion], rules=s.desired)
        for result in written:
            self.report(result)
        self.results += written
        return written

    def planned(self, pods: Sequence[ObservedPod]) -> tuple[MinionSync, ...]:
        """Every minion's rules with exactly ``pods`` as the endpoints (of the services that select them), from the
        rules as last written; the route changes only until the first write."""
        syncs = plan_sync(self.services, self.minions, pods, self.networks, self.limit)
        return tuple(replace(s, route_commands=()) for s in syncs) if self.last else syncs

    def serve(self, pods: Sequence[ObservedPod], what: str = "proxy rules") -> list[NetworkResult]:
        """Make exactly ``pods`` the endpoints on every minion, writing where the rules differ."""
        return self.write(self.planned(pods), pods, what)

    def reroute(
        self, serve: Sequence[ObservedPod], stop: Sequence[ObservedPod], what: str = "proxy rules"
    ) -> list[NetworkResult]:
        """Put ``serve`` in the endpoints, take ``stop`` out of them, on every minion."""
        serving = dict(self.serving)
        for pod in stop:
            serving.pop((pod.minion, pod.name), None)
        serving.update(((p.minion, p.name), p) for p in serve)
        return self.serve(list(serving.values()), what)

    @property
    def syncs(self) -> tuple[MinionSync, ...]:
        """Per minion, from the rules as read to the rules last planned, with the routes changed."""
        return tuple(
            MinionSync(m, self.first[m].observed, self.last[m].desired, self.first[m].route_commands)
            for m in sorted(self.first)
        )
