"""What `kubeplay kubecfg create` made, kept on the cluster itself (as the 2014 apiserver kept it in etcd).

kubecfg mode reads no manifests on its later runs: each object it creates (a pod, a replication controller, a
service) is recorded as a labelled Docker volume on every minion, named ``kpcfg_<project>_<kind>_<name>``. A volume
needs no image and runs nothing, and it carries no ``kubeplay.pod`` label, so apply's observation never lists it
and no plan ever removes it. Its labels: ``kubeplay.kubecfg`` (the kind: pods, replicationControllers, services),
``kubeplay.project``, and ``kubeplay.kubecfg-object``, the object as JSON: a pod's spec and a controller's template
in the normalised form the infra container keeps in ``kubeplay.spec`` (pods/spechash.py ``spec_data``, read back
by ``spec_from_data``), a service's fields as they are.

A run reads every reachable minion's records (``read``) and merges them (``merge``): a record on some minions only
(made while another was unreachable, or a minion new to the inventory) is what the cluster holds, and is written to
the others (``Merged.missing``); two copies that differ are resolved to the newest. Records are read like any data
from a minion: names and labels are checked, a record that does not read back is ignored with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from kubeplay.connectors.base import MinionConnection
from kubeplay.dataclass import asdict, dataclass, field, replace
from kubeplay.errors import KubeplayError
from kubeplay.manifests.objects import MAX_REPLICAS
from kubeplay.model import Desired, Pod, PodTemplate, ReplicationController, Service, Source
from kubeplay.names import dns_label_error, label_key_error, label_value_error
from kubeplay.parallel import in_parallel
from kubeplay.pods.labels import LABEL_PROJECT
from kubeplay.pods.spechash import from_data, spec_data, spec_from_data

LABEL_KIND = "kubeplay.kubecfg"
LABEL_OBJECT = "kubeplay.kubecfg-object"
PODS, CONTROLLERS, SERVICES = "pods", "replicationControllers", "services"
KINDS = (PODS, CONTROLLERS, SERVICES)
"""The kinds kubecfg creates, by the names of their paths (``/pods``, ...)."""

KubecfgObject = Pod | ReplicationController | Service


@dataclass(frozen=True)
class Record:
    """One object kubecfg created, as kept in a volume's labels."""

    kind: str
    name: str
    project: str
    body: str
    """The object as JSON (see the module docstring), with "created", when it was recorded (UTC, ISO 8601)."""

    @property
    def volume(self) -> str:
        return f"kpcfg_{self.project}_{self.kind}_{self.name}"

    @property
    def created(self) -> str:
        value = json.loads(self.body).get("created", "")
        return value if isinstance(value, str) else ""

    def labels(self) -> dict[str, str]:
        return {LABEL_KIND: self.kind, LABEL_PROJECT: self.project, LABEL_OBJECT: self.body}


# --- encode and decode (pure) ------------------------------------------------------------------------------------


def kind_of(obj: KubecfgObject) -> str:
    return PODS if isinstance(obj, Pod) else CONTROLLERS if isinstance(obj, ReplicationController) else SERVICES


def record_of(obj: KubecfgObject, project: str, created: str) -> Record:
    """The record of an object kubecfg creates."""
    body: dict[str, object]
    if isinstance(obj, Pod):
        body = {"labels": obj.labels, "spec": spec_data(obj.spec, obj.labels)["spec"]}
    elif isinstance(obj, ReplicationController):
        template = {"labels": obj.template.labels, "spec": spec_data(obj.template.spec, obj.template.labels)["spec"]}
        body = {"labels": obj.labels, "replicas": obj.replicas, "selector": obj.selector, "template": template}
    else:
        body = {k: v for k, v in asdict(obj).items() if k not in ("name", "source")}
    document = {"name": obj.name, **body, "created": created}
    return Record(kind_of(obj), obj.name, project, json.dumps(document, sort_keys=True, separators=(",", ":")))


def decode(record: Record) -> KubecfgObject:
    """The object a record holds; raises ValueError when it does not read back as one."""
    data = json.loads(record.body)
    if not isinstance(data, dict) or data.get("name") != record.name:
        raise ValueError("its name does not match its volume's")
    source = Source(f"{record.kind}/{record.name} (kept by kubecfg on the minions)")
    labels = _labels(data.get("labels", {}))
    obj: KubecfgObject
    if record.kind == PODS:
        obj = Pod(record.name, labels, spec_from_data(data.get("spec")), source)
    elif record.kind == CONTROLLERS:
        template, replicas = data.get("template"), data.get("replicas")
        if not isinstance(template, dict) or type(replicas) is not int or not 0 <= replicas <= MAX_REPLICAS:
            raise ValueError(f"a replication controller needs a template and 0 to {MAX_REPLICAS} replicas")
        pod = PodTemplate(_labels(template.get("labels", {})), spec_from_data(template.get("spec")))
        obj = ReplicationController(record.name, labels, replicas, _labels(data.get("selector", {})), pod, source)
    elif record.kind == SERVICES:
        fields = {k: v for k, v in data.items() if k != "created"}
        obj = from_data(Service, {**fields, "source": asdict(source)})  # type: ignore[assignment]
    else:
        raise ValueError(f"unknown kind {record.kind!r}")
    _check_names(obj)
    return obj


