"""What the inventory already decides before anything connects: a pod that every minion refuses.

The scheduler asks each minion's consent (privileged containers, host paths: ``scheduler.consent_refusal``) when
it places a pod; when the inventory refuses a pod on every minion, no observation can change that, so ``validate``
and every command report it as an input problem, with the pod's file and line, before the first connection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from kubeplay.errors import Problem
from kubeplay.model import Desired, Inventory, Pod
from kubeplay.planner.scheduler import consent_class, consent_refusal, minion_info


def refused_everywhere(desired: Desired, inventory: Inventory) -> list[Problem]:
    """A problem for each pod (standalone, or a controller's template) that no minion of the inventory consents to."""
    minions = [minion_info(m, None) for m in inventory.minions]
    problems = []
    asked: dict[object, list[str]] = {}
    """The refusals for each consent class (pods alike in what they ask are refused alike): once per class, not
    once per pod and minion (5,000 controllers over 1,000 minions)."""
    for kind, pod in _pods(desired):
        key = consent_class(pod)
        refusals = asked.get(key)  # (one look-up: a class is hashed and compared field by field)
        if refusals is None:
            refusals = asked[key] = [r for r in (consent_refusal(pod, m) for m in minions) if r is not None]
        if minions and len(refusals) == len(minions):
            counted = ", ".join(f"{n} {reason}" for reason, n in Counter(refusals).most_common())
            message = f"no minion of the inventory allows this pod: {counted}"
            problems.append(Problem(pod.source.file, message, pod.source.line, f"{kind} {pod.name}"))
    return problems


def _pods(desired: Desired) -> Iterator[tuple[str, Pod]]:
    for pod in desired.pods:
        yield "Pod", pod
    for rc in desired.controllers:
        yield "ReplicationController", rc.replica(rc.name)
