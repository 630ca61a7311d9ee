"""How far a controller's rollout has come (`rollout status`): its replicas on the cluster against its template. Pure.

A replica is updated when the spec hash on its containers is the template's (kubeplay.pods.spechash), as the
replica planner decides what to replace. The rollout is done when the controller has exactly its desired count of
replicas, every one updated and running, and no minion that could hold one was unreachable.
"""

from __future__ import annotations

from kubeplay.dataclass import dataclass
from kubeplay.model import Observed, ReplicationController
from kubeplay.pods.spechash import spec_hash


@dataclass(frozen=True)
class RolloutProgress:
    controller: str
    desired: int
    replicas: int
    """The controller's replicas on reachable minions, of the project."""
    updated: int
    """Of those, the ones made from the current template."""
    ready: int
    """Of the updated ones, those running (every container up, none unhealthy)."""
    unreachable: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return self.replicas == self.updated == self.ready == self.desired and not self.unreachable

    def line(self) -> str:
        if self.done:
            return f"{self.controller}: rolled out: {self.ready} of {self.desired} replicas updated and running"
        said = [f"{self.updated} of {self.desired} replicas updated, {self.ready} of them running"]
        old = self.replicas - self.updated
        if old:
            said.append(f"{old} old")
        if self.unreachable:
            said.append(f"unknown on unreachable {', '.join(self.unreachable)}")
        return f"{self.controller}: " + "; ".join(said)


def rollout_progress(rc: ReplicationController, observed: Observed, project: str) -> RolloutProgress:
    """Where the rollout of ``rc`` (of ``project``) stands on the cluster as observed."""
    template = spec_hash(rc.template.spec, rc.template.labels)
    replicas = [p for p in observed.pods if p.controller == rc.name and p.project == project]
    updated = [p for p in replicas if p.spec_hash == template]
    return RolloutProgress(
        controller=rc.name,
        desired=rc.replicas,
        replicas=len(replicas),
        updated=len(updated),
        ready=sum(1 for p in updated if p.running),
        unreachable=observed.unreachable,
    )
