"""kubeplay's own data: what the manifests ask for, what the inventory holds and what was observed.

Everything here is plain frozen dataclasses with no I/O. kubeplay.manifests produces ``Desired``,
kubeplay.inventory produces ``Inventory``, the kubelet's observation (kubeplay.kubelet.observe) produces
``ObservedMinion`` over a connection; the planner works on these only. Mappings (labels, selectors) are plain dicts
and are never mutated after construction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Literal, Self, TypeVar, overload

from kubeplay.dataclass import dataclass, field, replace

T = TypeVar("T")


class cached_attribute(Generic[T]):
    """``functools.cached_property`` without its lock: computed on the first access and kept in the instance's
    ``__dict__`` (frozen dataclasses' too), where later accesses find it without reaching this descriptor. Python
    3.11's takes a lock on every first access, a fifth of planning 20,000 pods (3.12 dropped it); the values here
    are pure, so two threads computing one at once would only both compute the same."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object, owner: type | None = None) -> T | Self:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


Protocol = Literal["TCP", "UDP"]
PullPolicy = Literal["PullAlways", "PullNever", "PullIfNotPresent"]
RestartPolicy = Literal["always", "onFailure", "never"]
ProbeKind = Literal["httpGet", "tcpSocket", "exec"]
SessionAffinity = Literal["None", "ClientIP"]
Connection = Literal["ssh", "local"]

INFRA_CONTAINER = "POD"
"""Name of the infra container of every pod (it holds the pod's IP and published ports)."""

DEFAULT_PROJECT = "default"
"""The project of pods and services made before kubeplay had projects (no project label), and of stdin input."""


@dataclass(frozen=True)
class Source:
    """Where an object was read from: a file (or "<stdin>") and, where the format has lines, a 1-based line."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


# --- desired state: pods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Port:
    container_port: int
    host_port: int = 0
    """0 means not published on the minion."""
    protocol: Protocol = "TCP"
    host_ip: str = ""
    name: str = ""


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str


@dataclass(frozen=True)
class VolumeMount:
    name: str
    mount_path: str
    read_only: bool = False


@dataclass(frozen=True)
class Volume:
    name: str
    host_path: str = ""
    """Empty for an emptyDir volume; the minion's path for a hostDir volume."""


@dataclass(frozen=True)
class Probe:
    kind: ProbeKind
    port: int | str = 0
    """A number or the name of one of the container's ports (httpGet, tcpSocket)."""
    path: str = "/"
    host: str = ""
    command: tuple[str, ...] = ()
    initial_delay_seconds: int = 0
    timeout_seconds: int = 1


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    command: tuple[str, ...] = ()
    working_dir: str = ""
    ports: tuple[Port, ...] = ()
    env: tuple[EnvVar, ...] = ()
    cpu: int = 0
    """Millicores; 0 means no limit."""
    memory: int = 0
    """Bytes; 0 means no limit."""
    volume_mounts: tuple[VolumeMount, ...] = ()
    image_pull_policy: PullPolicy = "PullIfNotPresent"
    liveness_probe: Probe | None = None
    privileged: bool = False


@dataclass(frozen=True)
class PodSpec:
    containers: tuple[Container, ...]
    volumes: tuple[Volume, ...] = ()
    restart_policy: RestartPolicy = "always"
    node_selector: dict[str, str] = field(default_factory=dict)

    @cached_attribute  # (these three: a controller's replicas share its template's spec, 20,000 pods ask for them)
    def host_ports(self) -> tuple[tuple[int, Protocol], ...]:
        return tuple((p.host_port, p.protocol) for c in self.containers for p in c.ports if p.host_port)

    @cached_attribute
    def cpu(self) -> int:
        return sum(c.cpu for c in self.containers)

    @cached_attribute
    def memory(self) -> int:
        return sum(c.memory for c in self.containers)


@dataclass(frozen=True)
class Pod:
    name: str
    labels: dict[str, str]
    spec: PodSpec
    source: Source
    controller: str = ""
    """Name of the replication controller this pod is a replica of; empty for a standalone pod."""
    selector: dict[str, str] = field(default_factory=dict)
    """A replica's controller's selector (kept on its containers, so `get rc` shows it without the manifests)."""


@dataclass(frozen=True)
class PodTemplate:
    labels: dict[str, str]
    spec: PodSpec


@dataclass(frozen=True)
class ReplicationController:
    name: str
    labels: dict[str, str]
    replicas: int
    selector: dict[str, str]
    template: PodTemplate
    source: Source

    def replica(self, name: str) -> Pod:
        """A replica named ``name``: a pod made from the template, owned by this controller. It shares the template's
        labels and the controller's selector (mappings here are never mutated), as it shares the template's spec."""
        return Pod(name, self.template.labels, self.template.spec, self.source, self.name, self.selector)


# --- desired state: services ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServicePort:
    port: int
    target_port: int | str
    """A number or the name of a container port in the selected pods."""
    protocol: Protocol = "TCP"
    name: str = ""


@dataclass(frozen=True)
class Service:
    name: str
    labels: dict[str, str]
    selector: dict[str, str]
    ports: tuple[ServicePort, ...]
    source: Source
    portal_ip: str = ""
    """Empty: allocated by kubeplay from the inventory's portal network."""
    session_affinity: SessionAffinity = "None"
    public_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class Desired:
    pods: tuple[Pod, ...] = ()
    controllers: tuple[ReplicationController, ...] = ()
    services: tuple[Service, ...] = ()


# --- inventory -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SSHArguments:
    """ssh arguments an inventory variable (ansible_ssh_common_args, ansible_ssh_extra_args) gives a host."""

    variable: str
    text: str
    source: Source


@dataclass(frozen=True)
class Minion:
    name: str
    host: str
    """Address to connect to: ansible_host, else the inventory name."""
    port: int = 22
    user: str = ""
    key_file: str = ""
    connection: Connection = "ssh"
    labels: dict[str, str] = field(default_factory=dict)
    """kubeplay_labels: matched by nodeSelector."""
    cpu: int = 0
    """kubeplay_cpu capacity in millicores; 0: observe it from the minion's Docker."""
    memory: int = 0
    """kubeplay_memory capacity in bytes; 0: observe it from the minion's Docker."""
    cordoned: bool = False
    allow_privileged: bool = False
    """kubeplay_allow_privileged: privileged containers and privileged host paths may run here."""
    host_paths: tuple[str, ...] = ()
    """kubeplay_host_paths: folders pods may bind mount from, besides kubeplay's data folder."""
    vars: dict[str, object] = field(default_factory=dict)
    """Every variable that applies to this host, merged as Ansible does (for templates)."""
    ssh_arguments: tuple[SSHArguments, ...] = ()
    """ansible_ssh_common_args, then ansible_ssh_extra_args (on ssh's command line in that order, as Ansible puts
    them), where set."""


@dataclass(frozen=True)
class Inventory:
    minions: tuple[Minion, ...]
    groups: dict[str, tuple[str, ...]]
    """Group name -> names of the minions in it (children resolved), including "all" and "ungrouped"."""
    vars: dict[str, object]
    """Variables of the "all" group."""
    source: str
    portal_net: str = "10.0.0.0/16"
    pod_network: bool = True
    """kubeplay_pod_network: install routes between minions' pod subnets (host-gw style)."""
    known_hosts: str = ""
    """kubeplay_known_hosts (kubeplay's own, older than its honouring UserKnownHostsFile in the ssh arguments): one
    more known_hosts file, checked besides the others."""
    infra_image: str = ""
    """kubeplay_infra_image: an image to use as the pod infra container instead of kubeplay's own."""

    def minion(self, name: str) -> Minion:
        for m in self.minions:
            if m.name == name:
                return m
        raise KeyError(name)


# --- observed state ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str
    """Docker's container name."""
    pod: str
    container: str
    """The container's name within its pod; INFRA_CONTAINER for the infra container."""
    spec_hash: str
    image: str
    state: str
    """Docker's state: created, running, paused, restarting, removing, exited, dead."""
    exit_code: int = 0
    created: str = ""
    controller: str = ""
    pod_labels: dict[str, str] = field(default_factory=dict)
    ip: str = ""
    ports: tuple[Port, ...] = ()
    """The pod's declared ports (kept on the infra container), so services can resolve named ports."""
    health: str = ""
    """Liveness as Docker's health check sees it: "", starting, healthy, unhealthy."""
    labels: dict[str, str] = field(default_factory=dict)
    """All of the container's Docker labels."""
    project: str = DEFAULT_PROJECT
    """The project that made the container (DEFAULT_PROJECT when it carries no project label)."""


class _FromContainers(Generic[T]):
    """An ``ObservedPod`` attribute read from its containers. The first read of any of them reads them all in one
    pass (``_pod_attributes``) into the instance's ``__dict__`` (frozen dataclasses' too), where every later read
    finds them without reaching a descriptor: planning 20,000 pods reads seven of them each, 140,000 first reads
    that were each a call of its own."""

    def __init__(self, doc: str = "") -> None:
        self.name = ""
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: ObservedPod, owner: type | None = None) -> T: ...

    def __get__(self, instance: ObservedPod | None, owner: type | None = None) -> T | Self:
        if instance is None:
            return self
        values = _pod_attributes(instance.containers)
        instance.__dict__.update(values)
        return values[self.name]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ObservedPod:
    name: str
    minion: str
    containers: tuple[ObservedContainer, ...]

    infra = _FromContainers["ObservedContainer | None"]("The first container named INFRA_CONTAINER, if any.")
    apps = _FromContainers[tuple[ObservedContainer, ...]]("The containers not named INFRA_CONTAINER, in order.")
    spec_hash = _FromContainers[str]("The infra container's, else the first container's, else empty.")
    labels = _FromContainers[dict[str, str]]("The first container's pod labels.")
    controller = _FromContainers[str]("The first container's controller.")
    project = _FromContainers[str]("The first container's project (DEFAULT_PROJECT without containers).")
    ip = _FromContainers[str]("The infra container's IP.")
    ports = _FromContainers[tuple[Port, ...]]("The pod's declared ports, kept on the infra container.")
    created = _FromContainers[str]("The earliest creation time of its containers.")
    running = _FromContainers[bool]("Every container of the pod, infra included, is running and none is unhealthy.")


