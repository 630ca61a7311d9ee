"""Documents to objects: which form and kind a document is, and the Pod, ReplicationController and Service readers.

The form is told by ``apiVersion`` (or the 2014 ``version``): ``v1beta1`` (also when absent) is the original form,
``v1`` the Kubernetes-style one; a document with ``metadata`` or ``spec`` but no apiVersion is taken as the latter.
A v1beta1 document without ``kind`` but with ``desiredState`` is a Pod, as the seed's redis.json is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from kubeplay.dataclass import dataclass, field
from kubeplay.errors import Problem
from kubeplay.limits import excerpt
from kubeplay.manifests.nodes import Fields, Report, did_you_mean, read_mapping
from kubeplay.manifests.podspec import (
    NO_SPEC,
    PROTOCOLS,
    Form,
    read_v1_spec,
    read_v1beta1_state,
)
from kubeplay.manifests.sources import Document
from kubeplay.model import (
    Pod,
    PodTemplate,
    ReplicationController,
    Service,
    ServicePort,
    SessionAffinity,
    Source,
)
from kubeplay.names import (
    LABEL_RULES,
    Era,
    LabelRules,
    accepted,
    dns_label_error,
    ipv4_error,
    label_key_error,
    port_name_error,
)
from kubeplay.selectors import format_selector

Object = Pod | ReplicationController | Service

API_VERSIONS: dict[str, Form] = {"v1beta1": "v1beta1", "v1": "v1"}
KINDS = ("Pod", "ReplicationController", "Service", "List")
SESSION_AFFINITIES: dict[str, SessionAffinity] = {"None": "None", "ClientIP": "ClientIP"}
MAX_REPLICAS = 10_000
"""The most replicas one controller may ask for: a bound on the work one manifest line can cause."""


@dataclass(frozen=True)
class Loaded:
    """An object read from a manifest, with where its name was given (for duplicate-name problems)."""

    object: Object
    kind: str
    name_field: str
    name_line: int | None


def read_document(document: Document, problems: list[Problem], warnings: list[Problem] | None = None) -> list[Loaded]:
    """The objects of one document; its problems are appended to ``problems``, its warnings to ``warnings``."""
    report = Report(document.file, problems, warnings=[] if warnings is None else warnings)
    return read_mapping(document.node, "", report, read_object) or []


def read_object(f: Fields) -> list[Loaded]:
    """One document or List item: dispatch on form and kind."""
    f.report.object = _given_name(f)
    kind = f.string("kind")
    form = _form(f)
    if form is None:
        f.ignore(*f.entries)
        return []
    if not kind and form == "v1beta1" and f.has("desiredState"):
        kind = "Pod"
    if kind == "List":
        f.ignore("metadata")
        items = f.each("items", read_object)
        f.report.object = ""
        return [loaded for item in items for loaded in item]
    reader = READERS.get((form, kind))
    if reader is None:
        if not kind:
            f.problem("kind", f'missing required field "kind" (one of {", ".join(KINDS)})')
        else:
            hint = did_you_mean(kind, [*KINDS])
            f.problem("kind", f'unknown kind "{kind}": expected one of {", ".join(KINDS)}{hint}')
        f.ignore(*f.entries)
        return []
    return [reader(f)]


def _given_name(f: Fields) -> str:
    """The object's name as written, to name it in problems found before its kind is known."""
    metadata = f.entries.get("metadata")
    name = f.entries.get("id")
    if name is None and metadata is not None and isinstance(metadata.value, dict):
        name = metadata.value.get("name")
    return name.value if name is not None and isinstance(name.value, str) else ""


def _form(f: Fields) -> Form | None:
    """The manifest form of this document; None (with a problem) for an unknown apiVersion."""
    api_version = f.string("apiVersion")
    version = f.string("version")
    key, given = ("apiVersion", api_version) if api_version or not version else ("version", version)
    if not given:
        if f.has("metadata") or f.has("spec"):
            f.problem("apiVersion", 'missing required field "apiVersion" (use "v1" with metadata and spec)')
            return "v1"
        return "v1beta1"
    if given not in API_VERSIONS:
        choices = list(API_VERSIONS)
        f.problem(key, f'unknown {key} "{given}": expected v1beta1 or v1{did_you_mean(given, choices)}')
        return None
    return API_VERSIONS[given]


# --- pods ----------------------------------------------------------------------------------------------------


def read_v1beta1_pod(f: Fields) -> Loaded:
    name, line = _object_name(f, "id", "Pod")
    labels = _labels(f, "labels", "v1beta1")
    spec = f.mapping("desiredState", partial(read_v1beta1_state, False), required=True) or NO_SPEC
    return Loaded(Pod(name, labels, spec, _source(f)), "Pod", f.field_path("id"), line)


def read_v1_pod(f: Fields) -> Loaded:
    metadata = f.mapping("metadata", partial(_read_metadata, "Pod"), required=True) or _NO_METADATA
    spec = f.mapping("spec", partial(read_v1_spec, False), required=True) or NO_SPEC
    return Loaded(Pod(metadata.name, metadata.labels, spec, _source(f)), "Pod", metadata.path, metadata.line)


