"""A pod's containers as Docker container configs: pure functions of the pod (the kubelet's translation).

Every pod is an infra container (the pod's network namespace, hostname, published ports and /etc/hosts) plus
its app containers, which join the infra container's network namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kubeplay.connectors.base import ContainerConfig, PortBinding
from kubeplay.model import INFRA_CONTAINER, Container, EnvVar, Pod
from kubeplay.pods.labels import LABEL_PORTS, LABEL_SPEC, container_labels, ports_label
from kubeplay.pods.spechash import pod_document

RESTART_POLICIES = {"always": "always", "onFailure": "on-failure", "never": "no"}


def container_name(pod: str, container: str) -> str:
    return f"kp_{pod}_{container}"


def volume_name(pod: str, volume: str) -> str:
    return f"kp_{pod}_{volume}"


def infra_config(pod: Pod, spec_hash: str, image: str, hosts: Mapping[str, str], project: str) -> ContainerConfig:
    labels = container_labels(pod, INFRA_CONTAINER, spec_hash, project)
    labels[LABEL_PORTS] = ports_label(pod)
    labels[LABEL_SPEC] = pod_document(pod)
    ports: list[tuple[int, str]] = []
    bindings: dict[tuple[int, str], PortBinding] = {}
    for c in pod.spec.containers:
        for p in c.ports:
            key = (p.container_port, p.protocol.lower())
            if key not in ports:
                ports.append(key)
            if p.host_port:
                bindings[key] = PortBinding(p.container_port, p.protocol.lower(), p.host_port, p.host_ip)
    return ContainerConfig(
        name=container_name(pod.name, INFRA_CONTAINER),
        image=image,
        labels=labels,
        hostname=pod.name,
        exposed_ports=tuple(ports),
        port_bindings=tuple(bindings.values()),
        restart_policy="always",
        extra_hosts=dict(sorted(hosts.items())),
    )


def app_config(
    pod: Pod, container: Container, spec_hash: str, infra_id: str, env: Sequence[EnvVar], project: str
) -> ContainerConfig:
    """One app container of a pod. env: variables injected for services, before the container's own."""
    environment = {e.name: e.value for e in env}
    environment.update({e.name: e.value for e in container.env})
    volumes = {v.name: v for v in pod.spec.volumes}
    binds: list[str] = []
    for mount in container.volume_mounts:
        volume = volumes[mount.name]
        source = volume.host_path or volume_name(pod.name, volume.name)
        binds.append(f"{source}:{mount.mount_path}:{'ro' if mount.read_only else 'rw'}")
    return ContainerConfig(
        name=container_name(pod.name, container.name),
        image=container.image,
        labels=container_labels(pod, container.name, spec_hash, project),
        command=container.command,
        env=environment,
        working_dir=container.working_dir,
        restart_policy=RESTART_POLICIES[pod.spec.restart_policy],
        network_mode=f"container:{infra_id}",
        privileged=container.privileged,
        binds=tuple(binds),
        memory_limit=container.memory,
        nano_cpus=container.cpu * 1_000_000,
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
