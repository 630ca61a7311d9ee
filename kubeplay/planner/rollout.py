"""Placing a rolling update's new replicas, step by step. Pure: no I/O.

The executor runs the steps of ``ReplicaPlan.rollout`` one after the other: create the step's new pods, wait until
they run, remove its old pods. So step k is scheduled on the cluster as it will be then: the new pods of the steps
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
from dataclasses import dataclass, replace

from kubeplay.planner.replicas import RolloutStep
from kubeplay.planner.scheduler import MinionInfo, PlacedPod, Schedule, Scheduler


@dataclass(frozen=True)
class RolloutPlacement:
    placements: dict[str, str]
    """New replica name -> minion, for every step up to the first that does not fit."""
    in_place: frozenset[int]
    """Indices (into the steps) of the steps run remove-first."""
    unschedulable: dict[str, str]
    """New replica name -> why it fits nowhere, even with its step's old pods removed first."""


def place_rollout(
    steps: Sequence[RolloutStep],
    scheduler: Scheduler,
    minions: Sequence[MinionInfo],
    placed: Sequence[PlacedPod],
    spread_selectors: Sequence[Mapping[str, str]] = (),
) -> RolloutPlacement:
    """Schedule every step on the cluster the steps before it leave (``placed``: the cluster before the rollout)."""
    cluster = list(placed)
    placements: dict[str, str] = {}
    in_place: set[int] = set()
    for index, step in enumerate(steps):
        old = {(p.minion, p.name) for p in step.remove}
        without_old = [p for p in cluster if (p.minion, p.name) not in old]
        standing = [_leaving(p) if (p.minion, p.name) in old else p for p in cluster]
        schedule = scheduler(step.create, minions, standing, spread_selectors)
        if schedule.unschedulable:
            first = scheduler(step.create, minions, without_old, spread_selectors)
            if len(first.unschedulable) < len(schedule.unschedulable):
                schedule = first
                in_place.add(index)
        placements.update(schedule.placements)
        if schedule.unschedulable:
            return RolloutPlacement(placements, frozenset(in_place), dict(schedule.unschedulable))
        cluster = [*without_old, *_placed(step, schedule)]
    return RolloutPlacement(placements, frozenset(in_place), {})


def _leaving(pod: PlacedPod) -> PlacedPod:
    """An old pod that holds its ports and resources until its step removes it, in no spread group."""
    return replace(pod, labels={}, controller="")


def _placed(step: RolloutStep, schedule: Schedule) -> list[PlacedPod]:
    return [PlacedPod.of(pod, schedule.placements[pod.name]) for pod in step.create]
