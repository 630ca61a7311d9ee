"""A pod as Docker container configs: the infra container, the app containers, image references."""

from __future__ import annotations

import json

import pytest

from kubeplay.connectors.base import ContainerConfig, PortBinding
from kubeplay.dataclass import replace
from kubeplay.model import (
    INFRA_CONTAINER,
    Container,
    EnvVar,
    Pod,
    Port,
    RestartPolicy,
    Volume,
    VolumeMount,
)
from kubeplay.pods.dockerspec import app_config, image_ref, infra_config
from kubeplay.pods.infra import INFRA_IMAGE
from kubeplay.pods.labels import LABEL_CONTAINER, LABEL_HASH, LABEL_POD, LABEL_PORTS, LABEL_SPEC
from kubeplay.pods.spechash import pod_document
from tests.unit.builders import pod

DNS = Container(
    "dns",
    "skydns",
    ports=(Port(53, host_port=5353, protocol="UDP", name="dns"), Port(8080, name="metrics")),
)
WEB = Container("web", "nginx", ports=(Port(80, host_port=8080, host_ip="127.0.0.1", name="http"),))
FRONT = pod("front", WEB, DNS, labels={"name": "front"})
HOSTS = {"redis-master": "10.0.0.11", "db": "10.0.0.10"}


def test_infra_container_holds_hostname_ports_and_hosts() -> None:
    config = infra_config(FRONT, "abc123", INFRA_IMAGE, HOSTS, "default")
    assert (config.name, config.image) == ("kp_front_POD", INFRA_IMAGE)
    assert config.hostname == "front"
    assert config.exposed_ports == ((80, "tcp"), (53, "udp"), (8080, "tcp"))
    assert config.port_bindings == (PortBinding(80, "tcp", 8080, "127.0.0.1"), PortBinding(53, "udp", 5353))
    assert config.restart_policy == "always"
    assert config.extra_hosts == {"db": "10.0.0.10", "redis-master": "10.0.0.11"}
    assert list(config.extra_hosts) == ["db", "redis-master"]  # sorted: the same pod, the same config
    assert (config.network_mode, config.binds, config.privileged) == ("", (), False)


def test_infra_container_labels_name_the_pod_and_keep_its_ports_and_spec() -> None:
    labels = infra_config(FRONT, "abc123", INFRA_IMAGE, {}, "default").labels
    assert (labels[LABEL_POD], labels[LABEL_CONTAINER], labels[LABEL_HASH]) == ("front", INFRA_CONTAINER, "abc123")
    assert json.loads(labels[LABEL_PORTS]) == [
        {"name": "http", "containerPort": 80, "hostPort": 8080, "protocol": "TCP"},
        {"name": "dns", "containerPort": 53, "hostPort": 5353, "protocol": "UDP"},
        {"name": "metrics", "containerPort": 8080, "hostPort": 0, "protocol": "TCP"},
    ]
    assert labels[LABEL_SPEC] == pod_document(FRONT)


def test_infra_container_of_a_pod_without_ports_or_hosts() -> None:
    config = infra_config(pod("quiet", Container("app", "busybox")), "h", INFRA_IMAGE, {}, "default")
    assert config.exposed_ports == ()
    assert config.port_bindings == ()
    assert config.extra_hosts == {}


def test_a_port_declared_twice_is_exposed_once() -> None:
    twice = pod("twice", Container("a", "x", ports=(Port(80),)), Container("b", "y", ports=(Port(80, host_port=80),)))
    config = infra_config(twice, "h", INFRA_IMAGE, {}, "default")
    assert config.exposed_ports == ((80, "tcp"),)
    assert config.port_bindings == (PortBinding(80, "tcp", 80),)


def test_app_container_joins_the_infra_network_namespace() -> None:
    config = app_config(FRONT, WEB, "abc123", "infra-id", [], "default")
    assert (config.name, config.image) == ("kp_front_web", "nginx")
    assert config == ContainerConfig(
        name="kp_front_web",
        image="nginx",
        labels=config.labels,
        network_mode="container:infra-id",
        restart_policy="always",
    )
    labels = config.labels
    assert (labels[LABEL_POD], labels[LABEL_CONTAINER], labels[LABEL_HASH]) == ("front", "web", "abc123")
    assert LABEL_SPEC not in labels and LABEL_PORTS not in labels


