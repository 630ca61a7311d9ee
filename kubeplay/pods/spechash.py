"""The hash of a pod's normalised spec, stored in a label on every container kubeplay creates.

Change detection is a compare of this hash with the desired pod's hash (as Docker Compose's config-hash does),
never a field-by-field compare of Docker's view of a container. Values of environment variables that look secret
are in the document (and so in the hash) as fingerprints only (kubeplay.pods.secrets).
"""

from __future__ import annotations

import copy
import hashlib
import json
import types
import typing
from collections.abc import Callable
from typing import Any

from kubeplay.dataclass import fields, is_dataclass
from kubeplay.model import Pod, PodSpec
from kubeplay.pods.secrets import fingerprint, looks_secret


def spec_data(spec: PodSpec, labels: dict[str, str], *, show_secrets: bool = False) -> dict[str, object]:
    """The normalised spec and labels as data, secret-looking env values fingerprinted unless ``show_secrets``."""
    data = _as_data(spec)
    if not show_secrets:
        for container in data["containers"]:
            for env in container["env"]:
                if looks_secret(env["name"]):
                    env["value"] = fingerprint(container["name"], env["name"], env["value"])
    return {"spec": data, "labels": dict(sorted(labels.items()))}


_FIELDS: dict[type, tuple[str, ...]] = {}


