"""What a container learns about the services that exist when it is created: env variables and /etc/hosts.

The variables are those of Kubernetes v0.4 (``pkg/kubelet/envvars``), for a service ``redis-master`` on
10.0.0.11:6379/TCP::

    REDIS_MASTER_SERVICE_HOST=10.0.0.11
    REDIS_MASTER_SERVICE_PORT=6379
    REDIS_MASTER_PORT=tcp://10.0.0.11:6379
    REDIS_MASTER_PORT_6379_TCP=tcp://10.0.0.11:6379
    REDIS_MASTER_PORT_6379_TCP_PROTO=tcp
    REDIS_MASTER_PORT_6379_TCP_PORT=6379
    REDIS_MASTER_PORT_6379_TCP_ADDR=10.0.0.11

v0.4 services had one port. For a multi-port service the first port gives ``_SERVICE_PORT`` and ``_PORT``, each
named port adds ``_SERVICE_PORT_<NAME>`` and every port gets its ``_PORT_<p>_<PROTO>`` group, as Kubernetes
did once services had several ports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import overload

from kubeplay.model import EnvVar, Service, ServicePort


def env_name(name: str) -> str:
    """A service or port name as an environment variable prefix: upper case, '-' as '_'."""
    return name.replace("-", "_").upper()


def service_environment(services: Sequence[Service], portals: Mapping[str, str]) -> tuple[EnvVar, ...]:
    """The variables of every service that has a portal IP and a port, services in name order."""
    result: list[EnvVar] = []
    for service in sorted(services, key=lambda s: s.name):
        ip = portals.get(service.name, "")
        if ip and service.ports:
            result.extend(_service_variables(service, ip))
    return tuple(result)


class ServiceEnvironment(Sequence[EnvVar]):
    """``service_environment(services, portals)``, made when first read: only a run that creates containers reads it
    (a no-op over 5,000 services would make 35,000 variables for nothing). Shown and compared as the tuple it is."""

    __slots__ = ("_portals", "_services", "_variables")

    def __init__(self, services: Sequence[Service], portals: Mapping[str, str]) -> None:
        self._services, self._portals = services, portals
        self._variables: tuple[EnvVar, ...] | None = None

    @property
    def variables(self) -> tuple[EnvVar, ...]:
        if self._variables is None:
            self._variables = service_environment(self._services, self._portals)
        return self._variables

    @overload
    def __getitem__(self, index: int) -> EnvVar: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[EnvVar, ...]: ...

    def __getitem__(self, index: int | slice) -> EnvVar | tuple[EnvVar, ...]:
        return self.variables[index]

    def __len__(self) -> int:
        return len(self.variables)

    def __iter__(self) -> Iterator[EnvVar]:
        return iter(self.variables)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ServiceEnvironment):
            other = other.variables
        return self.variables == other if isinstance(other, tuple) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.variables)

    def __repr__(self) -> str:
        return repr(self.variables)


def hosts_entries(services: Sequence[Service], portals: Mapping[str, str]) -> list[tuple[str, str]]:
    """(hostname, portal IP) for /etc/hosts, so a service resolves by its name; in name order."""
    return sorted((s.name, portals[s.name]) for s in services if portals.get(s.name))


def _service_variables(service: Service, ip: str) -> list[EnvVar]:
    prefix = env_name(service.name)
    first = service.ports[0]
    variables = [
        EnvVar(f"{prefix}_SERVICE_HOST", ip),
        EnvVar(f"{prefix}_SERVICE_PORT", str(first.port)),
    ]
    if len(service.ports) > 1:
        variables += [EnvVar(f"{prefix}_SERVICE_PORT_{env_name(p.name)}", str(p.port)) for p in service.ports if p.name]
    variables.append(EnvVar(f"{prefix}_PORT", _url(first, ip)))
    for port in service.ports:
        variables += _link_variables(prefix, port, ip)
    return variables


def _link_variables(prefix: str, port: ServicePort, ip: str) -> list[EnvVar]:
    group = f"{prefix}_PORT_{port.port}_{port.protocol.upper()}"
    return [
        EnvVar(group, _url(port, ip)),
        EnvVar(f"{group}_PROTO", port.protocol.lower()),
        EnvVar(f"{group}_PORT", str(port.port)),
        EnvVar(f"{group}_ADDR", ip),
    ]


def _url(port: ServicePort, ip: str) -> str:
    return f"{port.protocol.lower()}://{ip}:{port.port}"
