"""The rows of every table kubeplay shows, computed from the observed cluster, the manifests and a run's
results. Pure: cli/render.py only lays them out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from kubeplay.dataclass import dataclass
from kubeplay.model import (
    Desired,
    Inventory,
    Minion,
    Observed,
    ObservedMinion,
    ObservedPod,
    ReplicationController,
    Service,
)
from kubeplay.planner.scheduler import PlacedPod, minion_info
from kubeplay.pods.labels import read_controller_selector
from kubeplay.proxy.endpoints import compute_endpoints
from kubeplay.selectors import format_selector, matches

if TYPE_CHECKING:
    from kubeplay.kubelet.execute import Result
    from kubeplay.planner.pods import Plan
    from kubeplay.proxy.rules import SeenService
    from kubeplay.proxy.sync import NetworkResult


def pod_status(pod: ObservedPod) -> str:
    """Running, Pending (created, not started yet), Failed (an app exited non-zero), Terminated (all exited 0)."""
    apps = pod.apps
    if pod.running:
        return "Running"
    if not apps or any(c.state in ("created", "restarting") for c in apps) or pod.infra is None:
        return "Pending"
    if any(c.state in ("exited", "dead") and c.exit_code != 0 for c in apps):
        return "Failed"
    if all(c.state == "exited" for c in apps):
        return "Terminated"
    return "Pending"


@dataclass(frozen=True)
class PodRow:
    name: str
    images: tuple[str, ...]
    minion: str
    host_ip: str
    labels: dict[str, str]
    status: str
    pod_ip: str = ""
    controller: str = ""
    containers: tuple[str, ...] = ()
    project: str = ""

    @property
    def host(self) -> str:
        return f"{self.minion}/{self.host_ip}"

    @property
    def labels_text(self) -> str:
        return format_selector(self.labels)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.name,
            "images": list(self.images),
            "host": self.minion,
            "hostIP": self.host_ip,
            "podIP": self.pod_ip,
            "labels": self.labels,
            "status": self.status,
            "controller": self.controller,
            "containers": list(self.containers),
            "project": self.project,
        }


def pod_rows(observed: Observed) -> list[PodRow]:
    rows = []
    for minion in observed.minions.values():
        for pod in minion.pods:
            rows.append(
                PodRow(
                    name=pod.name,
                    images=tuple(dict.fromkeys(c.image for c in sorted(pod.apps, key=lambda c: c.container))),
                    minion=minion.name,
                    host_ip=minion.address,
                    labels=pod.labels,
                    status=pod_status(pod),
                    pod_ip=pod.ip,
                    controller=pod.controller,
                    containers=tuple(f"{c.container}:{c.state}" for c in sorted(pod.apps, key=lambda c: c.container)),
                    project=pod.project,
                )
            )
    return sorted(rows, key=lambda r: (r.name, r.minion))


def unknown_rows(desired: Desired, observed: Observed, project: str) -> list[PodRow]:
    """Pods of the manifests (of ``project``) found on no reachable minion while some minion is unreachable: they
    may be there, so their status is Unknown (not Pending, not gone)."""
    if not observed.unreachable:
        return []
    seen = {p.name for p in observed.pods}
    where = ",".join(observed.unreachable)
    return [
        PodRow(
            name=pod.name,
            images=tuple(dict.fromkeys(c.image for c in pod.spec.containers)),
            minion=f"{where}?",
            host_ip="",
            labels=pod.labels,
            status="Unknown",
            project=project,
        )
        for pod in desired.pods
        if pod.name not in seen
    ]


@dataclass(frozen=True)
class RecapRow:
    minion: str
    ok: int
    changed: int
    failed: int
    unreachable: int

    def as_dict(self) -> dict[str, int]:
        return {"ok": self.ok, "changed": self.changed, "failed": self.failed, "unreachable": self.unreachable}


def recap_rows(
    plan: Plan, results: Sequence[Result], inventory: Inventory, network: Sequence[NetworkResult] = ()
) -> list[RecapRow]:
    """Ansible's recap: ok (pods already as desired), changed, failed, unreachable, per minion. Written proxy
    rules and routes (``network``) count as changed or failed too."""
    rows = []
    for m in inventory.minions:
        mine = [r.ok for r in results if r.action.minion == m.name] + [r.ok for r in network if r.minion == m.name]
        rows.append(
            RecapRow(
                minion=m.name,
                ok=plan.converged.get(m.name, 0),
                changed=sum(1 for ok in mine if ok),
                failed=sum(1 for ok in mine if not ok)
                + sum(1 for f in plan.failures if f.minion == m.name)
                + int(m.name in plan.refused),
                unreachable=int(m.name in plan.unreachable),
            )
        )
    return rows


@dataclass(frozen=True)
class ControllerRow:
    name: str
    images: tuple[str, ...]
    selector: dict[str, str]
    desired: int
    running: int

    @property
    def replicas_text(self) -> str:
        return str(self.desired) if self.running == self.desired else f"{self.running}/{self.desired}"

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.name,
            "images": list(self.images),
            "selector": self.selector,
            "replicas": self.desired,
            "running": self.running,
        }


def live_controller_rows(
    observed: Observed, recorded: Sequence[tuple[str, ReplicationController]]
) -> list[ControllerRow]:
    """Controllers as the cluster tells them, without the manifests: those kubecfg recorded ((project, controller):
    their count is the record's, their running pods those of the project their selector matches), then every other
    controller whose replicas' containers name it (their images and the selector kept on them; the count is the
    running replicas, the only one known)."""
    rows = [
        ControllerRow(
            rc.name,
            tuple(c.image for c in rc.template.spec.containers),
            rc.selector,
            rc.replicas,
            sum(1 for p in observed.pods if p.project == project and _counted(rc.selector, p)),
        )
        for project, rc in recorded
    ]
    known = {rc.name for _, rc in recorded}
    replicas: dict[str, list[ObservedPod]] = {}
    for pod in observed.pods:
        if pod.controller and pod.controller not in known:
            replicas.setdefault(pod.controller, []).append(pod)
    for name, pods in replicas.items():
        newest = max(pods, key=lambda p: p.created)
        images = tuple(dict.fromkeys(c.image for c in sorted(newest.apps, key=lambda c: c.container)))
        selector = read_controller_selector(newest.containers[0].labels)
        running = sum(1 for p in pods if pod_status(p) == "Running")
        rows.append(ControllerRow(name, images, selector, running, running))
    return sorted(rows, key=lambda r: r.name)


def _counted(selector: Mapping[str, str], pod: ObservedPod) -> bool:
    return bool(selector) and matches(selector, pod.labels) and pod_status(pod) == "Running"


def controller_rows(desired: Desired, observed: Observed) -> list[ControllerRow]:
    """Controllers live only in the manifests; their running counts come from the observed pods."""
    rows = []
    for rc in desired.controllers:
        running = sum(1 for p in observed.pods if matches(rc.selector, p.labels) and pod_status(p) == "Running")
        rows.append(
            ControllerRow(
                rc.name, tuple(c.image for c in rc.template.spec.containers), rc.selector, rc.replicas, running
            )
        )
    return rows


@dataclass(frozen=True)
class ServiceRow:
    name: str
    labels: Mapping[str, str]
    selector: Mapping[str, str]
    ip: str
    ports: tuple[str, ...]
    """"80/TCP", one per service port."""

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.name,
            "labels": dict(self.labels),
            "selector": dict(self.selector),
            "portalIP": self.ip,
            "ports": list(self.ports),
        }


@dataclass(frozen=True)
class EndpointRow:
    name: str
    endpoints: tuple[str, ...]
    """"podIP:port" each."""

    def as_dict(self) -> dict[str, object]:
        return {"id": self.name, "endpoints": list(self.endpoints)}


def service_rows(
    services: Sequence[Service],
    portals: Mapping[str, str],
    observed: Mapping[str, str],
    seen: Mapping[str, SeenService] | None = None,
) -> list[ServiceRow]:
    """The manifests' services with their portal IPs, then services only the minions' rules still know (with
    ``seen``, what their rules tell: selector and ports)."""
    rows = [
        ServiceRow(
            s.name, s.labels, s.selector, portals.get(s.name, ""), tuple(f"{p.port}/{p.protocol}" for p in s.ports)
        )
        for s in sorted(services, key=lambda s: s.name)
    ]
    known = {s.name for s in services}
    told = seen or {}
    rows += [
        ServiceRow(name, {}, told[name].selector, ip, told[name].ports)
        if name in told
        else ServiceRow(name, {}, {}, ip, ())
        for name, ip in sorted(observed.items())
        if name not in known
    ]
    return rows


def endpoint_rows(services: Sequence[Service], pods: Sequence[ObservedPod]) -> list[EndpointRow]:
    found = compute_endpoints(services, pods)
    return [EndpointRow(key, tuple(str(e) for e in found[key])) for key in sorted(found)]


@dataclass(frozen=True)
class MinionRow:
    """One minion as `get minions` shows it. Capacity as the scheduler sees it (the inventory's kubeplay_cpu and
    kubeplay_memory, else what the minion's Docker reports; 0: unknown); allocated: the requests of the pods on it,
    None (like pods) when it could not be reached."""

    name: str
    address: str
    reachable: bool
    cordoned: bool
    pods: int | None
    cpu_capacity: int
    """Millicores."""
    cpu_allocated: int | None
    memory_capacity: int
    """Bytes."""
    memory_allocated: int | None
    labels: dict[str, str]
    pod_subnet: str = ""
    error: str = ""
    """Why it could not be reached."""

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "address": self.address,
            "reachable": self.reachable,
            "cordoned": self.cordoned,
            "pods": self.pods,
            "cpu": {"capacity": self.cpu_capacity, "allocated": self.cpu_allocated},
            "memory": {"capacity": self.memory_capacity, "allocated": self.memory_allocated},
            "labels": self.labels,
            "podSubnet": self.pod_subnet,
            "error": self.error,
        }


def minion_row(minion: Minion, observed: ObservedMinion | None) -> MinionRow:
    info = minion_info(minion, observed)
    reachable = observed is not None and observed.reachable
    pods = [PlacedPod.observed(p) for p in observed.pods] if observed is not None and reachable else None
    return MinionRow(
        name=minion.name,
        address=(observed.address if observed is not None else "") or minion.host,
        reachable=reachable,
        cordoned=minion.cordoned,
        pods=None if pods is None else len(pods),
        cpu_capacity=info.cpu,
        cpu_allocated=None if pods is None else sum(p.cpu for p in pods),
        memory_capacity=info.memory,
        memory_allocated=None if pods is None else sum(p.memory for p in pods),
        labels=dict(minion.labels),
        pod_subnet=observed.bridge_subnet if observed is not None else "",
        error=observed.error if observed is not None else "",
    )


def minion_rows(inventory: Inventory, observed: Observed) -> list[MinionRow]:
    """Every minion of the inventory, in its order."""
    return [minion_row(m, observed.minions.get(m.name)) for m in inventory.minions]
