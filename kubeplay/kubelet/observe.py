"""Observation: connect to every minion in parallel and read what kubeplay needs from its Docker.

Per minion: one labelled container list, the daemon's capacity, its bridge subnet and its images. A minion
that cannot be reached is recorded as unreachable (unknown), never as empty.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubeplay.connectors.base import Connector, MinionConnection
from kubeplay.errors import KubeplayError
from kubeplay.model import Minion, Observed, ObservedContainer, ObservedMinion
from kubeplay.parallel import workers
from kubeplay.pods.labels import LABEL_CONTAINER, LABEL_CONTROLLER, LABEL_HASH, LABEL_POD, read_pod_labels, read_ports

_EXIT_CODE = re.compile(r"Exited \((-?\d+)\)")
_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


@dataclass
class Session:
    """The open connections of one run, by minion name; closed by the CLI in `finally`."""

    connections: dict[str, MinionConnection]
    also: dict[str, object] = field(default_factory=dict)
    """What observe's ``also`` returned per connected minion."""

    def close(self) -> None:
        for conn in self.connections.values():
            with contextlib.suppress(Exception):  # closing must never hide the run's own result
                conn.close()


def parse_container(summary: Mapping[str, Any]) -> ObservedContainer:
    """One entry of Docker's container list (GET /containers/json) as kubeplay sees it."""
    labels: dict[str, str] = dict(summary.get("Labels") or {})
    status = str(summary.get("Status") or "")
    exit_match = _EXIT_CODE.search(status)
    health_match = _HEALTH.search(status)
    networks = (summary.get("NetworkSettings") or {}).get("Networks") or {}
    ip = next((str(n.get("IPAddress")) for n in networks.values() if n.get("IPAddress")), "")
    created = summary.get("Created")
    names = summary.get("Names") or [""]
    return ObservedContainer(
        id=str(summary.get("Id", "")),
        name=str(names[0]).lstrip("/"),
        pod=labels.get(LABEL_POD, ""),
        container=labels.get(LABEL_CONTAINER, ""),
        spec_hash=labels.get(LABEL_HASH, ""),
        image=str(summary.get("Image", "")),
        state=str(summary.get("State", "")),
        exit_code=int(exit_match.group(1)) if exit_match else 0,
        created=datetime.fromtimestamp(int(created), UTC).isoformat() if created else "",
        controller=labels.get(LABEL_CONTROLLER, ""),
        pod_labels=read_pod_labels(labels),
        ports=read_ports(labels),
        ip=ip,
        health=health_match.group(1).replace("health: ", "") if health_match else "",
        labels=labels,
    )


def observe_minion(conn: MinionConnection) -> ObservedMinion:
    api = conn.docker_api()
    containers = api.containers(all=True, filters={"label": LABEL_POD})
    info = api.info()
    bridge = api.inspect_network("bridge")
    images = api.images()
    subnets = [c.get("Subnet", "") for c in ((bridge.get("IPAM") or {}).get("Config") or [])]
    return ObservedMinion(
        name=conn.minion.name,
        reachable=True,
        containers=tuple(parse_container(c) for c in containers),
        bridge_subnet=next((s for s in subnets if s and ":" not in s), ""),
        address=conn.address,
        cpu=int(info.get("NCPU", 0)) * 1000,
        memory=int(info.get("MemTotal", 0)),
        images=frozenset(
            ref
            for image in images
            for ref in [*(image.get("RepoTags") or []), *(image.get("RepoDigests") or [])]
            if not ref.startswith("<none>")
        ),
    )


Also = Callable[[MinionConnection], object]


def _observe_one(
    minion: Minion, connector: Connector, also: Also | None, helpers: ThreadPoolExecutor
) -> tuple[ObservedMinion, MinionConnection | None, object]:
    try:
        conn = connector(minion)
    except KubeplayError as exc:
        return ObservedMinion(minion.name, reachable=False, error=_reason(exc)), None, None
    extra = helpers.submit(also, conn) if also is not None else None
    try:
        observed = observe_minion(conn)
    except Exception as exc:  # any failure to observe makes the minion unknown, reported
        if extra is not None:
            extra.exception()
        conn.close()
        return ObservedMinion(minion.name, reachable=False, error=f"docker: {_reason(exc)}"), None, None
    return observed, conn, extra.result() if extra is not None else None


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if isinstance(reason, str) else str(exc) or type(exc).__name__


def observe(
    minions: Sequence[Minion], connector: Connector, forks: int, also: Also | None = None
) -> tuple[Observed, Session]:
    """Connect to and observe every minion in parallel (forks at a time). ``also`` runs on each connected minion
    at the same time as its Docker observation, over the same connection; its results are in Session.also."""
    session = Session({})
    results: dict[str, ObservedMinion] = {}
    if not minions:
        return Observed({}), session
    size = workers(forks, len(minions))
    with ThreadPoolExecutor(max_workers=size) as pool, ThreadPoolExecutor(max_workers=size) as helpers:
        for observed, conn, extra in pool.map(lambda m: _observe_one(m, connector, also, helpers), minions):
            results[observed.name] = observed
            if conn is not None:
                session.connections[observed.name] = conn
                session.also[observed.name] = extra
    return Observed({m.name: results[m.name] for m in minions}), session
