"""Pod specs in both manifest forms: containers, ports, env, resources, volumes, probes, restart policy.

The v1beta1 ``desiredState.manifest`` and the Kubernetes-style ``spec`` share most container fields; where they
differ (resources, privileged, args, pull policy names, volume sources, restart policy) ``PodContext.form`` decides.
Checks that span fields (duplicate names and host ports, probe ports, volume mounts) are made while reading, so
each problem points at the exact field and line.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

from kubeplay.dataclass import dataclass, field, replace
from kubeplay.limits import excerpt
from kubeplay.manifests.nodes import Fields
from kubeplay.model import (
    Container,
    EnvVar,
    PodSpec,
    Port,
    Probe,
    Protocol,
    PullPolicy,
    RestartPolicy,
    Volume,
    VolumeMount,
)
from kubeplay.names import (
    LABEL_RULES,
    dns_label_error,
    env_name_error,
    host_name_error,
    http_path_error,
    image_error,
    ipv4_error,
    path_error,
    port_name_error,
    text_error,
)
from kubeplay.quantities import DOCKER_MIN_MEMORY, parse_cpu, parse_memory

Form = Literal["v1beta1", "v1"]

PROTOCOLS: dict[str, Protocol] = {"TCP": "TCP", "UDP": "UDP"}
PULL_POLICIES: dict[Form, dict[str, PullPolicy]] = {
    "v1beta1": {"PullAlways": "PullAlways", "PullNever": "PullNever", "PullIfNotPresent": "PullIfNotPresent"},
    "v1": {"Always": "PullAlways", "Never": "PullNever", "IfNotPresent": "PullIfNotPresent"},
}
RESTART_POLICIES: dict[Form, dict[str, RestartPolicy]] = {
    "v1beta1": {"always": "always", "onFailure": "onFailure", "never": "never"},
    "v1": {"Always": "always", "OnFailure": "onFailure", "Never": "never"},
}
PROBE_KINDS = ("httpGet", "tcpSocket", "exec")
NODE_SELECTOR_RULES = LABEL_RULES["current"]
"""A nodeSelector is matched against the minions' labels, which the inventory checks by today's rules."""

_V1BETA1_HINTS = {
    "args": 'v1beta1 containers take the whole command in "command"',
    "resources": 'v1beta1 containers take "cpu" (millicores) and "memory" (bytes)',
    "securityContext": 'v1beta1 containers take "privileged"',
}
_V1_HINTS = {
    "cpu": 'use "resources.limits.cpu"',
    "memory": 'use "resources.limits.memory"',
    "privileged": 'use "securityContext.privileged"',
}


@dataclass
class PodContext:
    """What one pod's readers share: the form, and names already seen, for checks across fields."""

    form: Form
    in_controller: bool = False
    volumes: set[str] = field(default_factory=set)
    containers: dict[str, str] = field(default_factory=dict)
    """Container name -> field path of the container that has it."""
    host_ports: dict[tuple[int, Protocol], str] = field(default_factory=dict)
    """(hostPort, protocol) -> field path of the port that publishes it."""


NO_SPEC = PodSpec(containers=())


# --- pod level -----------------------------------------------------------------------------------------------


def read_v1beta1_state(in_controller: bool, f: Fields) -> PodSpec:
    """A v1beta1 pod ``desiredState``: ``manifest`` and ``nodeSelector``."""
    node_selector = f.string_map("nodeSelector", NODE_SELECTOR_RULES)
    spec = f.mapping("manifest", partial(read_v1beta1_manifest, in_controller), required=True) or NO_SPEC
    return replace(spec, node_selector=node_selector)


def read_v1beta1_manifest(in_controller: bool, f: Fields) -> PodSpec:
    """A v1beta1 container manifest (``desiredState.manifest``)."""
    context = PodContext("v1beta1", in_controller)
    f.choice("version", {"v1beta1": "v1beta1"}, "v1beta1")
    f.ignore("id", "uuid")
    volumes = f.each("volumes", partial(read_volume, context))
    containers = f.each("containers", partial(read_container, context), required=True)
    restart_policy = f.mapping("restartPolicy", read_v1beta1_restart_policy) or "always"
    _check_controller_restarts(context, f, restart_policy)
    return PodSpec(tuple(containers), tuple(volumes), restart_policy)


def read_v1_spec(in_controller: bool, f: Fields) -> PodSpec:
    """A Kubernetes-style pod ``spec``."""
    context = PodContext("v1", in_controller)
    volumes = f.each("volumes", partial(read_volume, context))
    containers = f.each("containers", partial(read_container, context), required=True)
    restart_policy = f.choice("restartPolicy", RESTART_POLICIES["v1"], "always")
    _check_controller_restarts(context, f, restart_policy)
    node_selector = f.string_map("nodeSelector", NODE_SELECTOR_RULES)
    return PodSpec(tuple(containers), tuple(volumes), restart_policy, node_selector)


