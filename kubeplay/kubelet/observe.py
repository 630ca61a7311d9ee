"""Observation: connect to every minion in parallel and read what kubeplay needs from its Docker.

Per minion: one labelled container list, the daemon's capacity, its bridge subnet and its images. A minion
that cannot be reached is recorded as unreachable (unknown), never as empty.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

from kubeplay.connectors.base import Connector, ContainerSummary, DockerOps, MinionConnection
from kubeplay.errors import KubeplayError
from kubeplay.model import Minion, Observed, ObservedContainer, ObservedMinion
from kubeplay.parallel import in_parallel, workers
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


@dataclass
class Session:
    """The open connections of one run, by minion name; closed in ``finally`` by whoever observed."""

    connections: dict[str, MinionConnection]

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
        created=datetime.fromtimestamp(summary.created, UTC).isoformat() if summary.created else "",
        controller=labels.get(LABEL_CONTROLLER, ""),
        pod_labels=read_pod_labels(labels),
        ports=read_ports(labels),
        ip=summary.ip,
        health=health_match.group(1).replace("health: ", "") if health_match else "",
        labels=labels,
        project=read_project(labels),
    )


def observe_minion(conn: MinionConnection) -> ObservedMinion:
    docker = conn.docker()
    containers = pod_containers(docker)
    facts = docker.facts()
    return ObservedMinion(
        name=conn.minion.name,
        reachable=True,
        containers=tuple(parse_container(c) for c in containers),
        bridge_subnet=facts.bridge_subnet,
        address=conn.address,
        cpu=facts.cpus * 1000,
        memory=facts.memory,
        images=facts.images,
    )


def relist(observed: Observed, connections: Mapping[str, MinionConnection], forks: int) -> Observed:
    """The cluster after the pods were changed: each connected minion's kubeplay containers listed again
    (one call per minion), for the pods' new IPs. A minion whose list fails keeps what was observed before."""

    def one(name: str) -> ObservedMinion:
        before = observed.minions[name]
        try:
            listed = pod_containers(connections[name].docker())
        except Exception:  # Docker's error or the SSH channel's under it: keep the earlier observation
            return before
        return replace(before, containers=tuple(parse_container(c) for c in listed))

    names = [n for n in observed.minions if n in connections and observed.minions[n].reachable]
    fresh = {m.name: m for m in in_parallel(one, names, forks)}
    return Observed({n: fresh.get(n, m) for n, m in observed.minions.items()})


T = TypeVar("T")


def _observe_one(
    minion: Minion, connector: Connector, alongside: Callable[[MinionConnection], T], helpers: ThreadPoolExecutor
) -> tuple[ObservedMinion, tuple[MinionConnection, T] | None]:
    """The minion as observed and, when it answered, its open connection and what ``alongside`` read."""
    try:
        conn = connector(minion)
    except KubeplayError as exc:
        return ObservedMinion(minion.name, reachable=False, error=_reason(exc)), None
    extra = helpers.submit(alongside, conn)
    try:
        observed = observe_minion(conn)
    except Exception as exc:  # any failure to observe makes the minion unknown, reported
        extra.exception()
        conn.close()
        return ObservedMinion(minion.name, reachable=False, error=f"docker: {_reason(exc)}"), None
    return observed, (conn, extra.result())


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if isinstance(reason, str) else str(exc) or type(exc).__name__


def observe(
    minions: Sequence[Minion], connector: Connector, forks: int, alongside: Callable[[MinionConnection], T]
) -> tuple[Observed, Session, dict[str, T]]:
    """Connect to and observe every minion in parallel (forks at a time). ``alongside`` runs on each connected
    minion at the same time as its Docker observation, over the same connection; what it returns is the third
    value, by minion name, for the minions that were observed."""
    session = Session({})
    results: dict[str, ObservedMinion] = {}
    read: dict[str, T] = {}
    if not minions:
        return Observed({}), session, read
    size = workers(forks, len(minions))
    with ThreadPoolExecutor(max_workers=size) as pool, ThreadPoolExecutor(max_workers=size) as helpers:
        for observed, connected in pool.map(lambda m: _observe_one(m, connector, alongside, helpers), minions):
            results[observed.name] = observed
            if connected is not None:
                session.connections[observed.name], read[observed.name] = connected
    return Observed({m.name: results[m.name] for m in minions}), session, read
