"""Placing a rolling update's new replicas, step by step. Pure: no I/O.

The executor runs the placed steps of ``ReplicaPlan.rollout`` one after the other: create the step's new pods, wait
until they run, remove its old pods. So step k is scheduled on the cluster as it will be then: the new pods of the steps
before it in place, their old pods gone, its own old pods still standing. Standing, the old pods hold their host
ports and resources but are not counted for spreading (they are about to go), so a new pod takes the place of an
old one where it can and the controller stays spread.

When a step's new pods fit nowhere while its old pods stand (its host port is taken on every minion, capacity is
full), the step runs *in place*: its old pods are removed first and the new pods are placed on the room that frees,
which is where the old ones were. The step's old pods (at most ``max_unavailable``) are then the pods down, as the
contract of ``ReplicaPlan`` allows. A step that fits nowhere even so is unschedulable; the executor stops the
rollout there, so the later steps are not placed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kubeplay.dataclass import dataclass, field, replace
from kubeplay.model import ObservedPod, Pod
from kubeplay.planner.replicas import RolloutStep
from kubeplay.planner.scheduler import MinionInfo, PlacedPod, Schedule, Scheduler


@dataclass(frozen=True)
class PlacedStep:
    """One step of a rolling update, placed: what the executor runs."""

    controller: str
    create: tuple[tuple[Pod, str], ...]
    """Each new pod with the minion it goes to, or "" where it fits nowhere (the rollout stops at this step)."""
    remove: tuple[ObservedPod, ...]
    in_place: bool = False
    """Remove the old pods first (the new ones fit only where they are); else create the new ones first."""

    @property
    def unplaced(self) -> tuple[str, ...]:
        """Names of the new pods that fit nowhere."""
        return tuple(pod.name for pod, minion in self.create if not minion)


@dataclass(frozen=True)
class RolloutPlacement:
    steps: tuple[PlacedStep, ...]
    """Every step; the new pods of the steps after the first that does not fit are not placed."""
    unschedulable: dict[str, str]
    """New replica name -> why it fits nowhere, even with its step's old pods removed first."""
    misfits: dict[str, Mapping[str, str]] = field(default_factory=dict)
    """New replica name -> minion -> why that minion is no candidate (Schedule.misfits), for ``unschedulable``."""


def place_rollout(
    steps: Sequence[RolloutStep],
    scheduler: Scheduler,
    minions: Sequence[MinionInfo],
    placed: Sequence[PlacedPod],
    spread_selectors: Sequence[Mapping[str, str]] = (),
) -> RolloutPlacement:
    """Schedule every step on the cluster the steps before it leave (``placed``: the cluster before the rollout)."""
    cluster = list(placed)
    placed_steps: list[PlacedStep] = []
    for n, step in enumerate(steps):
        old = {(p.minion, p.name) for p in step.remove}
        without_old = [p for p in cluster if (p.minion, p.name) not in old]
        standing = [_leaving(p) if (p.minion, p.name) in old else p for p in cluster]
        schedule = scheduler(step.create, minions, standing, spread_selectors)
        in_place = False
        if schedule.unschedulable:
            first = scheduler(step.create, minions, without_old, spread_selectors)
            if len(first.unschedulable) < len(schedule.unschedulable):
                schedule, in_place = first, True
        placed_steps.append(_placed_step(step, schedule.placements, in_place))
        if schedule.unschedulable:  # the rollout stops here: the later steps are not placed
            placed_steps.extend(_placed_step(later, {}, in_place=False) for later in steps[n + 1 :])
            return RolloutPlacement(tuple(placed_steps), dict(schedule.unschedulable), dict(schedule.misfits))
        cluster = [*without_old, *_placed(step, schedule)]
    return RolloutPlacement(tuple(placed_steps), {})


def _placed_step(step: RolloutStep, placements: Mapping[str, str], in_place: bool) -> PlacedStep:
    create = tuple((pod, placements.get(pod.name, "")) for pod in step.create)
    return PlacedStep(step.controller, create, step.remove, in_place)


def _leaving(pod: PlacedPod) -> PlacedPod:
    """An old pod that holds its ports and resources until its step removes it, in no spread group."""
    return replace(pod, labels={}, controller="")


def _placed(step: RolloutStep, schedule: Schedule) -> list[PlacedPod]:
    return [PlacedPod.of(pod, schedule.placements[pod.name]) for pod in step.create]
