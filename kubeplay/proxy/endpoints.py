"""Endpoints: which pod IP and port each service port sends traffic to.

As the Kubernetes v0.4 endpoints controller did: every running pod whose labels match the service's selector
(an empty selector matches nothing) contributes ``podIP:targetPort``. A numeric target port is used as is; a
named one is looked up in the pod's declared ports, and a pod without that name is left out; an empty name or
0 means the pod's first declared port.

Endpoints are keyed by ``endpoints_key``: the service name for a single-port service, ``service:port`` (port
name, else number) for each port of a multi-port service.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import NamedTuple

from kubeplay.model import ObservedPod, Port, Protocol, Service, ServicePort
from kubeplay.selectors import matches


class Endpoint(NamedTuple):
    """One pod's address and port that a service port sends traffic to. A tuple (immutable, shown, compared and
    hashed as a frozen dataclass would be): a run over 20,000 pods makes one per pod and service port, and a tuple
    is made in C."""

    pod: str
    ip: str
    port: int
    protocol: Protocol = "TCP"

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


def service_port_id(service: Service, port: ServicePort) -> str:
    """``service:port``, the port's name or else its number: how rules and messages name one service port."""
    return f"{service.name}:{port.name or port.port}"


def endpoints_key(service: Service, port: ServicePort) -> str:
    """The key of this service port in ``compute_endpoints``' result."""
    return service.name if len(service.ports) == 1 else service_port_id(service, port)


def compute_endpoints(services: Sequence[Service], pods: Sequence[ObservedPod]) -> dict[str, tuple[Endpoint, ...]]:
    """Endpoints of every service port (see ``endpoints_key``), sorted by IP then port then pod name.

    The running pods with an IP are indexed by each of their labels once, so a service looks only at the pods that
    carry the rarest pair of its selector (5,000 services over 20,000 pods: not 100 million label checks). They are
    indexed in endpoint order (IP, then pod name), so the endpoints of a numeric target port, the same port on every
    pod, are in order as found."""
    by_label: dict[tuple[str, str], list[ObservedPod]] = {}
    for pod in sorted((p for p in pods if p.running and p.ip), key=_pod_order):
        for pair in pod.labels.items():
            by_label.setdefault(pair, []).append(pod)
    result: dict[str, tuple[Endpoint, ...]] = {}
    for service in services:
        candidates = min((by_label.get(pair, []) for pair in service.selector.items()), key=len, default=[])
        selected = [p for p in candidates if matches(service.selector, p.labels)]
        for port in service.ports:
            number = resolve_target_port(port.target_port, ())  # (None: it depends on the pod's declared ports)
            if number is None:
                found = sorted([e for e in (_endpoint(pod, port) for pod in selected) if e], key=_order)
            else:  # (the same port on every pod: in order already)
                found = [Endpoint(pod.name, pod.ip, number, port.protocol) for pod in selected]
            result[endpoints_key(service, port)] = tuple(found)
    return result


def endpoint_pods(services: Sequence[Service], pods: Sequence[ObservedPod]) -> frozenset[str]:
    """Names of the pods that are an endpoint of some port of these services."""
    return frozenset(e.pod for found in compute_endpoints(services, pods).values() for e in found)


def resolve_target_port(target: int | str, declared: Sequence[Port]) -> int | None:
    """The container port a service's target port means for a pod with these declared ports, None if none."""
    if isinstance(target, str) and target.isdigit():
        target = int(target)
    if target in ("", 0):
        return declared[0].container_port if declared else None
    if isinstance(target, int):
        return target
    return next((p.container_port for p in declared if p.name == target), None)


def _endpoint(pod: ObservedPod, port: ServicePort) -> Endpoint | None:
    number = resolve_target_port(port.target_port, pod.ports)
    if number is None:
        return None
    return Endpoint(pod=pod.name, ip=pod.ip, port=number, protocol=port.protocol)


def _order(endpoint: Endpoint) -> tuple[bytes, int, str]:
    return socket.inet_aton(endpoint.ip), endpoint.port, endpoint.pod  # (the address's order; ipaddress is slow)


def _pod_order(pod: ObservedPod) -> tuple[bytes, str]:
    """``_order`` of a pod's endpoints but for the port (an IP that is no IPv4 address, which Docker does not give a
    container, first)."""
    try:
        return socket.inet_aton(pod.ip), pod.name
    except OSError:
        return b"", pod.name
