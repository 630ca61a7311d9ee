"""Observation: connect to every minion in parallel, then read what kubeplay needs from its Docker.

Per minion: one labelled container list (containers in every state: a killed run leaves created, exited and
half-made pods), one labelled volume list, the daemon's capacity, its bridge subnet and its images. A minion
that cannot be reached is recorded as unreachable (unknown), never as empty. Connecting and observing are two
steps (``connect``, ``observe_session``) so that a run can lock the minions in between (kubelet/lock.py).

What a minion reports is checked like what a user writes before it is used (``check_container``): a container
whose id, pod, container or controller label is not a valid name is ignored (never touched: kubeplay did not make
it so), an IP that is not an IPv4 address is dropped (the pod is no endpoint), invalid pod labels or ports are
read as none; each is a warning in ``ObservedMinion.warnings``. Nothing a minion says reaches iptables or a
command unchecked.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from kubeplay.connectors.base import Connector, ContainerSummary, DockerOps, MinionConnection
from kubeplay.dataclass import dataclass, field, replace
from kubeplay.errors import KubeplayError, UntrustedHostKey
from kubeplay.model import INFRA_CONTAINER, Minion, Observed, ObservedContainer, ObservedMinion
from kubeplay.names import LOOSEST_LABEL_RULES, dns_label_error
from kubeplay.parallel import in_background, in_parallel
from kubeplay.pods.dockerspec import volume_name
from kubeplay.pods.labels import (
    LABEL_CONTAINER,
    LABEL_CONTROLLER,
    LABEL_HASH,
    LABEL_POD,
    read_pod_labels,
    read_ports,
    read_project,
)

_EXIT_CODE = re.compile(r"Exited \((-?\d+)\)")
_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_CONTAINER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}")
"""A container id as it may go back into Docker's API paths: Docker's are 64 hex digits; never a '/'."""


@dataclass
class Session:
    """The open connections of one run, by minion name; closed in ``finally`` by whoever observed."""

    connections: dict[str, MinionConnection]
    unreachable: dict[str, str] = field(default_factory=dict)
    """Minion name -> why it has no connection this run (it is unknown)."""
    refused: set[str] = field(default_factory=set)
    """Of those, the minions whose host key was refused (changed or revoked): an error, not merely unknown."""

    def drop(self, name: str, why: str) -> None:
        """Close a minion's connection and record it as unreachable."""
        conn = self.connections.pop(name)
        with contextlib.suppress(Exception):
            conn.close()
        self.unreachable[name] = why

    def close(self) -> None:
        for conn in self.connections.values():
            with contextlib.suppress(Exception):  # closing must never hide the run's own result
                conn.close()


def pod_containers(docker: DockerOps, pod: str = "") -> list[ContainerSummary]:
    """kubeplay's containers on a minion, in any state (of one pod when ``pod`` is given): the one list call."""
    return docker.containers(f"{LABEL_POD}={pod}" if pod else LABEL_POD)


def parse_container(summary: ContainerSummary) -> ObservedContainer:
    """One container of Docker's list as kubeplay sees it."""
    labels = dict(summary.labels)
    exit_match = _EXIT_CODE.search(summary.status)
    health_match = _HEALTH.search(summary.status)
    return ObservedContainer(
        id=summary.id,
        name=summary.name,
        pod=labels.get(LABEL_POD, ""),
        container=labels.get(LABEL_CONTAINER, ""),
        spec_hash=labels.get(LABEL_HASH, ""),
        image=summary.image,
        state=summary.state,
        exit_code=int(exit_match.group(1)) if exit_match else 0,
        created=utc_iso(summary.created) if summary.created else "",
        controller=labels.get(LABEL_CONTROLLER, ""),
        pod_labels=read_pod_labels(labels),
        ports=read_ports(labels),
        ip=summary.ip,
        health=health_match.group(1).replace("health: ", "") if health_match else "",
        labels=labels,
        project=read_project(labels),
    )