def read_v1beta1_restart_policy(f: Fields) -> RestartPolicy:
    """``{"always": {}}``, ``{"onFailure": {}}`` or ``{"never": {}}``; an empty mapping means always."""
    chosen = [name for name in RESTART_POLICIES["v1beta1"] if name in f.entries]
    for name in RESTART_POLICIES["v1beta1"]:
        f.mapping(name, _no_fields)
    if len(chosen) > 1:
        f.report.add(f"give only one of always, onFailure, never (found {', '.join(chosen)})", f.node.line, f.path)
    return RESTART_POLICIES["v1beta1"][chosen[0]] if chosen else "always"


def _check_controller_restarts(context: PodContext, f: Fields, policy: RestartPolicy) -> None:
    if context.in_controller and policy != "always":
        f.problem("restartPolicy", "a replication controller's pods must restart always")


def _no_fields(f: Fields) -> None:
    """A mapping that must be empty, such as ``emptyDir: {}``."""


# --- volumes -------------------------------------------------------------------------------------------------


def read_volume(context: PodContext, f: Fields) -> Volume:
    name = _unique_name(f, "name", context.volumes, "volume")
    if context.form == "v1beta1":
        host_path = f.mapping("source", partial(_read_volume_source, ("emptyDir", "hostDir"))) or ""
    else:
        host_path = _read_volume_source(("emptyDir", "hostPath"), f)
    return Volume(name, host_path)


def _read_volume_source(kinds: tuple[str, str], f: Fields) -> str:
    """The host path of a volume source, "" for emptyDir (also when no source is given)."""
    empty_dir, host_dir = kinds
    given = [kind for kind in kinds if f.has(kind)]
    f.mapping(empty_dir, _no_fields)
    host_path = f.mapping(host_dir, _read_host_path) or ""
    if len(given) > 1:
        f.report.add(f"give only one of {empty_dir}, {host_dir}", f.node.line, f.path)
    return host_path


def _read_host_path(f: Fields) -> str:
    """The minion's path, checked for syntax here; whether a minion consents to it is kubeplay.pods.hostpaths'."""
    return _path(f, "path", required=True)


# --- containers ----------------------------------------------------------------------------------------------


def read_container(context: PodContext, f: Fields) -> Container:
    f.suggest(_V1BETA1_HINTS if context.form == "v1beta1" else _V1_HINTS)
    name = f.string("name", required=True)
    _check_name(f, "name", name, "container")
    if name in context.containers:
        f.problem("name", f'duplicate container name "{name}" (also {context.containers[name]})')
    context.containers.setdefault(name, f.path)
    image = f.string("image", required=True)
    if image:
        _check(f, "image", image_error(image))
    port_names: set[str] = set()
    ports = f.each("ports", partial(read_port, context, port_names))
    cpu, memory = _read_resources(context.form, f)
    mount_paths: set[str] = set()
    return Container(
        name=name,
        image=image,
        command=f.strings("command", text_error) + (f.strings("args", text_error) if context.form == "v1" else ()),
        working_dir=_absolute_path(f, "workingDir"),
        ports=tuple(ports),
        env=tuple(f.each("env", read_env)),
        cpu=cpu,
        memory=memory,
        volume_mounts=tuple(f.each("volumeMounts", partial(read_volume_mount, context, mount_paths))),
        image_pull_policy=f.choice("imagePullPolicy", PULL_POLICIES[context.form], "PullIfNotPresent"),
        liveness_probe=f.mapping("livenessProbe", partial(read_probe, port_names)),
        privileged=_read_privileged(context.form, f),
    )


def read_port(context: PodContext, names: set[str], f: Fields) -> Port:
    container_port = f.port("containerPort", required=True)
    host_port = f.port("hostPort", allow_zero=True)
    protocol = f.choice("protocol", PROTOCOLS, "TCP")
    host_ip = f.string("hostIP")
    if host_ip:
        _check(f, "hostIP", ipv4_error(host_ip))
    name = f.string("name")
    if name:
        _check(f, "name", port_name_error(name), "port name")
        if name in names:
            f.problem("name", f'duplicate port name "{name}" in this container')
        names.add(name)
    if host_port:
        published = (host_port, protocol)
        if published in context.host_ports:
            first = context.host_ports[published]
            f.problem("hostPort", f"hostPort {host_port}/{protocol} is already published by {first}")
        context.host_ports.setdefault(published, f.field_path("hostPort"))
    return Port(container_port, host_port, protocol, host_ip, name)


def read_env(f: Fields) -> EnvVar:
    name = f.string("name", required=True)
    if name:
        _check(f, "name", env_name_error(name), "variable name")
    value = f.string("value")
    if text_error(value):
        f.problem("value", f"the value of {name or 'this variable'} {text_error(value)}")
    return EnvVar(name, value)


def read_volume_mount(context: PodContext, paths: set[str], f: Fields) -> VolumeMount:
    name = f.string("name", required=True)
    if name and name not in context.volumes:
        known = ", ".join(sorted(context.volumes)) or "none"
        f.problem("name", f'no volume named "{name}" in this pod (volumes: {known})')
    mount_path = _path(f, "mountPath", required=True)
    if mount_path in paths:
        f.problem("mountPath", f'"{mount_path}" is mounted more than once in this container')
    paths.add(mount_path)
    return VolumeMount(name, mount_path, f.boolean("readOnly"))


