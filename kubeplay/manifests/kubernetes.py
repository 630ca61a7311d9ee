"""The desired state as Kubernetes objects of today (export): pure, from kubeplay's model to plain data.

A ReplicationController becomes an ``apps/v1`` Deployment (its selector as ``matchLabels``), a Service a ``v1``
Service (``containerPort`` -> ``targetPort``; the portal IP as ``clusterIP`` only when asked, since a real cluster
allocates its own), a Pod a ``v1`` Pod. A container's cpu and memory, which kubeplay gives Docker as limits
(kubeplay.quantities: millicores and bytes, whichever form they were written in), become both the requests and the
limits. A container's ``command`` becomes ``args``: kubeplay hands it to Docker as the image's CMD, keeping its
ENTRYPOINT, which is what ``args`` does in Kubernetes.

What Kubernetes reads differently is said in comments above the object: host ports (one pod per node and port), a
name made a DNS subdomain (``redisController`` -> ``redis-controller``), a label value that v1beta1 accepted but
Kubernetes refuses today. Inventory facts that have no Kubernetes object (a cordoned minion, minion labels) are
comments with the kubectl command that does the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from kubeplay.dataclass import dataclass
from kubeplay.model import Container, Desired, Inventory, Pod, PodSpec, Port, Probe, ReplicationController, Service

PULL_POLICIES = {"PullAlways": "Always", "PullNever": "Never", "PullIfNotPresent": "IfNotPresent"}
RESTART_POLICIES = {"always": "Always", "onFailure": "OnFailure", "never": "Never"}
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_LABEL_VALUE_MAX = 63


@dataclass(frozen=True)
class Exported:
    """One Kubernetes object, with the notes to show above it."""

    document: dict[str, Any]
    notes: tuple[str, ...]
    source: str
    """Where the object was read from (file:line)."""


def export(desired: Desired, *, keep_ips: bool = False) -> list[Exported]:
    """Every object of ``desired`` as Kubernetes has it today: services first (as ``kubectl apply`` would want them
    before their clients), then deployments, then pods."""
    return [
        *(_service(s, keep_ips) for s in desired.services),
        *(_deployment(rc) for rc in desired.controllers),
        *(_pod(p) for p in desired.pods),
    ]


def inventory_notes(inventory: Inventory) -> list[str]:
    """What the inventory says that a Kubernetes object cannot: cordons and minion labels, as kubectl commands."""
    notes = []
    for m in inventory.minions:
        if m.cordoned:
            notes.append(f"minion {m.name} is cordoned: kubectl cordon NODE (the node that takes its place)")
        if m.labels:
            pairs = " ".join(f"{k}={v}" for k, v in sorted(m.labels.items()))
            notes.append(f"minion {m.name} has labels {pairs}: kubectl label node NODE {pairs}")
    return notes


def kubernetes_name(name: str) -> str:
    """A name Kubernetes takes for any object (a lower-case DNS label): camelCase split with '-'."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def _metadata(kind: str, name: str, labels: Mapping[str, str], notes: list[str]) -> dict[str, Any]:
    exported = kubernetes_name(name)
    if exported != name:
        notes.append(f"{kind} {name} is named {exported}: Kubernetes names are lower case")
    metadata: dict[str, Any] = {"name": exported}
    if labels:
        metadata["labels"] = dict(labels)
    notes.extend(_label_notes(labels))
    return metadata


def _label_notes(labels: Mapping[str, str]) -> list[str]:
    return [
        f"label {key}={value!r} is refused by Kubernetes today (at most 63 letters, digits, '-', '_', '.', "
        "starting and ending with a letter or digit): change it before kubectl apply"
        for key, value in labels.items()
        if len(value) > _LABEL_VALUE_MAX or not _LABEL_VALUE.fullmatch(value)
    ]


def _deployment(rc: ReplicationController) -> Exported:
    notes: list[str] = []
    metadata = _metadata("ReplicationController", rc.name, rc.labels, notes)
    template_labels = dict(rc.template.labels)
    notes.extend(note for note in _label_notes(template_labels) if note not in notes)
    spec = {
        "replicas": rc.replicas,
        "selector": {"matchLabels": dict(rc.selector)},
        "template": {"metadata": {"labels": template_labels}, "spec": _pod_spec(rc.template.spec, notes)},
    }
    document = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}
    return Exported(document, tuple(notes), str(rc.source))


def _pod(pod: Pod) -> Exported:
    notes: list[str] = []
    metadata = _metadata("Pod", pod.name, pod.labels, notes)
    document = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": _pod_spec(pod.spec, notes)}
    return Exported(document, tuple(notes), str(pod.source))