def test_service_env_comes_first_and_the_containers_own_env_wins() -> None:
    own = replace(WEB, env=(EnvVar("MODE", "prod"), EnvVar("REDIS_MASTER_SERVICE_HOST", "override")))
    service = [EnvVar("REDIS_MASTER_SERVICE_HOST", "10.0.0.11"), EnvVar("REDIS_MASTER_SERVICE_PORT", "6379")]
    environment = app_config(FRONT, own, "h", "infra", service, "default").env
    assert list(environment.items()) == [
        ("REDIS_MASTER_SERVICE_HOST", "override"),
        ("REDIS_MASTER_SERVICE_PORT", "6379"),
        ("MODE", "prod"),
    ]


def test_command_and_working_dir() -> None:
    worker = replace(WEB, command=("nginx", "-g", "daemon off;"), working_dir="/srv")
    config = app_config(FRONT, worker, "h", "infra", [], "default")
    assert (config.command, config.working_dir) == (("nginx", "-g", "daemon off;"), "/srv")


@pytest.mark.parametrize(("policy", "docker"), [("always", "always"), ("onFailure", "on-failure"), ("never", "no")])
def test_restart_policy_maps_to_docker(policy: RestartPolicy, docker: str) -> None:
    restarting = replace(FRONT, spec=replace(FRONT.spec, restart_policy=policy))
    assert app_config(restarting, WEB, "h", "infra", [], "default").restart_policy == docker
    assert infra_config(restarting, "h", INFRA_IMAGE, {}, "default").restart_policy == "always"


@pytest.mark.parametrize(
    ("cpu", "memory", "limits"),
    [
        (0, 0, (0, 0)),
        (250, 0, (250_000_000, 0)),
        (1000, 128 * 1024 * 1024, (1_000_000_000, 134217728)),
        (0, 64 * 1024 * 1024, (0, 67108864)),
    ],
)
def test_cpu_millicores_and_memory_bytes_become_docker_limits(cpu: int, memory: int, limits: tuple[int, int]) -> None:
    limited = replace(WEB, cpu=cpu, memory=memory)
    config = app_config(FRONT, limited, "h", "infra", [], "default")
    assert (config.nano_cpus, config.memory_limit) == limits  # 0: no limit


def test_volumes_emptydir_is_a_named_volume_hostdir_a_bind() -> None:
    app = Container(
        "app",
        "busybox",
        volume_mounts=(VolumeMount("scratch", "/tmp/scratch"), VolumeMount("logs", "/var/log/app", read_only=True)),
    )
    volumes = (Volume("scratch"), Volume("logs", host_path="/srv/logs"))
    with_volumes = pod("vols", app)
    with_volumes = replace(with_volumes, spec=replace(with_volumes.spec, volumes=volumes))
    config = app_config(with_volumes, app, "h", "infra", [], "default")
    assert config.binds == ("kp_vols_scratch:/tmp/scratch:rw", "/srv/logs:/var/log/app:ro")


def test_privileged_is_passed_on() -> None:
    assert app_config(FRONT, replace(WEB, privileged=True), "h", "infra", [], "default").privileged is True


def test_controller_label_only_on_replicas() -> None:
    replica: Pod = replace(FRONT, controller="frontController")
    assert app_config(replica, WEB, "h", "i", [], "default").labels["kubeplay.controller"] == "frontController"
    assert "kubeplay.controller" not in app_config(FRONT, WEB, "h", "i", [], "default").labels


@pytest.mark.parametrize(
    ("image", "ref"),
    [
        ("redis", "redis:latest"),
        ("redis:2.8", "redis:2.8"),
        ("dockerfile/redis", "dockerfile/redis:latest"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("localhost:5000/app:1.0", "localhost:5000/app:1.0"),
        ("registry.example.com:443/team/app", "registry.example.com:443/team/app:latest"),
        ("redis@sha256:" + "a" * 64, "redis@sha256:" + "a" * 64),
        ("localhost:5000/app@sha256:" + "b" * 64, "localhost:5000/app@sha256:" + "b" * 64),
        ("docker.io/library/redis", "redis:latest"),
        ("docker.io/library/redis:2.8", "redis:2.8"),
        ("docker.io/dockerfile/redis", "dockerfile/redis:latest"),
        ("index.docker.io/library/redis:2.8", "redis:2.8"),
        ("library/redis", "redis:latest"),
    ],
)
def test_image_ref_is_the_name_docker_lists_the_image_under(image: str, ref: str) -> None:
    assert image_ref(image) == ref
