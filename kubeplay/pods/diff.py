"""Field-level diff between the spec a pod was created from (kept in a label) and the desired spec. Pure.

Values of secret-looking environment variables (kubeplay.pods.secrets) are compared by fingerprint and shown as
``MASK``, so the diff says which one changed and never what it was or is, unless ``show_secrets``.
"""

from __future__ import annotations

import json
import re

from kubeplay.model import ObservedPod, Pod
from kubeplay.pods.labels import LABEL_SPEC
from kubeplay.pods.secrets import MASK, looks_secret
from kubeplay.pods.spechash import pod_document, spec_data

_ENV_NAME = re.compile(r"spec\.containers\[\d+\]\.env\[\d+\]\.name")


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    """{"a": {"b": [1]}} -> {"a.b[0]": 1}; empty containers kept as leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, object] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list | tuple) and value:
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def secret_values(flat: dict[str, object]) -> set[str]:
    """The flattened keys of the env values whose variable names look secret."""
    return {
        key.removesuffix("name") + "value"
        for key, name in flat.items()
        if isinstance(name, str) and _ENV_NAME.fullmatch(key) and looks_secret(name)
    }


def spec_diff(observed: ObservedPod, desired: Pod, *, show_secrets: bool = False) -> list[str]:
    """Lines "- field: old" / "+ field: new" for every field that differs; one line when the old spec is unknown.
    Secret-looking env values differ by fingerprint and show as MASK (the new one in clear with ``show_secrets``)."""
    infra = observed.infra
    text = infra.labels.get(LABEL_SPEC, "") if infra else ""
    if not text:
        return ["~ the running pod's spec is unknown (no kubeplay.spec label): replaced as a whole"]
    try:
        old = flatten(json.loads(text))
    except ValueError:
        return ["~ the running pod's spec is unknown (its kubeplay.spec label is not JSON): replaced as a whole"]
    new = flatten(json.loads(pod_document(desired)))
    shown = flatten(spec_data(desired.spec, desired.labels, show_secrets=show_secrets))
    hidden = set() if show_secrets else secret_values(old) | secret_values(new)
    lines = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key, None) != new.get(key, None) or (key in old) != (key in new):
            if key in old:
                lines.append(f"- {key}: {MASK if key in hidden else json.dumps(old[key])}")
            if key in new:
                lines.append(f"+ {key}: {MASK if key in hidden else json.dumps(shown[key])}")
    return lines
