"""kubeplay.dataclass makes the classes the standard library's decorator makes: each case here is made by both and
must behave alike (made, shown, compared, hashed, frozen, replaced, pickled)."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from kubeplay import dataclass as module
from kubeplay.dataclass import dataclass

Decorate = Callable[..., Any]


def port_class(decorate: Decorate, frozen: bool) -> Any:
    @decorate(frozen=frozen)
    class Port:
        container_port: int
        host_port: int = 0
        protocol: str = "TCP"
        labels: dict[str, str] = dataclasses.field(default_factory=dict)
        seconds: float = dataclasses.field(default=0.0, compare=False)

    return Port


def empty_class(decorate: Decorate, frozen: bool) -> Any:
    @decorate(frozen=frozen)
    class Empty:
        pass

    return Empty


def nested_class(decorate: Decorate, frozen: bool) -> Any:
    @decorate(frozen=frozen)
    class Base:
        name: str
        size: int = 1

    @decorate(frozen=frozen)
    class Derived(Base):
        extra: tuple[str, ...] = ()

    return Derived


CASES = [port_class, empty_class, nested_class]
ARGS: dict[str, tuple[tuple[Any, ...], ...]] = {
    "Port": ((80,), (80, 8080, "UDP"), (80, 8080, "TCP", {"a": "b"}, 1.5), (80, 8080, "TCP", {"a": "b"}, 2.5)),
    "Empty": ((),),
    "Derived": (("a",), ("a", 2), ("a", 2, ("x",)), ("b",)),
}


def both(case: Callable[[Decorate, bool], Any], frozen: bool) -> tuple[Any, Any]:
    return case(dataclasses.dataclass, frozen), case(dataclass, frozen)


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_instances_are_made_shown_and_compared_as_the_standard_librarys(case: Any, frozen: bool) -> None:
    theirs, ours = both(case, frozen)
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert ours.__match_args__ == theirs.__match_args__
    for args in ARGS[theirs.__name__]:
        for other in ARGS[theirs.__name__]:
            assert (ours(*args) == ours(*other)) == (theirs(*args) == theirs(*other))
            assert (ours(*args) != ours(*other)) == (theirs(*args) != theirs(*other))
        assert repr(ours(*args)) == repr(theirs(*args))
        assert dataclasses.asdict(ours(*args)) == dataclasses.asdict(theirs(*args))
        assert ours(*args) != theirs(*args)  # another class


def test_a_frozen_instance_cannot_change_and_hashes_as_the_standard_librarys() -> None:
    theirs, ours = both(nested_class, frozen=True)
    for args in ARGS["Derived"]:
        assert hash(ours(*args)) == hash(theirs(*args))
    changes: list[Callable[[Any], None]] = [
        lambda p: setattr(p, "size", 2),
        lambda p: delattr(p, "name"),
        lambda p: setattr(p, "x", 1),
    ]
    for change in changes:
        with pytest.raises(dataclasses.FrozenInstanceError) as raised:
            change(ours("a"))
        with pytest.raises(dataclasses.FrozenInstanceError) as expected:
            change(theirs("a"))
        assert str(raised.value) == str(expected.value)
    replaced = dataclasses.replace(ours("a", 1), size=3)
    assert replaced == ours("a", 3, ())
    with pytest.raises(TypeError, match="unhashable"):
        hash(port_class(dataclass, frozen=True)(80))  # (a dict field, as with the standard library)


@dataclass(frozen=True)
class Pickled:
    name: str
    size: int = 0


def test_an_instance_is_pickled_and_copied() -> None:
    made = Pickled("a", 2)
    assert pickle.loads(pickle.dumps(made)) == made
    assert copy.deepcopy(made) == made and copy.copy(made) == made


def test_compare_false_fields_are_left_out_of_equality_and_hash() -> None:
    ours = nested_class(dataclass, frozen=True)
    assert ours("a") == ours("a") and hash(ours("a")) == hash(ours("a"))
    port = port_class(dataclass, frozen=True)
    assert port(80, seconds=1.0) == port(80, seconds=2.0)


def test_a_mutable_dataclass_can_change_and_is_unhashable() -> None:
    ours = port_class(dataclass, frozen=False)
    p = ours(80)
    p.host_port = 8080
    assert p == ours(80, 8080)
    with pytest.raises(TypeError, match="unhashable"):
        hash(p)


def test_missing_or_unknown_arguments_are_refused_as_by_the_standard_library() -> None:
    theirs, ours = both(port_class, frozen=True)
    for args, kwargs in (((), {}), ((1, 2, 3, {}, 1.0, 6), {}), ((1,), {"nope": 2})):
        with pytest.raises(TypeError) as raised:
            ours(*args, **kwargs)
        with pytest.raises(TypeError) as expected:
            theirs(*args, **kwargs)
        assert str(raised.value) == str(expected.value)


def test_each_instance_gets_its_own_default_from_a_factory() -> None:
    ours = port_class(dataclass, frozen=True)
    a, b = ours(1), ours(2)
    assert a.labels == {} and a.labels is not b.labels


def test_methods_written_in_the_class_are_kept() -> None:
    @dataclass(frozen=True)
    class Named:
        name: str

        def __repr__(self) -> str:
            return f"<{self.name}>"

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Named) and other.name.lower() == self.name.lower()

        def __hash__(self) -> int:
            return hash(self.name.lower())

    assert repr(Named("A")) == "<A>"
    assert Named("A") == Named("a") and hash(Named("A")) == hash(Named("a"))


def test_post_init_runs_after_the_fields_are_set() -> None:
    seen: list[int] = []

    @dataclass(frozen=True)
    class Checked:
        size: int

        def __post_init__(self) -> None:
            seen.append(self.size)

    Checked(3)
    assert seen == [3]


def test_a_field_without_default_after_one_with_is_refused_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @dataclass
        class Wrong:
            a: int = 0
            b: int  # type: ignore[misc]


def test_a_recursive_repr_shows_dots() -> None:
    @dataclass
    class Node:
        children: list[Any]

    node = Node([])
    node.children.append(node)
    assert repr(node) == f"{Node.__qualname__}(children=[...])"


def test_order_classvar_and_others_are_left_to_the_standard_library() -> None:
    @dataclass(frozen=True, order=True)
    class Ordered:
        a: int

    @dataclass(frozen=True)
    class WithClassVar:
        a: int
        kind: ClassVar[str] = "k"

    assert sorted([Ordered(2), Ordered(1)]) == [Ordered(1), Ordered(2)]
    assert WithClassVar(1) == WithClassVar(1) and WithClassVar.kind == "k"
    assert [f.name for f in dataclasses.fields(WithClassVar)] == ["a"]


def test_a_class_is_made_without_compiling_and_its_methods_once_each() -> None:
    compiled: list[str] = []

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "exec" and watching:
            compiled.append(event)

    watching = True
    sys.addaudithook(hook)
    try:
        made = port_class(dataclass, frozen=True)
        assert compiled == []
        a = made(80)
        b = made(80)
        assert compiled == ["exec"]  # __init__, once
        assert a == b and repr(a) and a == b
        assert len(compiled) == 3  # __eq__ and __repr__, once each
    finally:
        watching = False
    assert str(inspect.signature(made)) == str(inspect.signature(port_class(dataclasses.dataclass, frozen=True)))
    assert module.dataclass is dataclass
