"""Dataclasses written once, each made by the library given (the standard library's ``dataclasses`` or
kubeplay.dataclass), with the arguments to make instances of each: the cases test_dataclass compares. This module
imports neither library itself."""

from __future__ import annotations

import types
from typing import Any

Library = types.ModuleType
"""``dataclasses`` or ``kubeplay.dataclass``: each has ``dataclass`` and ``field``."""


def port_class(lib: Library, frozen: bool) -> Any:
    @lib.dataclass(frozen=frozen)
    class Port:
        container_port: int
        host_port: int = 0
        protocol: str = "TCP"
        labels: dict[str, str] = lib.field(default_factory=dict)
        seconds: float = lib.field(default=0.0, compare=False)
        note: str = lib.field(default="", repr=False, hash=False, metadata={"shown": "no"})

    return Port


def empty_class(lib: Library, frozen: bool) -> Any:
    @lib.dataclass(frozen=frozen)
    class Empty:
        pass

    return Empty


def nested_class(lib: Library, frozen: bool) -> Any:
    @lib.dataclass(frozen=frozen)
    class Base:
        """A base with a docstring."""

        name: str
        size: int = 1

    @lib.dataclass(frozen=frozen)
    class Derived(Base):
        extra: tuple[str, ...] = ()
        size: int = 5  # (redeclared: keeps its place, takes the new default)

    return Derived


def ordered_class(lib: Library, frozen: bool) -> Any:
    @lib.dataclass(frozen=frozen, order=True)
    class Version:
        major: int
        minor: int = 0
        label: str = lib.field(default="", compare=False)

    return Version


def self_class(lib: Library, frozen: bool) -> Any:
    @lib.dataclass(frozen=frozen)
    class Odd:
        self: str
        other: list[int] = lib.field(default_factory=list)

    return Odd


CASES = [port_class, empty_class, nested_class, ordered_class, self_class]
ARGS: dict[str, tuple[tuple[Any, ...], ...]] = {
    "Port": ((80,), (80, 8080, "UDP"), (80, 8080, "TCP", {"a": "b"}, 1.5), (80, 8080, "TCP", {"a": "b"}, 2.5, "n")),
    "Empty": ((),),
    "Derived": (("a",), ("a", 2), ("a", 2, ("x",)), ("b",)),
    "Version": ((1,), (1, 2), (1, 2, "rc"), (2, 0)),
    "Odd": (("a",), ("a", [1]), ("b", [1, 2])),
}
