"""Small builders of in-memory pods, observed containers, clusters and inventories for the pure-core tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from kubeplay.dataclass import dataclass, field
from kubeplay.model import (
    DEFAULT_PROJECT,
    INFRA_CONTAINER,
    Container,
    Inventory,
    Minion,
    Observed,
    ObservedContainer,
    ObservedMinion,
    Pod,
    PodSpec,
    PodTemplate,
    Port,
    ReplicationController,
    RestartPolicy,
    Source,
)
from kubeplay.pods.dockerspec import image_ref
from kubeplay.pods.infra import INFRA_IMAGE
from kubeplay.pods.labels import container_labels
from kubeplay.pods.spechash import pod_hash

REDIS_IMAGE = "dockerfile/redis"
REDIS_PORT = Port(6379, host_port=6379)
CREATED = "2014-10-01T00:00:00+00:00"
IMAGES = frozenset({INFRA_IMAGE, image_ref(REDIS_IMAGE)})
"""What every minion holds unless a test says otherwise: kubeplay's infra image and the seed's redis image."""


def pod(
    name: str = "redis",
    *containers: Container,
    labels: Mapping[str, str] | None = None,
    restart_policy: RestartPolicy = "always",
    controller: str = "",
) -> Pod:
    """A pod of the given containers (the seed's redis container when none is given)."""
    spec = PodSpec(containers or (Container("redis", REDIS_IMAGE, ports=(REDIS_PORT,)),), restart_policy=restart_policy)
    return Pod(name, dict(labels or {"name": "redis"}), spec, Source(f"{name}.json"), controller)


def redis_controller(replicas: int = 1) -> ReplicationController:
    """The seed's redisController: selector name=redis, a template like the seed's redis pod."""
    redis = {"name": "redis"}
    template = PodTemplate(dict(redis), pod().spec)
    return ReplicationController(
        "redisController", dict(redis), replicas, dict(redis), template, Source("redisController.json")
    )


@dataclass(frozen=True)
class Seen:
    """A pod as observed on a minion: its infra and app containers, built from the desired pod they were made of."""

    pod: Pod
    minion: str = "m1"
    state: str = "running"
    """Docker state of the app containers."""
    exit_code: int = 0
    infra_state: str = "running"
    created: str = CREATED
    spec_hash: str = ""
    """Defaults to the hash of ``pod``: the pod is as desired."""
    missing: tuple[str, ...] = ()
    """Containers (INFRA_CONTAINER included) that are not there."""
    health: str = ""
    extra_labels: dict[str, str] = field(default_factory=dict)
    project: str = DEFAULT_PROJECT

    def containers(self) -> tuple[ObservedContainer, ...]:
        spec_hash = self.spec_hash or pod_hash(self.pod)
        roles = [(INFRA_CONTAINER, INFRA_IMAGE)] + [(c.name, c.image) for c in self.pod.spec.containers]
        out = []
        for role, image in roles:
            if role in self.missing:
                continue
            infra = role == INFRA_CONTAINER
            out.append(
                ObservedContainer(
                    id=f"{self.pod.name}-{role}@{self.minion}",
                    name=f"kp_{self.pod.name}_{role}",
                    pod=self.pod.name,
                    container=role,
                    spec_hash=spec_hash,
                    image=image,
                    state=self.infra_state if infra else self.state,
                    exit_code=0 if infra else self.exit_code,
                    created=self.created,
                    controller=self.pod.controller,
                    pod_labels=dict(self.pod.labels),
                    ports=tuple(p for c in self.pod.spec.containers for p in c.ports) if infra else (),
                    health="" if infra else self.health,
                    project=self.project,
                    labels={**container_labels(self.pod, role, spec_hash, self.project), **self.extra_labels},
                )
            )
        return tuple(out)


def cluster(
    *seen: Seen,
    minions: Sequence[str] = ("m1", "m2"),
    unreachable: Sequence[str] = (),
    images: Mapping[str, Iterable[str]] | None = None,
) -> Observed:
    """Minions holding the seen pods; unreachable ones report "timed out" (their pods are listed but unknown)."""
    observed = {}
    for name in [*minions, *unreachable]:
        reachable = name not in unreachable
        containers = tuple(c for s in seen if s.minion == name for c in s.containers())
        have = frozenset(images[name]) if images is not None and name in images else IMAGES
        observed[name] = ObservedMinion(name, reachable, "" if reachable else "timed out", containers, images=have)
    return Observed(observed)


def inventory(*names: str, infra_image: str = "") -> Inventory:
    names = names or ("m1", "m2")
    return Inventory(
        minions=tuple(Minion(n, f"192.168.33.{10 + i}") for i, n in enumerate(names)),
        groups={"all": names, "ungrouped": names},
        vars={},
        source="inventory.ini",
        infra_image=infra_image,
    )