def _service(service: Service, keep_ips: bool) -> Exported:
    notes: list[str] = []
    metadata = _metadata("Service", service.name, service.labels, notes)
    ports = []
    for p in service.ports:
        port: dict[str, Any] = {"name": p.name} if p.name else {}
        port.update(port=p.port, targetPort=p.target_port, protocol=p.protocol)
        ports.append(port)
    spec: dict[str, Any] = {"selector": dict(service.selector), "ports": ports}
    if service.portal_ip and keep_ips:
        spec["clusterIP"] = service.portal_ip
    elif service.portal_ip:
        notes.append(f"portal IP {service.portal_ip} left out: the cluster allocates one (--keep-ips keeps it)")
    if service.session_affinity != "None":
        spec["sessionAffinity"] = service.session_affinity
    if service.public_ips:
        spec["externalIPs"] = list(service.public_ips)
    document = {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}
    return Exported(document, tuple(notes), str(service.source))


def _pod_spec(spec: PodSpec, notes: list[str]) -> dict[str, Any]:
    exported: dict[str, Any] = {"containers": [_container(c, notes) for c in spec.containers]}
    if spec.volumes:
        exported["volumes"] = [
            {"name": v.name, "hostPath": {"path": v.host_path}} if v.host_path else {"name": v.name, "emptyDir": {}}
            for v in spec.volumes
        ]
    exported["restartPolicy"] = RESTART_POLICIES[spec.restart_policy]
    if spec.node_selector:
        exported["nodeSelector"] = dict(spec.node_selector)
    return exported


def _container(c: Container, notes: list[str]) -> dict[str, Any]:
    notes.extend(
        f"container {c.name} publishes hostPort {p.host_port}/{p.protocol} on its node: Kubernetes then runs at most "
        "one such pod per node; a Service of type NodePort or LoadBalancer is the usual way in"
        for p in c.ports
        if p.host_port
    )
    resources = _resources(c)
    optional: dict[str, Any] = {
        "args": list(c.command),
        "workingDir": c.working_dir,
        "ports": [_port_fields(p) for p in c.ports],
        "env": [{"name": e.name, "value": e.value} for e in c.env],
        "resources": {"requests": resources, "limits": dict(resources)} if resources else {},
        "volumeMounts": [
            {"name": m.name, "mountPath": m.mount_path, **({"readOnly": True} if m.read_only else {})}
            for m in c.volume_mounts
        ],
        "livenessProbe": _probe(c.liveness_probe) if c.liveness_probe else {},
        "securityContext": {"privileged": True} if c.privileged else {},
    }
    exported = {"name": c.name, "image": c.image, "imagePullPolicy": PULL_POLICIES[c.image_pull_policy]}
    return exported | _given(optional)


def _port_fields(p: Port) -> dict[str, Any]:
    fields = {"name": p.name, "containerPort": p.container_port, "protocol": p.protocol}
    return _given({**fields, "hostPort": p.host_port, "hostIP": p.host_ip})


def _resources(c: Container) -> dict[str, str]:
    """Millicores as "500m"; bytes in Gi, Mi or Ki when whole, else as a plain number."""
    return _given({"cpu": f"{c.cpu}m" if c.cpu else "", "memory": memory_quantity(c.memory) if c.memory else ""})


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that have a value (Kubernetes' defaults are its own when a field is left out)."""
    return {key: value for key, value in fields.items() if value}


def memory_quantity(size: int) -> str:
    for suffix, unit in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def _probe(probe: Probe) -> dict[str, Any]:
    handler: dict[str, Any]
    if probe.kind == "httpGet":
        handler = {"httpGet": {"path": probe.path, "port": probe.port, **({"host": probe.host} if probe.host else {})}}
    elif probe.kind == "tcpSocket":
        handler = {"tcpSocket": {"port": probe.port}}
    else:
        handler = {"exec": {"command": list(probe.command)}}
    return {**handler, "initialDelaySeconds": probe.initial_delay_seconds, "timeoutSeconds": probe.timeout_seconds}


def to_yaml(objects: Sequence[Exported], header: Sequence[str]) -> str:
    """The objects as one multi-document YAML text, each with its origin and notes as comments above it."""
    import yaml

    parts = ["".join(f"# {line}\n" for line in header)]
    for o in objects:
        notes = "".join(f"# {note}\n" for note in (f"from {o.source}", *o.notes))
        parts.append(f"---\n{notes}{yaml.safe_dump(o.document, sort_keys=False, default_flow_style=False)}")
    return "".join(parts)
