"""An observed pod's attributes read from its containers, on random pods (missing, extra, duplicate and unlabelled
containers, every state and health) against the rules written plainly, one attribute at a time."""

from __future__ import annotations

import random

from kubeplay.model import DEFAULT_PROJECT, INFRA_CONTAINER, ObservedContainer, ObservedPod, Port


def _random_pod(rng: random.Random, n: int) -> ObservedPod:
    containers = []
    for i in range(rng.choice([0, 1, 2, 2, 3, 4])):
        role = rng.choice([INFRA_CONTAINER, INFRA_CONTAINER, "app", "side", ""])
        containers.append(
            ObservedContainer(
                id=f"c{n}-{i}",
                name=f"k-{n}-{i}",
                pod=f"p{n}",
                container=role,
                spec_hash=rng.choice(["aaaa", "bbbb", ""]),
                image="img",
                state=rng.choice(["running", "running", "exited", "created", "dead", "paused"]),
                created=rng.choice(["2014-10-01T00:00:00Z", "2014-10-02T00:00:00Z", ""]),
                controller=rng.choice(["", "rc", "other"]),
                pod_labels=rng.choice([{}, {"app": "a"}, {"app": "b", "tier": "x"}]),
                ip=rng.choice(["", f"172.17.0.{i + 2}"]),
                ports=rng.choice([(), (Port(6379, name="db"),)]),
                health=rng.choice(["", "", "healthy", "unhealthy", "starting"]),
                project=rng.choice([DEFAULT_PROJECT, "shop"]),
            )
        )
    return ObservedPod(f"p{n}", "m1", tuple(containers))


def test_random_pods_attributes_are_as_the_rules_say() -> None:
    rng = random.Random(17)
    for n in range(3000):
        pod = _random_pod(rng, n)
        cs = pod.containers
        first = cs[0] if cs else None
        infra = [c for c in cs if c.container == INFRA_CONTAINER][:1]
        apps = tuple(c for c in cs if c.container != INFRA_CONTAINER)
        whole = all(c.state == "running" and c.health != "unhealthy" for c in cs)
        plain = {
            "infra": infra[0] if infra else None,
            "apps": apps,
            "spec_hash": infra[0].spec_hash if infra else (first.spec_hash if first else ""),
            "labels": first.pod_labels if first else {},
            "controller": first.controller if first else "",
            "project": first.project if first else DEFAULT_PROJECT,
            "ip": infra[0].ip if infra else "",
            "ports": infra[0].ports if infra else (),
            "created": min((c.created for c in cs), default=""),
            "running": bool(infra) and bool(apps) and whole,
        }
        names = list(plain)
        rng.shuffle(names)  # (the first one read reads them all)
        assert {name: getattr(pod, name) for name in names} == plain, pod
        assert pod == ObservedPod(pod.name, pod.minion, cs)  # (what was read is no field)