def _as_data(value: Any) -> Any:
    """``dataclasses.asdict``, without its deep copy of every value (what it copies here is immutable) and with each
    class's fields looked up once: a spec hash per pod of 20,000 took seconds."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    names = _FIELDS.get(kind)
    if names is None and is_dataclass(kind):
        names = _FIELDS[kind] = tuple(f.name for f in fields(kind))
    if names is not None:
        data = {}
        for name in names:  # (a field's scalar value taken as it is, without a call: most of them)
            item = getattr(value, name)
            data[name] = item if type(item) in _SCALARS else _as_data(item)
        return data
    if kind is tuple or kind is list:
        return kind([_as_data(item) for item in value])
    if kind is dict:
        return {_as_data(key): _as_data(item) for key, item in value.items()}
    return copy.deepcopy(value)  # (as asdict does)


_SCALARS = frozenset({str, int, float, bool, type(None), frozenset})


def spec_document(spec: PodSpec, labels: dict[str, str]) -> str:
    """The normalised spec and labels as compact JSON: what the hash is of, kept on the infra container for --diff.
    Secret-looking env values are in it as fingerprints only.

    The spec's part is made once per spec object (a controller's replicas share their template's): this is
    ``json.dumps(spec_data(spec, labels), sort_keys=True, separators=(",", ":"))``, "labels" sorting first."""
    return f'{{"labels":{_COMPACT.encode(labels)},"spec":{_spec_json(spec)}}}'


_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
"""``json.dumps(value, sort_keys=True, separators=(",", ":"))``, without making an encoder for each value."""


_SPEC_JSON: dict[int, tuple[PodSpec, str]] = {}
"""id(spec) -> the spec (kept, so its id is not reused meanwhile) and its JSON; emptied when it grows large."""


def _spec_json(spec: PodSpec) -> str:
    found = _SPEC_JSON.get(id(spec))
    if found is not None and found[0] is spec:
        return found[1]
    if len(_SPEC_JSON) >= 65536:
        _SPEC_JSON.clear()
    made = _COMPACT.encode(spec_data(spec, {})["spec"])
    _SPEC_JSON[id(spec)] = (spec, made)
    return made


_SPEC_HASH: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[PodSpec, str]] = {}
"""(id(spec), its labels) -> the spec (kept, so its id is not reused meanwhile) and the hash; emptied when large."""


def spec_hash(spec: PodSpec, labels: dict[str, str]) -> str:
    """A short stable hash of a pod spec and its labels (labels live on containers, so they are part of it).

    Made once per spec object and labels (a controller's replicas share their template's spec and labels)."""
    same = _SPEC_HASH_OF_OBJECTS.get((id(spec), id(labels)))
    if same is not None and same[0] is spec and same[1] is labels:
        return same[2]
    key = (id(spec), tuple(sorted(labels.items())))
    found = _SPEC_HASH.get(key)
    if found is not None and found[0] is spec:
        made = found[1]
    else:
        made = hashlib.sha256(spec_document(spec, labels).encode()).hexdigest()[:16]
    if len(_SPEC_HASH) >= 65536 or len(_SPEC_HASH_OF_OBJECTS) >= 65536:
        _SPEC_HASH.clear()
        _SPEC_HASH_OF_OBJECTS.clear()
    _SPEC_HASH[key] = (spec, made)
    _SPEC_HASH_OF_OBJECTS[id(spec), id(labels)] = (spec, labels, made)
    return made


_SPEC_HASH_OF_OBJECTS: dict[tuple[int, int], tuple[PodSpec, dict[str, str], str]] = {}
"""(id(spec), id(labels)) -> both (kept, so their ids are not reused meanwhile) and the hash: the same two objects
again (a controller's replicas share its template's) are found without sorting the labels (never mutated)."""


def pod_hash(pod: Pod) -> str:
    return spec_hash(pod.spec, pod.labels)


def pod_document(pod: Pod) -> str:
    return spec_document(pod.spec, pod.labels)


def spec_from_data(data: object) -> PodSpec:
    """The PodSpec that ``spec_data(spec, ...)["spec"]`` was made from: its inverse, for a spec kept on the cluster
    (``spec_hash`` of the result equals the one it was made with). Raises ValueError for data of another shape."""
    spec = from_data(PodSpec, data)
    assert isinstance(spec, PodSpec)
    return spec


def from_data(kind: Any, data: object) -> object:
    """``data`` (JSON as dataclasses.asdict wrote it) as a value of the type ``kind``: a model dataclass, a tuple,
    a dict of strings, a union, a Literal, int, str or bool. Raises ValueError for data of another shape."""
    if isinstance(kind, type) and is_dataclass(kind):
        return _dataclass(kind, data)
    decode = _DECODERS.get(typing.get_origin(kind))
    if decode is not None:
        return decode(kind, data)
    if kind in (int, str, bool) and type(data) is not kind:
        raise ValueError(f"expected {kind.__name__}, got {data!r:.40}")
    return data


def _dataclass(kind: type[Any], data: object) -> object:
    if not isinstance(data, dict):
        raise ValueError(f"expected an object for {kind.__name__}, got {data!r:.40}")
    hints = typing.get_type_hints(kind)
    unknown = set(data) - {f.name for f in fields(kind)}
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r} in {kind.__name__}")
    try:
        return kind(**{name: from_data(hints[name], value) for name, value in data.items()})
    except TypeError as exc:  # a required field missing
        raise ValueError(f"{kind.__name__}: {exc}") from None


def _tuple(kind: Any, data: object) -> object:
    if not isinstance(data, list):
        raise ValueError(f"expected a list, got {data!r:.40}")
    return tuple(from_data(typing.get_args(kind)[0], item) for item in data)


def _strings(kind: Any, data: object) -> object:
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"expected an object of strings, got {data!r:.40}")
    return {str(k): v for k, v in data.items()}


def _union(kind: Any, data: object) -> object:
    for option in typing.get_args(kind):
        if option is type(None):
            if data is None:
                return None
            continue
        try:
            return from_data(option, data)
        except ValueError:
            continue
    raise ValueError(f"unexpected value {data!r:.40}")


def _literal(kind: Any, data: object) -> object:
    if data not in typing.get_args(kind):
        raise ValueError(f"unexpected value {data!r:.40}")
    return data


_DECODERS: dict[object, Callable[[Any, object], object]] = {
    tuple: _tuple,
    dict: _strings,
    types.UnionType: _union,
    typing.Union: _union,
    typing.Literal: _literal,
}