# --- replication controllers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ControllerSpec:
    replicas: int
    selector: dict[str, str]
    template: PodTemplate


_NO_CONTROLLER = _ControllerSpec(1, {}, PodTemplate({}, NO_SPEC))
_RC = "ReplicationController"


def read_v1beta1_controller(f: Fields) -> Loaded:
    name, line = _object_name(f, "id", _RC, mixed_case=True)
    labels = _labels(f, "labels", "v1beta1")
    state = f.mapping("desiredState", partial(_read_controller_spec, "v1beta1"), required=True) or _NO_CONTROLLER
    return Loaded(_controller(f, name, labels, state), _RC, f.field_path("id"), line)


def read_v1_controller(f: Fields) -> Loaded:
    metadata = f.mapping("metadata", partial(_read_metadata, _RC), required=True) or _NO_METADATA
    spec = f.mapping("spec", partial(_read_controller_spec, "v1"), required=True) or _NO_CONTROLLER
    return Loaded(_controller(f, metadata.name, metadata.labels, spec), _RC, metadata.path, metadata.line)


def _controller(f: Fields, name: str, labels: dict[str, str], spec: _ControllerSpec) -> ReplicationController:
    """The controller's labels default to its template's, as in Kubernetes."""
    labels = labels or dict(spec.template.labels)
    return ReplicationController(name, labels, spec.replicas, spec.selector, spec.template, _source(f))


def _read_controller_spec(form: Form, f: Fields) -> _ControllerSpec:
    """v1beta1 ``desiredState`` (replicas, replicaSelector, podTemplate) or v1 ``spec`` (... selector, template)."""
    selector_key, template_key = ("replicaSelector", "podTemplate") if form == "v1beta1" else ("selector", "template")
    replicas = f.integer("replicas", default=1, minimum=0)
    if replicas > MAX_REPLICAS:
        f.problem("replicas", f"must be at most {MAX_REPLICAS}, got {replicas}")
        replicas = MAX_REPLICAS
    selector = _labels(f, selector_key, form)
    read_template = _read_v1beta1_template if form == "v1beta1" else _read_v1_template
    template = f.mapping(template_key, read_template, required=True) or PodTemplate({}, NO_SPEC)
    if not selector:
        selector = dict(template.labels)
        if not selector and f.has(template_key):
            f.problem(selector_key, "the selector is empty and the template has no labels to default it from")
    elif any(template.labels.get(key) != value for key, value in selector.items()):
        f.problem(
            selector_key,
            f"selector {format_selector(selector)} does not match the template's labels "
            f"{format_selector(template.labels) or '(none)'}: the controller would never count its own pods",
        )
    return _ControllerSpec(replicas, selector, template)


def _read_v1beta1_template(f: Fields) -> PodTemplate:
    labels = _labels(f, "labels", "v1beta1")
    spec = f.mapping("desiredState", partial(read_v1beta1_state, True), required=True) or NO_SPEC
    return PodTemplate(labels, spec)


def _read_v1_template(f: Fields) -> PodTemplate:
    labels = f.mapping("metadata", _read_template_metadata) or {}
    spec = f.mapping_once("spec", partial(read_v1_spec, True), "v1 template spec", required=True) or NO_SPEC
    return PodTemplate(labels, spec)


def _read_template_metadata(f: Fields) -> dict[str, str]:
    f.ignore("name")
    _annotations(f)
    return _labels(f, "labels", "v1")


# --- services ------------------------------------------------------------------------------------------------


def read_v1beta1_service(f: Fields) -> Loaded:
    name, line = _object_name(f, "id", "Service")
    labels = _labels(f, "labels", "v1beta1")
    selector = _service_selector(f, "v1beta1")
    port = f.port("port", required=True)
    target = _target_port(f, "containerPort") or port
    service_port = ServicePort(port, target, f.choice("protocol", PROTOCOLS, "TCP"))
    service = Service(
        name=name,
        labels=labels,
        selector=selector,
        ports=(service_port,),
        source=_source(f),
        portal_ip=_portal_ip(f, "portalIP"),
        session_affinity=f.choice("sessionAffinity", SESSION_AFFINITIES, "None"),
        public_ips=f.strings("publicIPs", ipv4_error),
    )
    return Loaded(service, "Service", f.field_path("id"), line)


def read_v1_service(f: Fields) -> Loaded:
    metadata = f.mapping("metadata", partial(_read_metadata, "Service"), required=True) or _NO_METADATA
    empty = Service(metadata.name, metadata.labels, {}, (), _source(f))
    spec = f.mapping("spec", partial(_read_v1_service_spec, empty), required=True)
    return Loaded(spec or empty, "Service", metadata.path, metadata.line)


