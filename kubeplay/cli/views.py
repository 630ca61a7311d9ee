"""What `get` shows of the observed cluster: pod status and rows. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from kubeplay.model import Desired, Observed, ObservedPod
from kubeplay.selectors import format_selector


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
                )
            )
    return sorted(rows, key=lambda r: (r.name, r.minion))


def unknown_rows(desired: Desired, observed: Observed) -> list[PodRow]:
    """Pods of the manifests found on no reachable minion while some minion is unreachable: they may be there,
    so their status is Unknown (not Pending, not gone)."""
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
        )
        for pod in desired.pods
        if pod.name not in seen
    ]
