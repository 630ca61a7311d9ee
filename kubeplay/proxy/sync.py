"""The service stage's I/O: read each minion's iptables and routes, write rules and routes.

Everything runs over the run's one connection per minion, minions in parallel. Per minion, reading is ONE
program (READ_NETWORK: ``iptables-save`` then ``ip -4 route show``, their outputs and exit codes apart by NUL
bytes, which neither prints; over SSH it is a step of the run's one program per minion, READ_NETWORK_STEP; on every
minion but the first acted-on one, READ_NETWORK_DIGESTED: the chains every minion shares are sent as a digest,
matched with the one full read's and parsed once, ``resolve``, and a minion matching none is read again in full);
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

import hashlib
import re
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from kubeplay.connectors.base import MinionConnection
from kubeplay.dataclass import dataclass, field, replace
from kubeplay.errors import KubeplayError
from kubeplay.model import ObservedMinion, ObservedPod
from kubeplay.parallel import Say, in_parallel
from kubeplay.proxy.plan import MinionNetwork, MinionSync, ServicePlan, plan_sync
from kubeplay.proxy.routes import SHOW_ROUTES, Route, parse_routes
from kubeplay.proxy.rules import SAVE, SHARED_LINES, Ruleset, parse_save, parse_shared, split_save, with_shared

OWN_MARK = "#kubeplay-own"
DIGEST_MARK = "#kubeplay-shared-sha256 "
SHARED_DIGEST = re.compile(rb"\n#kubeplay-shared-sha256 ([0-9a-f]{64})  -\n\Z")
"""How the output of SPLIT_SAVE ends: the digest of the shared chains' lines, as sha256sum prints it."""

RESTORE = ("iptables-restore", "--noflush", "--wait=10")
RESTORE_GZIPPED = ("sh", "-c", f"command -v gzip >/dev/null || exit 127; gzip -dc | {shlex.join(RESTORE)}")
"""RESTORE reading gzip. Exit 127 (a program not found) means nothing was written: the plain RESTORE is tried."""
GZIP_FROM = 1 << 20
"""Restore texts from this many bytes on are sent gzipped."""
_READ_ROUTES = f"printf '\\0%d\\0' \"$saved\"; {shlex.join(SHOW_ROUTES)}; routes=$?; printf '\\0%d' \"$routes\""
READ_NETWORK = ("sh", "-c", f"{shlex.join(SAVE)}; saved=$?; {_READ_ROUTES}")
"""A minion's rules and routes in one program (a fixed script): SAVE's output, NUL, its exit code, NUL, SHOW_ROUTES'
output, NUL, its exit code. Their stderr go to its stderr."""
SPLIT_SAVE = f"""BEGIN {{ sha = "sha256sum"; printf "" | sha; print "{OWN_MARK}" }}
/^\\*/ {{ table = $0; shared = 0 }}
/^({"|".join(SHARED_LINES)})/ {{ if (!shared) {{ print table | sha; shared = 1 }} print | sha; next }}
{{ print }}
END {{ printf "{DIGEST_MARK}"; fflush(); close(sha) }}
"""
"""The awk program splitting iptables-save's output as ``split_save`` does: it prints ``OWN_MARK``, the lines that are
not the shared chains', then ``DIGEST_MARK`` and sha256sum's line for the shared ones (``SHARED_DIGEST``)."""
READ_NETWORK_DIGESTED = (
    "sh",
    "-c",
    "if command -v awk >/dev/null 2>&1 && command -v sha256sum >/dev/null 2>&1; then "
    f'{{ saved=$({{ {{ {shlex.join(SAVE)}; echo "$?" >&5; }} | awk {shlex.quote(SPLIT_SAVE)} >&4; }} 5>&1); }} 4>&1; '
    f"else {shlex.join(SAVE)}; saved=$?; fi; {_READ_ROUTES}",
)
"""READ_NETWORK with SAVE's output split on the minion (``SPLIT_SAVE``): only the lines that are not the shared
chains' are sent, and the shared ones' digest; SAVE's output as it is when the minion has no awk or sha256sum."""


def _step(program: tuple[str, ...]) -> str:
    return f"{{ err=$({{ {program[2]}; }} 2>&1 >&3); }} 3>&1; printf '\\0%s\\0' \"$err\"\n"


READ_NETWORK_STEP = _step(READ_NETWORK)
"""READ_NETWORK as a step of a longer program whose output goes on (kubelet/lock.py's, then Docker's stream): its
output, then NUL, its stderr and NUL, so that it ends in ``READ_NETWORK_FIELDS`` NUL-ended fields (its stderr kept
out of the program's own)."""
READ_NETWORK_DIGESTED_STEP = _step(READ_NETWORK_DIGESTED)
"""READ_NETWORK_DIGESTED as such a step, ending in as many fields."""
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


@dataclass(frozen=True)
class NetworkRead:
    """A minion's rules and routes as its program printed them, before its shared chains are known (``resolve``):
    its own rules, parsed, and the digest of its shared chains' lines (``split_save``), with those lines when it
    printed them (a full read), or why they could not be read."""

    minion: str
    own: Ruleset = field(default_factory=Ruleset)
    routes: tuple[Route, ...] = ()
    digest: str = ""
    """SHA-256 of the shared lines, hex; "" when the minion's output did not say it (read again in full)."""
    shared: bytes | None = None
    """The shared lines (a full read); None when the minion printed only their digest."""
    error: str = ""