def _read_resources(form: Form, f: Fields) -> tuple[int, int]:
    """(millicores, bytes): v1beta1 ``cpu``/``memory``, or Kubernetes-style ``resources.limits``."""
    if form == "v1beta1":
        cpu, memory = f.quantity("cpu", parse_millicores), f.quantity("memory", parse_memory)
        if memory:
            _check_memory(f, "memory", memory)
        return cpu, memory
    return f.mapping("resources", _read_resource_requirements) or (0, 0)


def _read_resource_requirements(f: Fields) -> tuple[int, int]:
    f.suggest({"requests": 'kubeplay sets Docker limits: use "limits"'})
    return f.mapping("limits", _read_limits) or (0, 0)


def _read_limits(f: Fields) -> tuple[int, int]:
    cpu, memory = f.quantity("cpu", parse_cpu), f.quantity("memory", parse_memory)
    if memory:
        _check_memory(f, "memory", memory)
    return cpu, memory


def _check_memory(f: Fields, key: str, memory: int) -> None:
    if memory < DOCKER_MIN_MEMORY:
        f.problem(key, f"memory limit {memory} bytes is below Docker's minimum of {DOCKER_MIN_MEMORY >> 20}Mi")


def parse_millicores(value: int | float | str) -> int:
    """v1beta1 cpu: an integer is millicores (500 is half a core); a string is a quantity ("500m", "0.5")."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid cpu {value}: must not be negative")
        return value
    if isinstance(value, float):
        raise ValueError(f'invalid cpu {value}: v1beta1 cpu is integer millicores (500) or a quantity ("500m")')
    return parse_cpu(value)


def _read_privileged(form: Form, f: Fields) -> bool:
    if form == "v1beta1":
        return f.boolean("privileged")
    return f.mapping("securityContext", lambda context: context.boolean("privileged")) or False


# --- probes --------------------------------------------------------------------------------------------------


def read_probe(port_names: set[str], f: Fields) -> Probe:
    given = [kind for kind in PROBE_KINDS if f.has(kind)]
    handlers = [
        f.mapping("httpGet", partial(_read_http_get, port_names)),
        f.mapping("tcpSocket", partial(_read_tcp_socket, port_names)),
        f.mapping("exec", _read_exec),
    ]
    delay = f.integer("initialDelaySeconds", minimum=0)
    timeout = f.integer("timeoutSeconds", default=1, minimum=1)
    if len(given) != 1:
        found = f" (found {', '.join(given)})" if given else ""
        f.report.add(f"give exactly one of httpGet, tcpSocket, exec{found}", f.node.line, f.path)
    probe = next((handler for handler in handlers if handler is not None), Probe("exec"))
    return replace(probe, initial_delay_seconds=delay, timeout_seconds=timeout)


def _read_http_get(port_names: set[str], f: Fields) -> Probe:
    port = _probe_port(port_names, f)
    path = f.string("path", default="/")
    problem = http_path_error(path)
    if problem:
        f.problem("path", f"{problem}, got {excerpt(path)}")
    host = f.string("host")
    if host:
        _check(f, "host", host_name_error(host))
    return Probe("httpGet", port=port, path=path, host=host)


def _read_tcp_socket(port_names: set[str], f: Fields) -> Probe:
    return Probe("tcpSocket", port=_probe_port(port_names, f))


def _read_exec(f: Fields) -> Probe:
    command = f.strings("command")
    if not command:
        f.problem("command", "an exec probe needs a command")
    return Probe("exec", command=command)


def _probe_port(port_names: set[str], f: Fields) -> int | str:
    port = f.port_or_name("port", required=True)
    if isinstance(port, str) and port not in port_names:
        known = ", ".join(sorted(port_names)) or "none"
        f.problem("port", f'"{port}" is not the name of a port of this container (named ports: {known})')
    return port or 0


# --- helpers -------------------------------------------------------------------------------------------------


def _unique_name(f: Fields, key: str, seen: set[str], what: str) -> str:
    name = f.string(key, required=True)
    _check_name(f, key, name, what)
    if name in seen:
        f.problem(key, f'duplicate {what} name "{name}"')
    seen.add(name)
    return name


def _check_name(f: Fields, key: str, name: str, what: str) -> None:
    if name:
        _check(f, key, dns_label_error(name), f"{what} name")


def _check(f: Fields, key: str, problem: str | None, what: str = "") -> None:
    if problem:
        value = f.entries[key].value
        f.problem(key, f"invalid {what or key} {excerpt(value)}: {problem}")


def _absolute_path(f: Fields, key: str, *, required: bool = False) -> str:
    path = f.string(key, required=required)
    if path and not path.startswith("/"):
        f.problem(key, f"must be an absolute path, got {excerpt(path)}")
    return path


def _path(f: Fields, key: str, *, required: bool = False) -> str:
    """A host or mount path that goes into Docker's bind string (kubeplay.names.path_error)."""
    path = f.string(key, required=required)
    problem = path_error(path) if path else None
    if problem:
        f.problem(key, f"{problem}, got {excerpt(path)}")
    return path
