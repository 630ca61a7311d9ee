"""The hash of a pod's normalised spec, stored in a label on every container kubeplay creates.

Change detection is a compare of this hash with the desired pod's hash (as Docker Compose's config-hash does),
never a field-by-field compare of Docker's view of a container.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from kubeplay.model import Pod, PodSpec


def spec_document(spec: PodSpec, labels: dict[str, str]) -> str:
    """The normalised spec and labels as compact JSON: what the hash is of, kept on the infra container for --diff."""
    data = {"spec": dataclasses.asdict(spec), "labels": dict(sorted(labels.items()))}
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def spec_hash(spec: PodSpec, labels: dict[str, str]) -> str:
    """A short stable hash of a pod spec and its labels (labels live on containers, so they are part of it)."""
    return hashlib.sha256(spec_document(spec, labels).encode()).hexdigest()[:16]


def pod_hash(pod: Pod) -> str:
    return spec_hash(pod.spec, pod.labels)


def pod_document(pod: Pod) -> str:
    return spec_document(pod.spec, pod.labels)
