"""The hash of a pod's normalised spec, stored in a label on every container kubeplay creates.

Change detection is a compare of this hash with the desired pod's hash (as Docker Compose's config-hash does),
never a field-by-field compare of Docker's view of a container. Values of environment variables that look secret
are in the document (and so in the hash) as fingerprints only (kubeplay.pods.secrets).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from kubeplay.model import Pod, PodSpec
from kubeplay.pods.secrets import fingerprint, looks_secret


def spec_data(spec: PodSpec, labels: dict[str, str], *, show_secrets: bool = False) -> dict[str, object]:
    """The normalised spec and labels as data, secret-looking env values fingerprinted unless ``show_secrets``."""
    data = dataclasses.asdict(spec)
    if not show_secrets:
        for container in data["containers"]:
            for env in container["env"]:
                if looks_secret(env["name"]):
                    env["value"] = fingerprint(container["name"], env["name"], env["value"])
    return {"spec": data, "labels": dict(sorted(labels.items()))}


def spec_document(spec: PodSpec, labels: dict[str, str]) -> str:
    """The normalised spec and labels as compact JSON: what the hash is of, kept on the infra container for --diff.
    Secret-looking env values are in it as fingerprints only."""
    return json.dumps(spec_data(spec, labels), sort_keys=True, separators=(",", ":"))


def spec_hash(spec: PodSpec, labels: dict[str, str]) -> str:
    """A short stable hash of a pod spec and its labels (labels live on containers, so they are part of it)."""
    return hashlib.sha256(spec_document(spec, labels).encode()).hexdigest()[:16]


def pod_hash(pod: Pod) -> str:
    return spec_hash(pod.spec, pod.labels)


def pod_document(pod: Pod) -> str:
    return spec_document(pod.spec, pod.labels)