def read_network(conn: MinionConnection) -> NetworkRead:
    """A minion's rules and routes in full, read by a program of their own (READ_NETWORK), or why they could not
    be."""
    name = conn.minion.name
    try:
        read = conn.run(READ_NETWORK, timeout=120)
        saved, routes = split_network_read(read.stdout, read.stderr)
    except KubeplayError as exc:
        return NetworkRead(name, error=str(exc))
    return network_read(name, saved.encode(errors="surrogateescape"), routes)


def read_minion_network(conn: MinionConnection) -> MinionNetwork:
    """A minion's kubeplay rules and gateway routes, read by one program (READ_NETWORK), or why they could not be."""
    return resolve({conn.minion.name: read_network(conn)}, read_network_of({}), 1)[conn.minion.name]


def network_of_fields(minion: str, fields: Sequence[bytes]) -> NetworkRead:
    """A minion's rules and routes from the fields READ_NETWORK_STEP or READ_NETWORK_DIGESTED_STEP wrote, or why
    they could not be read."""
    *output, stderr = fields
    shown = (b"", output[1], b"", output[3]) if len(output) == 4 else output  # (the outputs are decoded below)
    try:
        _check_codes([part.decode(errors="replace") for part in shown], stderr.decode(errors="replace"))
    except KubeplayError as exc:
        return NetworkRead(minion, error=str(exc))
    return network_read(minion, output[0], output[2].decode(errors="replace"))


def network_read(minion: str, saved: bytes, routes: str) -> NetworkRead:
    """A minion's rules and routes from its iptables-save output, in full or as SPLIT_SAVE printed it, and its
    ``ip route`` output."""
    if saved.startswith(OWN_MARK.encode() + b"\n"):
        found = SHARED_DIGEST.search(saved, max(0, len(saved) - 100))
        own, digest, shared = saved[len(OWN_MARK) + 1 : found.start() + 1 if found else None], "", None
        if found:
            digest = found[1].decode()
    else:
        own, shared = split_save(saved)
        digest = hashlib.sha256(shared).hexdigest()
    text = own.decode(errors="replace")
    problem = backend_problem(text)
    if problem:
        return NetworkRead(minion, error=problem)
    return NetworkRead(minion, parse_save(text), parse_routes(routes), digest, shared)


def read_network_of(connections: Mapping[str, MinionConnection]) -> Callable[[str], NetworkRead]:
    """Reading a minion's rules and routes in full (``read_network``) over its connection."""
    return lambda minion: read_network(connections[minion])


def resolve(
    reads: Mapping[str, NetworkRead], read_again: Callable[[str], NetworkRead], forks: int
) -> dict[str, MinionNetwork]:
    """Every minion's rules and routes, in the order of ``reads``: each minion's own rules with the shared part that
    a full read (usually one minion's) printed with the same digest, parsed once for all of them. A minion whose
    digest is no full read's (its shared chains differ: drift, hand edits, a run that failed half-way, or no full
    read came) is read again in full with ``read_again``: first one minion of each such digest, then, the few
    whose shared chains were still none read, each."""
    parts: dict[str, Ruleset] = {}
    networks, unmatched = match_shared(list(reads.values()), parts)
    for attempt in range(2):
        if not unmatched:
            break
        ask = (
            list({r.digest: r.minion for r in reversed(unmatched)}.values())
            if attempt == 0
            else [r.minion for r in unmatched]
        )
        found, unmatched = match_shared(
            [*in_parallel(read_again, ask, forks), *(r for r in unmatched if r.minion not in ask)], parts
        )
        networks.update(found)
    return {name: networks[name] for name in reads if name in networks}


def match_shared(
    reads: Sequence[NetworkRead], parts: dict[str, Ruleset]
) -> tuple[dict[str, MinionNetwork], list[NetworkRead]]:
    """The networks of the ``reads`` whose digest is one of ``parts`` (digest -> shared part, to which each full
    read's adds its own, parsed once), and the reads whose digest is none's."""
    for read in reads:
        if read.shared is not None and read.digest not in parts:
            parts[read.digest] = parse_shared(read.shared.decode(errors="replace"))
    networks: dict[str, MinionNetwork] = {}
    unmatched: list[NetworkRead] = []
    for read in reads:
        if read.error:
            networks[read.minion] = MinionNetwork(read.minion, error=read.error)
        elif read.digest not in parts:
            unmatched.append(read)
        else:
            try:
                networks[read.minion] = MinionNetwork(
                    read.minion, with_shared(read.own, parts[read.digest]), read.routes
                )
            except ValueError as exc:  # (iptables-save prints a chain's declaration and rules alike)
                networks[read.minion] = MinionNetwork(read.minion, error=f"reading rules: {exc}")
    return networks, unmatched


def split_network_read(output: str, stderr: str = "") -> tuple[str, str]:
    """The iptables-save output and the ``ip route`` output in READ_NETWORK's output; raises KubeplayError (naming
    the program, its exit code and ``stderr``) when either failed, or when the output is not READ_NETWORK's."""
    parts = output.split("\0")
    _check_codes(parts, stderr)
    return parts[0], parts[2]


def _check_codes(parts: Sequence[str], stderr: str) -> None:
    """Raises KubeplayError unless ``parts`` are READ_NETWORK's (output, exit code, output, exit code), both exit
    codes 0."""
    if len(parts) != 4 or not all(code.isdigit() for code in parts[1::2]):
        raise KubeplayError(f"reading rules and routes: unexpected output: {stderr.strip() or parts[-1][-200:]!r}")
    for argv, code in ((SAVE, parts[1]), (SHOW_ROUTES, parts[3])):
        if code != "0":
            raise KubeplayError(f"{' '.join(argv)}: exit {code}: {stderr.strip()}")


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
