"""Field-level diff between the spec a pod was created from (kept in a label) and the desired spec. Pure."""

from __future__ import annotations

import json

from kubeplay.model import ObservedPod, Pod
from kubeplay.pods.labels import LABEL_SPEC
from kubeplay.pods.spechash import pod_document


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    """{"a": {"b": [1]}} -> {"a.b[0]": 1}; empty containers kept as leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, object] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def spec_diff(observed: ObservedPod, desired: Pod) -> list[str]:
    """Lines "- field: old" / "+ field: new" for every field that differs; one line when the old spec is unknown."""
    infra = observed.infra
    text = infra.labels.get(LABEL_SPEC, "") if infra else ""
    if not text:
        return ["~ the running pod's spec is unknown (no kubeplay.spec label): replaced as a whole"]
    old = flatten(json.loads(text))
    new = flatten(json.loads(pod_document(desired)))
    lines = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key, None) != new.get(key, None) or (key in old) != (key in new):
            if key in old:
                lines.append(f"- {key}: {json.dumps(old[key])}")
            if key in new:
                lines.append(f"+ {key}: {json.dumps(new[key])}")
    return lines
