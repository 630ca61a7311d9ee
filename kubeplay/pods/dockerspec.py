"""A pod's containers as Docker create arguments: pure functions of the pod (the kubelet's translation).

Every pod is an infra container (the pod's network namespace, hostname, published ports and /etc/hosts) plus
its app containers, which join the infra container's network namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeplay.model import INFRA_CONTAINER, Container, EnvVar, Pod
from kubeplay.pods.labels import LABEL_PORTS, LABEL_SPEC, container_labels, ports_label
from kubeplay.pods.spechash import pod_document

RESTART_POLICIES = {"always": "always", "onFailure": "on-failure", "never": "no"}


@dataclass(frozen=True)
class CreateArgs:
    """Arguments for docker.APIClient.create_container, host_config as create_host_config keyword arguments."""

    name: str
    image: str
    container: dict[str, Any]
    host_config: dict[str, Any]
    volumes: tuple[str, ...] = field(default=())
    """Docker volumes (emptyDir) this container mounts; removed with the pod."""


def container_name(pod: str, container: str) -> str:
    return f"kp_{pod}_{container}"


def volume_name(pod: str, volume: str) -> str:
    return f"kp_{pod}_{volume}"


def infra_args(pod: Pod, spec_hash: str, image: str, hosts: Mapping[str, str]) -> CreateArgs:
    labels = container_labels(pod, INFRA_CONTAINER, spec_hash)
    labels[LABEL_PORTS] = ports_label(pod)
    labels[LABEL_SPEC] = pod_document(pod)
    ports: list[tuple[int, str]] = []
    bindings: dict[str, list[tuple[str, int]] | list[int]] = {}
    for c in pod.spec.containers:
        for p in c.ports:
            key = (p.container_port, p.protocol.lower())
            if key not in ports:
                ports.append(key)
            if p.host_port:
                target = f"{p.container_port}/{p.protocol.lower()}"
                bindings[target] = [(p.host_ip, p.host_port)] if p.host_ip else [p.host_port]
    return CreateArgs(
        name=container_name(pod.name, INFRA_CONTAINER),
        image=image,
        container={"hostname": pod.name, "labels": labels, "ports": ports or None},
        host_config={
            "port_bindings": bindings or None,
            "restart_policy": {"Name": "always"},
            "extra_hosts": dict(sorted(hosts.items())) or None,
        },
    )


def app_args(pod: Pod, container: Container, spec_hash: str, infra_id: str, env: Sequence[EnvVar]) -> CreateArgs:
    """One app container of a pod. env: variables injected for services, before the container's own."""
    environment = {e.name: e.value for e in env}
    environment.update({e.name: e.value for e in container.env})
    volumes = {v.name: v for v in pod.spec.volumes}
    binds: list[str] = []
    named: list[str] = []
    for mount in container.volume_mounts:
        volume = volumes[mount.name]
        source = volume.host_path or volume_name(pod.name, volume.name)
        if not volume.host_path:
            named.append(source)
        binds.append(f"{source}:{mount.mount_path}:{'ro' if mount.read_only else 'rw'}")
    host_config: dict[str, Any] = {
        "network_mode": f"container:{infra_id}",
        "restart_policy": {"Name": RESTART_POLICIES[pod.spec.restart_policy]},
        "privileged": container.privileged,
        "binds": binds or None,
    }
    if container.memory:
        host_config["mem_limit"] = container.memory
    if container.cpu:
        host_config["nano_cpus"] = container.cpu * 1_000_000
    return CreateArgs(
        name=container_name(pod.name, container.name),
        image=container.image,
        container={
            "command": list(container.command) or None,
            "environment": environment or None,
            "working_dir": container.working_dir or None,
            "labels": container_labels(pod, container.name, spec_hash),
        },
        host_config=host_config,
        volumes=tuple(named),
    )


def image_ref(image: str) -> str:
    """The name Docker lists an image under: Docker Hub's domain and "library/" dropped, a tag added where there is
    none ("redis" and "docker.io/library/redis" -> "redis:latest")."""
    for hub in ("docker.io/", "index.docker.io/"):
        image = image.removeprefix(hub)
    if image.startswith("library/") and image.count("/") == 1:
        image = image.removeprefix("library/")
    if "@" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else f"{image}:latest"