def _read_v1_service_spec(service: Service, f: Fields) -> Service:
    """The ``spec`` of a Kubernetes-style service; name, labels and source come from ``service``."""
    selector = _service_selector(f, "v1")
    ports_node = f.entries.get("ports")
    several = ports_node is not None and isinstance(ports_node.value, list) and len(ports_node.value) > 1
    seen = _ServicePorts(several)
    return Service(  # (not dataclasses.replace: 5,000 services)
        service.name,
        service.labels,
        selector,
        tuple(f.each("ports", partial(_read_v1_service_port, seen), required=True)),
        service.source,
        portal_ip=_portal_ip(f, "clusterIP"),
        session_affinity=f.choice("sessionAffinity", SESSION_AFFINITIES, "None"),
        public_ips=f.strings("externalIPs", ipv4_error),
    )


@dataclass
class _ServicePorts:
    """What the ports of one service have used so far."""

    several: bool
    """More than one port: each needs a name, as in Kubernetes."""
    names: set[str] = field(default_factory=set)
    ports: set[tuple[int, str]] = field(default_factory=set)


def _read_v1_service_port(seen: _ServicePorts, f: Fields) -> ServicePort:
    names, ports = seen.names, seen.ports
    name = f.string("name")
    if not name and seen.several:
        f.problem("name", "each port needs a name when a service has several ports")
    if name:
        problem = port_name_error(name)
        if problem:
            f.problem("name", f"invalid port name {excerpt(name)}: {problem}")
        if name in names:
            f.problem("name", f'duplicate port name "{name}" in this service')
        names.add(name)
    port = f.port("port", required=True)
    protocol = f.choice("protocol", PROTOCOLS, "TCP")
    if port and (port, protocol) in ports:
        f.problem("port", f"port {port}/{protocol} is given more than once in this service")
    ports.add((port, protocol))
    target = _target_port(f, "targetPort") or port
    return ServicePort(port, target, protocol, name)


def _service_selector(f: Fields, form: Form) -> dict[str, str]:
    selector = _labels(f, "selector", form)
    if not selector and not f.has("selector"):
        f.problem("selector", 'missing required field "selector" (a service without one has no endpoints)')
    elif not selector:
        f.problem("selector", "the selector is empty: it would select no pods")
    return selector


def _target_port(f: Fields, key: str) -> int | str | None:
    target = f.port_or_name(key)
    if isinstance(target, str):
        problem = port_name_error(target)
        if problem:
            f.problem(key, f"invalid port name {excerpt(target)}: {problem}")
    return target


def _portal_ip(f: Fields, key: str) -> str:
    address = f.string(key)
    if address == "None" and key == "clusterIP":
        f.problem(key, "headless services (clusterIP: None) are not supported")
        return ""
    problem = ipv4_error(address) if address else None
    if problem:
        f.problem(key, f"invalid {key} {excerpt(address)}: {problem}")
    return address


# --- names, labels, metadata ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Metadata:
    name: str
    labels: dict[str, str]
    path: str
    line: int | None


_NO_METADATA = _Metadata("", {}, "metadata.name", None)


def _read_metadata(kind: str, f: Fields) -> _Metadata:
    name, line = _object_name(f, "name", kind, mixed_case=kind == _RC)
    namespace = f.string("namespace", default="default")
    if namespace != "default":
        f.problem("namespace", f'kubeplay has one namespace, "default" (got "{namespace}")')
    _annotations(f)
    return _Metadata(name, _labels(f, "labels", "v1"), f.field_path("name"), line)


def _object_name(f: Fields, key: str, kind: str, *, mixed_case: bool = False) -> tuple[str, int | None]:
    """Read the object's name and name the object in the problems that follow ("Pod redis")."""
    f.report.object = kind
    name = f.string(key, required=True)
    if name:
        f.report.object = f"{kind} {name}"
        problem = dns_label_error(name, mixed_case=mixed_case)
        if problem:
            f.problem(key, f"invalid name {excerpt(name)}: {problem}{_name_hint(name)}")
    return name, f.line(key)


def _name_hint(name: str) -> str:
    """' (try "web-server")' for "Web_Server", when that is a valid name."""
    candidate = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f' (try "{candidate}")' if candidate and not dns_label_error(candidate) else ""


LABEL_ERAS: dict[Form, Era] = {"v1beta1": "v0.4", "v1": "current"}
"""Whose rules check the labels and selectors of each form: the 2014 form's as the v0.4 apiserver did (any text,
with a warning where today's Kubernetes refuses it), the Kubernetes-style form's as Kubernetes does today."""
_ANNOTATION_RULES = LabelRules(era="Kubernetes", key_error=label_key_error, value_error=accepted)


def _labels(f: Fields, key: str, form: Form) -> dict[str, str]:
    return f.string_map(key, LABEL_RULES[LABEL_ERAS[form]])


def _annotations(f: Fields) -> None:
    f.string_map("annotations", _ANNOTATION_RULES)


def _source(f: Fields) -> Source:
    return Source(f.report.file, f.node.line)


READERS: dict[tuple[Form, str], Callable[[Fields], Loaded]] = {
    ("v1beta1", "Pod"): read_v1beta1_pod,
    ("v1", "Pod"): read_v1_pod,
    ("v1beta1", "ReplicationController"): read_v1beta1_controller,
    ("v1", "ReplicationController"): read_v1_controller,
    ("v1beta1", "Service"): read_v1beta1_service,
    ("v1", "Service"): read_v1_service,
}
