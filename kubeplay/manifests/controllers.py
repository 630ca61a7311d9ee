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
from kubeplay.selectors import format_selector, matches


def controller_problems(controllers: Sequence[ReplicationController], pods: Sequence[Pod]) -> list[Problem]:
    """Every pair of controllers that would count the same pod (a template its own selector misses is found with
    the controller itself, in kubeplay.manifests.objects)."""
    problems: list[Problem] = []
    for i, a in enumerate(controllers):
        for b in controllers[i + 1 :]:
            problems.extend(_pair_problems(a, b, pods))
    return problems


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