def _labels(value: object) -> dict[str, str]:
    labels = from_data(dict[str, str], value)
    assert isinstance(labels, dict)
    for key, text in labels.items():
        problem = label_key_error(key) or label_value_error(text)
        if problem:
            raise ValueError(f"label {key!r:.40}: {problem}")
    return labels


def _check_names(obj: KubecfgObject) -> None:
    problem = dns_label_error(obj.name, mixed_case=True)
    if problem:
        raise ValueError(f"name {obj.name!r:.40}: {problem}")
    if isinstance(obj, Service):
        _labels(obj.labels)
        _labels(obj.selector)


def desired_of(objects: Sequence[KubecfgObject]) -> Desired:
    return Desired(
        pods=tuple(o for o in objects if isinstance(o, Pod)),
        controllers=tuple(o for o in objects if isinstance(o, ReplicationController)),
        services=tuple(o for o in objects if isinstance(o, Service)),
    )


@dataclass(frozen=True)
class Merged:
    """The records of the cluster, merged over its minions."""

    records: Mapping[str, Record]
    """Volume name -> the record (the newest copy where copies differ)."""
    objects: Mapping[str, KubecfgObject]
    """Volume name -> the object its record holds (records that do not read back are left out)."""
    missing: Mapping[str, tuple[Record, ...]] = field(default_factory=dict)
    """Minion -> the records it lacks or holds an older copy of."""
    warnings: tuple[str, ...] = ()

    def of_project(self, project: str) -> list[KubecfgObject]:
        return [self.objects[v] for v, r in sorted(self.records.items()) if r.project == project and v in self.objects]


def merge(per_minion: Mapping[str, Mapping[str, Mapping[str, str]]]) -> Merged:
    """Merge each minion's labelled volumes (minion -> volume -> labels) into the cluster's records."""
    copies: dict[str, list[Record]] = {}
    for labels_of in per_minion.values():
        for volume, labels in labels_of.items():
            record = Record(labels.get(LABEL_KIND, ""), "", labels.get(LABEL_PROJECT, ""), labels.get(LABEL_OBJECT, ""))
            record = replace(record, name=volume.removeprefix(f"kpcfg_{record.project}_{record.kind}_"))
            if record.volume == volume:
                copies.setdefault(volume, []).append(record)
    records = {v: max(found, key=lambda r: (_created(r), r.body)) for v, found in copies.items()}
    objects: dict[str, KubecfgObject] = {}
    warnings = []
    for volume, record in sorted(records.items()):
        try:
            objects[volume] = decode(record)
        except (ValueError, TypeError, AssertionError) as exc:
            warnings.append(f"kubecfg's record {volume!r:.80} is ignored: it does not read back ({exc})")
    missing = {
        minion: tuple(r for v, r in sorted(records.items()) if v in objects and held.get(v, {}) != r.labels())
        for minion, held in per_minion.items()
    }
    return Merged(records, objects, {m: rs for m, rs in missing.items() if rs}, tuple(warnings))


def _created(record: Record) -> str:
    try:
        return record.created
    except (ValueError, AttributeError):
        return ""


# --- read and write over the run's connections -------------------------------------------------------------------


def read(connections: Mapping[str, MinionConnection], forks: int) -> dict[str, dict[str, dict[str, str]]]:
    """Each minion's kubecfg records: minion -> volume -> labels. Raises KubeplayError when a minion's cannot be
    read (what it holds is then unknown, and kubecfg mode changes nothing)."""

    def one(name: str) -> dict[str, dict[str, str]]:
        try:
            return connections[name].docker().labelled_volumes(LABEL_KIND)
        except Exception as exc:  # Docker's error or the SSH channel's under it
            raise KubeplayError(f"{name}: cannot read kubecfg's records: {exc}") from exc

    names = sorted(connections)
    return dict(zip(names, in_parallel(one, names, forks), strict=True))


def write(
    connections: Mapping[str, MinionConnection], records: Mapping[str, Sequence[Record]], forks: int
) -> list[str]:
    """Write the records to their minions (minion -> records; an older copy is replaced); the errors, one a line."""

    def one(name: str) -> list[str]:
        docker = connections[name].docker()
        errors = []
        for record in records[name]:
            try:
                docker.remove_volume(record.volume)
                docker.create_volume(record.volume, record.labels())
            except Exception as exc:  # Docker's error or the SSH channel's under it
                errors.append(f"{name}: cannot record {record.kind}/{record.name}: {exc}")
        return errors

    names = sorted(n for n in records if records[n] and n in connections)
    return [e for errors in in_parallel(one, names, forks) for e in errors]


def remove(connections: Mapping[str, MinionConnection], records: Sequence[Record], forks: int) -> list[str]:
    """Remove the records from every minion; the errors, one a line."""

    def one(name: str) -> list[str]:
        docker = connections[name].docker()
        errors = []
        for record in records:
            try:
                docker.remove_volume(record.volume)
            except Exception as exc:  # Docker's error or the SSH channel's under it
                errors.append(f"{name}: cannot remove the record of {record.kind}/{record.name}: {exc}")
        return errors

    return [e for errors in in_parallel(one, sorted(connections), forks) for e in errors]
