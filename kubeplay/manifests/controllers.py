"""Checks across replication controllers that need no cluster: run by every command that loads manifests, so
`validate` and `apply` refuse the same input.

Two controllers conflict only where a pod would be counted by both: when one's template labels are matched by
the other's selector, or when a declared standalone pod is matched by both selectors. Selectors on different keys
(`name=redis` and `app=web`) do not conflict by themselves. A pod on the cluster matched by both is the planner's
check (kubeplay.planner.replicas), since only observation can find one.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubeplay.errors import Problem
from kubeplay.model import Pod, ReplicationController
from kubeplay.selectors import format_selector, matches, selecting


def controller_problems(controllers: Sequence[ReplicationController], pods: Sequence[Pod]) -> list[Problem]:
    """Every pair of controllers that would count the same pod (a template its own selector misses is found with
    the controller itself, in kubeplay.manifests.objects), in the order of the controllers."""
    problems: list[Problem] = []
    for i, j in sorted(_overlapping(controllers, pods)):
        problems.extend(_pair_problems(controllers[i], controllers[j], pods))
    return problems


def _overlapping(controllers: Sequence[ReplicationController], pods: Sequence[Pod]) -> set[tuple[int, int]]:
    """The pairs (i < j) of controllers that may count the same pod: one's selector matches the other's template
    labels, or both match a declared pod. Found through indexes of labels and selectors by each key=value pair
    (5,000 controllers: not 12.5 million pairs)."""
    counting = selecting([rc.selector for rc in controllers])
    found: set[tuple[int, int]] = set()
    for index, rc in enumerate(controllers):
        found.update(_pair(index, other) for other in counting(rc.template.labels))
    for pod in pods:
        both = counting(pod.labels)
        found.update((a, b) for n, a in enumerate(both) for b in both[n + 1 :])
    return {pair for pair in found if pair[0] != pair[1]}


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _pair_problems(a: ReplicationController, b: ReplicationController, pods: Sequence[Pod]) -> list[Problem]:
    for counted, other in ((a, b), (b, a)):
        if other.selector and matches(other.selector, counted.template.labels):
            labels = format_selector(counted.template.labels)
            return [
                controller_problem(
                    counted,
                    f"its pods (template labels {labels}) are also matched by the selector "
                    f"{format_selector(other.selector)} of {_named(other)}: both would count them",
                )
            ]
    both = [
        p for p in pods if a.selector and b.selector and matches(a.selector, p.labels) and matches(b.selector, p.labels)
    ]
    return [
        controller_problem(
            a, f"pod {p.name} ({p.source}) is matched by its selector and by {_named(b)}'s: both would count it"
        )
        for p in both
    ]


def _named(rc: ReplicationController) -> str:
    return f"ReplicationController {rc.name} ({rc.source})"


def controller_problem(rc: ReplicationController, message: str) -> Problem:
    return Problem(file=rc.source.file, line=rc.source.line, object=f"ReplicationController {rc.name}", message=message)