def _pod_attributes(containers: tuple[ObservedContainer, ...]) -> dict[str, Any]:
    """The values of ObservedPod's ``_FromContainers`` attributes for a pod of these containers."""
    infra = None
    apps = []
    running = True
    for c in containers:
        if c.container != INFRA_CONTAINER:
            apps.append(c)
        elif infra is None:
            infra = c
        if c.state != "running" or c.health == "unhealthy":
            running = False
    if not containers:
        return {
            "infra": None,
            "apps": (),
            "spec_hash": "",
            "labels": {},
            "controller": "",
            "project": DEFAULT_PROJECT,
            "ip": "",
            "ports": (),
            "created": "",
            "running": False,
        }
    first = containers[0]
    return {
        "infra": infra,
        "apps": tuple(apps),
        "spec_hash": (infra or first).spec_hash,
        "labels": first.pod_labels,
        "controller": first.controller,
        "project": first.project,
        "ip": infra.ip if infra else "",
        "ports": infra.ports if infra else (),
        "created": min(c.created for c in containers),
        "running": running and infra is not None and bool(apps),
    }


@dataclass(frozen=True)
class ObservedMinion:
    name: str
    reachable: bool
    error: str = ""
    containers: tuple[ObservedContainer, ...] = ()
    bridge_subnet: str = ""
    """The minion's docker bridge subnet (its pod subnet), e.g. 172.21.0.0/16."""
    address: str = ""
    """The minion's own address, as the pod network routes to it."""
    cpu: int = 0
    """Millicores the minion's Docker reports (NCPU * 1000)."""
    memory: int = 0
    """Bytes the minion's Docker reports (MemTotal)."""
    images: frozenset[str] = frozenset()
    """Image references present on the minion: "repo:tag" and "repo@sha256:..."."""
    refused: bool = False
    """Not reached because its host key was refused (changed or revoked): an error, not merely unreachable."""
    warnings: tuple[str, ...] = ()
    """What the minion reported that was invalid and is ignored (kubeplay.kubelet.observe.check_container)."""
    volumes: tuple[tuple[str, str, str], ...] = ()
    """kubeplay's emptyDir volumes on the minion: (volume name, the pod it was made for, that pod's project)."""

    @cached_attribute  # (its containers are a tuple: the pods stay as they are)
    def pods(self) -> tuple[ObservedPod, ...]:
        by_pod: dict[str, list[ObservedContainer]] = {}
        for c in self.containers:
            by_pod.setdefault(c.pod, []).append(c)
        return tuple(ObservedPod(name, self.name, tuple(cs)) for name, cs in sorted(by_pod.items()))