_LAST_FOUR_DIGIT_YEAR = 253402300799
"""9999-12-31T23:59:59Z, as seconds since the epoch."""


def utc_iso(timestamp: int) -> str:
    """A time in seconds since the epoch as ``datetime.fromtimestamp(timestamp, UTC).isoformat()`` writes it
    ("2026-11-30T12:00:00+00:00"): from time.gmtime for the years 1970-9999 (the same fields, four-digit years),
    so observing needs no datetime (~1.5 ms of a run's start-up); through datetime otherwise (its errors included)."""
    if 0 <= timestamp <= _LAST_FOUR_DIGIT_YEAR:
        return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(timestamp))
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _excerpt(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _identity_problem(c: ObservedContainer) -> str | None:
    """Why a container's id or names cannot be kubeplay's own, or None."""
    if not _CONTAINER_ID.fullmatch(c.id):
        return f"id {_excerpt(c.id)} is not a container id"
    for what, value in (("pod", c.pod), ("container", c.container), ("controller", c.controller)):
        # names as the manifests accept them: v1beta1 ids such as "redisController" (and its replicas) have capitals
        if (value or what != "controller") and value != INFRA_CONTAINER and dns_label_error(value, mixed_case=True):
            return f"its {what} label {_excerpt(value)} is not a valid name"
    return None


def _ip_problem(ip: str) -> str | None:
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        return f"its IP {_excerpt(ip)} is not an IPv4 address: the pod is no endpoint of any service"
    return None


def check_container(c: ObservedContainer) -> tuple[ObservedContainer | None, list[str]]:
    """The container with what a minion must not have sent dropped (None: ignored altogether), and warnings."""
    where = f"container {_excerpt(c.name)}"
    problem = _identity_problem(c)
    if problem:
        return None, [f"{where} is ignored: {problem}"]
    warnings = []
    if c.ip and (problem := _ip_problem(c.ip)):
        warnings.append(f"{where}: {problem}")
        c = replace(c, ip="")
    rules = LOOSEST_LABEL_RULES  # a label any era's manifests may hold: the v0.4 form's ("uses": "a,b")
    bad_labels = [k for k, v in c.pod_labels.items() if rules.key_error(k) or rules.value_error(v)]
    if bad_labels:
        warnings.append(f"{where}: pod label {_excerpt(bad_labels[0])} is invalid: its pod labels are ignored")
        c = replace(c, pod_labels={})
    if any(not 0 < p.container_port <= 65535 or not 0 <= p.host_port <= 65535 for p in c.ports):
        warnings.append(f"{where}: its ports label holds a port out of range: its ports are ignored")
        c = replace(c, ports=())
    return c, warnings


def _bridge_subnet(subnet: str) -> tuple[str, list[str]]:
    try:
        return str(ipaddress.IPv4Network(subnet, strict=False)), []
    except ValueError:
        return "", [f"Docker's bridge subnet {_excerpt(subnet)} is not an IPv4 network: no pod routes to this minion"]


def observe_minion(conn: MinionConnection) -> ObservedMinion:
    docker = conn.docker()
    docker.read_ahead(LABEL_POD)  # (the three reads below in one round trip)
    checked = [check_container(parse_container(c)) for c in pod_containers(docker)]
    volumes = docker.labelled_volumes(LABEL_POD)
    facts = docker.facts()
    subnet, subnet_warnings = _bridge_subnet(facts.bridge_subnet) if facts.bridge_subnet else ("", [])
    return ObservedMinion(
        name=conn.minion.name,
        reachable=True,
        containers=tuple(c for c, _ in checked if c is not None),
        warnings=tuple(w for _, found in checked for w in found) + tuple(subnet_warnings),
        bridge_subnet=subnet,
        address=conn.address,
        cpu=facts.cpus * 1000,
        memory=facts.memory,
        images=facts.images,
        volumes=_pods_volumes(volumes),
    )


def _pods_volumes(volumes: Mapping[str, Mapping[str, str]]) -> tuple[tuple[str, str, str], ...]:
    """(volume, pod, project) of each labelled volume kubeplay made for a pod: a valid pod name, and the volume named
    after it (checked like any data from a minion, before kubeplay would remove one)."""
    found = []
    for name, labels in volumes.items():
        pod = labels.get(LABEL_POD, "")
        if (
            dns_label_error(pod, mixed_case=True) is None
            and name.startswith(volume_name(pod, ""))
            and name.isprintable()
        ):
            found.append((name, pod, read_project(labels)))
    return tuple(sorted(found))


def relist(observed: Observed, connections: Mapping[str, MinionConnection], forks: int) -> Observed:
    """The cluster after the pods were changed: each connected minion's kubeplay containers listed again
    (one call per minion), for the pods' new IPs. A minion whose list fails keeps what was observed before."""

    def one(name: str) -> ObservedMinion:
        before = observed.minions[name]
        try:
            listed = pod_containers(connections[name].docker())
        except Exception:  # Docker's error or the SSH channel's under it: keep the earlier observation
            return before
        checked = (check_container(parse_container(c))[0] for c in listed)
        return replace(before, containers=tuple(c for c in checked if c is not None))

    names = [n for n in observed.minions if n in connections and observed.minions[n].reachable]
    fresh = {m.name: m for m in in_parallel(one, names, forks)}
    return Observed({n: fresh.get(n, m) for n, m in observed.minions.items()})


T = TypeVar("T")


def connect(minions: Sequence[Minion], connector: Connector, forks: int) -> Session:
    """Connect to every minion in parallel (forks at a time); one that cannot be reached is recorded as such."""

    def connect_one(minion: Minion) -> MinionConnection | str:
        try:
            return connector(minion)
        except KubeplayError as exc:
            if isinstance(exc, UntrustedHostKey):
                session.refused.add(minion.name)
            return _reason(exc)

    session = Session({})  # (made before connecting: connect_one records refused host keys in it)
    for minion, conn in zip(minions, in_parallel(connect_one, minions, forks), strict=True):
        if isinstance(conn, str):
            session.unreachable[minion.name] = conn
        else:
            session.connections[minion.name] = conn
    return session


def _observe_one(conn: MinionConnection, alongside: Callable[[MinionConnection], T]) -> tuple[ObservedMinion, T] | str:
    """The minion as observed and what ``alongside`` read (on a thread of its own, at the same time), or why its
    Docker could not be observed."""
    extra = in_background(alongside, conn)
    try:
        observed = observe_minion(conn)
    except Exception as exc:  # any failure to observe makes the minion unknown, reported
        extra.wait()  # (what it raises is not the minion's reason)
        return f"docker: {_reason(exc)}"
    return observed, extra.result()


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if isinstance(reason, str) else str(exc) or type(exc).__name__


def observe_session(
    minions: Sequence[Minion], session: Session, forks: int, alongside: Callable[[MinionConnection], T]
) -> tuple[Observed, dict[str, T]]:
    """Observe every connected minion of the session in parallel (forks at a time). ``alongside`` runs on each
    at the same time as its Docker observation, over the same connection; what it returns is the second value,
    by minion name, for the minions that were observed. A minion whose Docker fails is dropped from the session
    as unreachable."""
    names = [m.name for m in minions if m.name in session.connections]
    results: dict[str, ObservedMinion] = {}
    read: dict[str, T] = {}
    if names:
        found = in_parallel(lambda n: _observe_one(session.connections[n], alongside), names, forks)
        for name, outcome in zip(names, found, strict=True):
            if isinstance(outcome, str):
                session.drop(name, outcome)
            else:
                results[name], read[name] = outcome
    for name, why in session.unreachable.items():
        results[name] = ObservedMinion(name, reachable=False, error=why, refused=name in session.refused)
    return Observed({m.name: results[m.name] for m in minions}), read
