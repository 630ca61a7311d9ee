"""Summaries of a run and of the cluster for the CLI: the recap per minion, the controllers' rows. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kubeplay.cli.views import pod_status
from kubeplay.kubelet.execute import Result
from kubeplay.model import Desired, Inventory, Observed
from kubeplay.planner.pods import Plan
from kubeplay.proxy.sync import NetworkResult
from kubeplay.selectors import matches


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
                failed=sum(1 for ok in mine if not ok) + sum(1 for f in plan.failures if f.minion == m.name),
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