@dataclass(frozen=True)
class Observed:
    minions: dict[str, ObservedMinion]

    @cached_attribute  # (a plan asks for them a dozen times: 20,000 pods are grouped once)
    def pods(self) -> tuple[ObservedPod, ...]:
        return tuple(p for m in self.minions.values() if m.reachable for p in m.pods)

    @property
    def unreachable(self) -> tuple[str, ...]:
        return tuple(name for name, m in self.minions.items() if not m.reachable)

    @property
    def refused(self) -> tuple[str, ...]:
        """The minions whose host key was refused (also in ``unreachable``: what is on them is unknown)."""
        return tuple(name for name, m in self.minions.items() if m.refused)

    def of_project(self, project: str) -> Observed:
        """The same minions holding only the containers of ``project`` (a minion holding no other project's is
        itself, its pods already grouped)."""
        return Observed({name: _of_project(m, project) for name, m in self.minions.items()})


def _of_project(minion: ObservedMinion, project: str) -> ObservedMinion:
    containers = tuple(c for c in minion.containers if c.project == project)
    volumes = tuple(v for v in minion.volumes if v[2] == project)
    if len(containers) == len(minion.containers) and len(volumes) == len(minion.volumes):
        return minion
    return replace(minion, containers=containers, volumes=volumes)
