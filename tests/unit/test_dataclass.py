"""kubeplay.dataclass makes the classes the standard library's ``dataclasses`` makes, without importing it: each case
here is written once, made by both (each with its own ``dataclass`` and ``field``) and must behave alike: made with
defaults and factories, shown, compared, ordered, hashed, frozen, replaced, turned into dicts, its fields listed, its
mistakes refused with the same message."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, cast

import pytest

from kubeplay import dataclass as ours
from kubeplay.dataclass import dataclass, field
from tests.unit.dataclass_cases import ARGS, CASES, Library, nested_class, ordered_class, port_class

THEIRS: Library = dataclasses
BOTH = [dataclasses, ours]


def both(case: Callable[[Library, bool], Any], frozen: bool) -> tuple[Any, Any]:
    return case(THEIRS, frozen), case(ours, frozen)


def hashed(made: object) -> object:
    """The instance's hash, or the error hashing it raised (a list or dict in a field, a mutable class)."""
    try:
        return hash(made)
    except TypeError as exc:
        return str(exc)


def past_binding(made: Any) -> Any:
    """The class ``made`` once its ``__init__`` is compiled: made past the calls that bind their arguments in Python."""
    for _ in range(ours.CALLS_BEFORE_COMPILING + 1):
        made(*ARGS[made.__name__][0])
    return made


def field_view(f: Any) -> tuple[Any, ...]:
    """A field's attributes, each library's MISSING as None."""
    values = [getattr(f, name) for name in ("name", "type", "default", "default_factory", "init", "repr", "hash")]
    values += [f.compare, dict(f.metadata), f.kw_only]
    return tuple(None if v is dataclasses.MISSING or v is ours.MISSING else v for v in values)


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_a_class_is_made_as_the_standard_librarys(case: Any, frozen: bool) -> None:
    theirs, mine = both(case, frozen)
    assert [field_view(f) for f in ours.fields(mine)] == [field_view(f) for f in dataclasses.fields(theirs)]
    assert mine.__match_args__ == theirs.__match_args__
    assert mine.__doc__ == theirs.__doc__
    for name in ("init", "repr", "eq", "order", "unsafe_hash", "frozen"):
        assert getattr(mine.__dataclass_params__, name) == getattr(theirs.__dataclass_params__, name)
    assert {k: v for k, v in vars(mine).items() if not k.startswith("__")} == {
        k: v for k, v in vars(theirs).items() if not k.startswith("__")
    }  # (the defaults as class attributes, no Field left there)
    assert ours.is_dataclass(mine) and ours.is_dataclass(mine(*ARGS[mine.__name__][0]))
    assert (mine.__hash__ is None) == (theirs.__hash__ is None)
    past_binding(mine)
    assert str(inspect.signature(mine)) == str(inspect.signature(theirs))
    assert mine.__init__.__annotations__ == theirs.__init__.__annotations__


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_instances_are_made_shown_compared_and_turned_to_dicts_as_the_standard_librarys(
    case: Any, frozen: bool
) -> None:
    theirs, mine = both(case, frozen)
    operators: list[Callable[[Any, Any], object]] = [lambda a, b: a == b, lambda a, b: a != b]
    if mine.__dataclass_params__.order:
        operators += [lambda a, b: a < b, lambda a, b: a <= b, lambda a, b: a > b, lambda a, b: a >= b]
    for args in ARGS[theirs.__name__]:
        for other in ARGS[theirs.__name__]:
            for compare in operators:
                assert compare(mine(*args), mine(*other)) == compare(theirs(*args), theirs(*other))
        assert repr(mine(*args)) == repr(theirs(*args))
        assert ours.asdict(mine(*args)) == dataclasses.asdict(theirs(*args))
        assert ours.asdict(mine(*args), dict_factory=list) == dataclasses.asdict(theirs(*args), dict_factory=list)
        assert vars(mine(*args)) == vars(theirs(*args))
        assert mine(*args) != theirs(*args)  # another class
        assert hashed(mine(*args)) == hashed(theirs(*args))


def test_ordering_refuses_another_class_as_the_standard_library() -> None:
    theirs, mine = both(ordered_class, frozen=True)
    with pytest.raises(TypeError) as raised:
        assert mine(1) < theirs(2)
    with pytest.raises(TypeError) as expected:
        assert theirs(1) < mine(2)
    assert str(raised.value).replace("Version", "X") == str(expected.value).replace("Version", "X")


def test_a_frozen_instance_cannot_change_as_the_standard_librarys() -> None:
    theirs, mine = both(nested_class, frozen=True)
    changes: list[Callable[[Any], None]] = [
        lambda p: setattr(p, "size", 2),
        lambda p: delattr(p, "name"),
        lambda p: setattr(p, "x", 1),
    ]
    for change in changes:
        with pytest.raises(ours.FrozenInstanceError) as raised:
            change(mine("a"))
        with pytest.raises(dataclasses.FrozenInstanceError) as expected:
            change(theirs("a"))
        assert str(raised.value) == str(expected.value)
        assert isinstance(raised.value, AttributeError)  # (as the standard library's is)
    with pytest.raises(TypeError, match="unhashable"):
        hash(port_class(ours, frozen=True)(80))  # (a dict field, as with the standard library)


def test_a_subclass_that_is_no_dataclass_may_set_its_own_attributes_as_with_the_standard_library() -> None:
    for lib in BOTH:
        base = nested_class(lib, frozen=True)
        sub = type("Sub", (base,), {})
        made = sub("a")
        made.other = 1
        with pytest.raises(AttributeError):
            made.size = 3


@pytest.mark.parametrize("case", CASES)
def test_replace_makes_a_new_instance_as_the_standard_librarys(case: Any) -> None:
    theirs, mine = both(case, frozen=True)
    for args in ARGS[theirs.__name__]:
        changes = {f.name: f"new {f.name}" for f in dataclasses.fields(theirs)[:1]}
        assert repr(ours.replace(mine(*args), **changes)) == repr(dataclasses.replace(theirs(*args), **changes))
        assert ours.replace(mine(*args)) == mine(*args)
    bad_calls: list[Callable[[Any, Any], object]] = [
        lambda lib, made: lib.replace(made, nope=1),
        lambda lib, made: lib.replace(object()),
    ]
    for bad_call in bad_calls:
        with pytest.raises(TypeError) as raised:
            bad_call(ours, mine(*ARGS[theirs.__name__][0]))
        with pytest.raises(TypeError) as expected:
            bad_call(dataclasses, theirs(*ARGS[theirs.__name__][0]))
        assert str(raised.value).replace(mine.__qualname__, "X") == str(expected.value).replace(
            theirs.__qualname__, "X"
        )


def test_asdict_goes_into_lists_tuples_dicts_and_named_tuples_and_copies_the_rest() -> None:
    class Pair(NamedTuple):
        left: object
        right: object

    results = []
    for lib in BOTH:
        inner = nested_class(lib, frozen=True)

        @lib.dataclass
        class Outer:
            items: list[Any]
            pair: Pair
            table: dict[str, Any]
            other: set[int]

        outer: Any = Outer  # (mypy sees no dataclass through a module's attribute)
        made = outer([inner("a"), (inner("b"), 1)], Pair(inner("c"), None), {"k": [inner("d")]}, {1})
        result = lib.asdict(made)
        assert result["other"] == made.other and result["other"] is not made.other  # (deep-copied)
        assert type(result["pair"]) is Pair
        results.append(result)
    assert results[0] == results[1]
    with pytest.raises(TypeError, match="asdict\\(\\) should be called on dataclass instances"):
        ours.asdict(nested_class(ours, frozen=True))


def mutable_default(lib: Library) -> None:
    @lib.dataclass
    class Wrong:
        items: list[int] = []  # noqa: RUF012


def default_then_none(lib: Library) -> None:
    @lib.dataclass
    class Wrong:
        a: int = 0
        b: int


def field_without_annotation(lib: Library) -> None:
    @lib.dataclass
    class Wrong:
        a = lib.field(default=1)


def frozen_from_mutable(lib: Library) -> None:
    lib.dataclass(frozen=True)(type("Wrong", (nested_class(lib, frozen=False),), {}))


def mutable_from_frozen(lib: Library) -> None:
    lib.dataclass(type("Wrong", (nested_class(lib, frozen=True),), {}))


def both_defaults(lib: Library) -> None:
    lib.field(default=1, default_factory=int)


def unknown_option(lib: Library) -> None:
    lib.field(default=1, nope=2)


def own_order_method(lib: Library) -> None:
    lib.dataclass(order=True)(type("Wrong", (), {"__annotations__": {"a": "int"}, "__lt__": lambda s, o: True}))


def own_setattr_when_frozen(lib: Library) -> None:
    lib.dataclass(frozen=True)(type("Wrong", (), {"__annotations__": {}, "__setattr__": object.__setattr__}))


MISTAKES = [mutable_default, default_then_none, field_without_annotation, frozen_from_mutable, mutable_from_frozen]
MISTAKES += [both_defaults, unknown_option, own_order_method, own_setattr_when_frozen]


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_in_a_class_is_refused_when_it_is_made_with_the_standard_librarys_message(
    mistake: Callable[[Library], None],
) -> None:
    with pytest.raises((TypeError, ValueError)) as raised:
        mistake(ours)
    with pytest.raises((TypeError, ValueError)) as expected:
        mistake(dataclasses)
    assert (type(raised.value), str(raised.value)) == (type(expected.value), str(expected.value)), mistake


def test_each_instance_gets_its_own_default_from_a_factory() -> None:
    made = port_class(ours, frozen=True)
    a, b = made(1), made(2)
    assert a.labels == {} and a.labels is not b.labels
    assert made(1, labels={"x": "y"}).labels == {"x": "y"}


def test_methods_written_in_the_class_are_kept_and_hashing_follows_the_standard_librarys_table() -> None:
    for lib in BOTH:

        @lib.dataclass(frozen=True)
        class Named:
            name: str

            def __repr__(self) -> str:
                return f"<{self.name}>"

            def __eq__(self, other: object) -> bool:
                return isinstance(other, Named) and other.name.lower() == self.name.lower()

            def __hash__(self) -> int:
                return hash(self.name.lower())

        @lib.dataclass
        class MutableWithHash:
            name: str

            def __hash__(self) -> int:
                return 7

        @lib.dataclass(frozen=True)
        class FrozenWithEq:
            name: str

            def __eq__(self, other: object) -> bool:
                return True

        named: Any = Named  # (mypy sees no dataclass through a module's attribute)
        assert repr(named("A")) == "<A>"
        assert named("A") == named("a") and hash(named("A")) == hash(named("a"))
        assert hash(cast(Any, MutableWithHash)("a")) == 7
        assert hash(cast(Any, FrozenWithEq)("a")) == hash(("a",))  # (eq written, no hash: frozen adds one)


def test_post_init_runs_after_the_fields_are_set_also_when_inherited() -> None:
    seen: list[tuple[int, str]] = []
    for lib in BOTH:
        seen.clear()

        @lib.dataclass(frozen=True)
        class Checked:
            size: int

            def __post_init__(self) -> None:
                seen.append((self.size, type(self).__name__))

        @lib.dataclass(frozen=True)
        class Child(Checked):
            name: str = "c"

        cast(Any, Checked)(3)
        cast(Any, Child)(4)
        assert seen == [(3, "Checked"), (4, "Child")]


def test_missing_or_unknown_arguments_are_refused_as_by_the_standard_library() -> None:
    theirs, mine = both(port_class, frozen=True)
    for args, kwargs in (((), {}), ((1, 2, 3, {}, 1.0, "", 6), {}), ((1,), {"nope": 2})):
        with pytest.raises(TypeError) as raised:
            mine(*args, **kwargs)
        with pytest.raises(TypeError) as expected:
            theirs(*args, **kwargs)
        assert str(raised.value) == str(expected.value)


@dataclass(frozen=True)
class Pickled:
    name: str
    size: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)


def test_an_instance_is_pickled_and_copied() -> None:
    made = Pickled("a", 2)
    assert pickle.loads(pickle.dumps(made)) == made
    assert copy.deepcopy(made) == made and copy.copy(made) == made


def test_a_recursive_repr_shows_dots() -> None:
    for lib in BOTH:

        @lib.dataclass
        class Node:
            children: list[Any]

        node = cast(Any, Node)([])
        node.children.append(node)
        assert repr(node) == f"{Node.__qualname__}(children=[...])"


def test_classvar_and_initvar_are_left_to_the_standard_library_with_kubeplays_fields() -> None:
    @dataclass(frozen=True)
    class WithClassVar:
        a: int
        b: list[int] = field(default_factory=list)
        kind: ClassVar[str] = "k"

    @dataclass
    class WithInitVar:
        a: int
        scale: dataclasses.InitVar[int] = 2

        def __post_init__(self, scale: int) -> None:
            self.a *= scale

    assert WithClassVar(1) == WithClassVar(1, []) and WithClassVar.kind == "k"
    assert [f.name for f in ours.fields(WithClassVar)] == ["a", "b"]
    assert ours.replace(WithClassVar(1), a=2) == WithClassVar(2)
    assert WithInitVar(3).a == 6 and ours.asdict(WithInitVar(3, 1)) == {"a": 3}

    @dataclasses.dataclass(frozen=True)
    class TheirBase:
        a: int

    @dataclass(frozen=True)
    class OnTheirs(TheirBase):
        b: str = "x"

    assert repr(OnTheirs(1)).endswith(".OnTheirs(a=1, b='x')")  # (made by the standard library: a base it made)
    assert ours.fields(OnTheirs)[1].name == "b" and ours.replace(OnTheirs(1), b="y").b == "y"
    with pytest.raises(TypeError, match="Sub needs the standard library's dataclass, which cannot derive from Pickled"):

        @dataclass(frozen=True)
        class Sub(Pickled):
            kind: ClassVar[str] = "k"


def test_the_standard_librarys_functions_work_on_these_classes() -> None:
    made: Any = port_class(ours, frozen=True)(80, labels={"a": "b"})
    assert dataclasses.is_dataclass(made.__class__)
    assert [f.name for f in dataclasses.fields(made)] == [f.name for f in ours.fields(made)]
    assert dataclasses.asdict(made) == ours.asdict(made)
    assert dataclasses.replace(made, host_port=1) == ours.replace(made, host_port=1)


def test_a_class_is_made_without_compiling_and_its_methods_once_each() -> None:
    compiled: list[str] = []

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "exec" and watching:
            compiled.append(event)

    watching = True
    sys.addaudithook(hook)
    try:
        made = ordered_class(ours, frozen=True)
        assert compiled == []
        a = made(1)
        b = made(1, minor=0)
        for _ in range(ours.CALLS_BEFORE_COMPILING - 2):
            made(1)
        assert compiled == []  # (the arguments bound in Python)
        made(1)
        made(1)
        assert compiled == ["exec"]  # __init__, once
        assert a == b and repr(a) and a == b and hash(a) == hash(b) and a <= b and a <= b
        assert len(compiled) == 5  # __eq__, __repr__, __hash__ and __le__, once each
    finally:
        watching = False
    assert made.__init__.__qualname__ == "ordered_class.<locals>.Version.__init__"
    assert ours.dataclass is dataclass


def test_making_and_using_a_class_does_not_import_the_standard_librarys_dataclasses() -> None:
    script = (
        "import sys\n"
        "from tests.unit.dataclass_cases import CASES, ARGS\n"
        "from kubeplay import dataclass as ours\n"
        "for case in CASES:\n"
        "    for frozen in (True, False):\n"
        "        made = case(ours, frozen)\n"
        "        args = ARGS[made.__name__][-1]\n"
        "        x = made(*args)\n"
        "        print(repr(x), x == x, ours.replace(x), ours.asdict(x), ours.fields(x), file=sys.stderr)\n"
        "        try:\n"
        "            hash(x)\n"
        "        except TypeError:\n"
        "            pass\n"
        "print('dataclasses' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_the_methods_compiled_are_the_standard_librarys_bytecode(case: Any, frozen: bool) -> None:
    """So that they run as fast: made on first use, then the same code as the standard library's."""
    theirs, mine = both(case, frozen)
    made = past_binding(mine)(*ARGS[mine.__name__][0])
    assert made == made and repr(made) and hashed(made) is not None
    names = ["__init__", "__eq__", "__repr__"] + (["__hash__"] if frozen else [])
    if mine.__dataclass_params__.order:
        assert made <= made
        names.append("__le__")
    for name in names:
        method, expected = getattr(mine, name), getattr(theirs, name)
        code = getattr(method, "__wrapped__", method).__code__
        expected_code = getattr(expected, "__wrapped__", expected).__code__
        assert (code.co_code, code.co_freevars, code.co_consts) == (
            expected_code.co_code,
            expected_code.co_freevars,
            expected_code.co_consts,
        ), name
        assert method.__qualname__ == expected.__qualname__


def test_a_descriptor_given_as_a_fields_default_is_told_its_name_as_by_the_standard_library() -> None:
    told: list[tuple[str, str]] = []

    class Told:
        def __set_name__(self, owner: type, name: str) -> None:
            told.append((owner.__name__, name))

    for lib in BOTH:
        lib.dataclass(type("Made", (), {"__annotations__": {"a": "object"}, "a": lib.field(default=Told())}))
    assert told == [("Made", "a"), ("Made", "a")]


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_the_first_calls_set_the_fields_as_the_compiled_init_does(case: Any, frozen: bool) -> None:
    """Arguments in order, by name, or both, defaults and factories: each call made by a fresh class (bound in
    Python) and by one whose __init__ is compiled makes what the standard library's makes."""
    theirs = case(THEIRS, frozen)
    names = [f.name for f in dataclasses.fields(theirs)]
    for args in ARGS[theirs.__name__]:
        for by_name in range(len(args) + 1):
            split = len(args) - by_name
            positional, named = args[:split], dict(zip(names[split : len(args)], args[split:], strict=True))
            expected = vars(theirs(*positional, **named))
            assert vars(case(ours, frozen)(*positional, **named)) == expected
            assert vars(past_binding(case(ours, frozen))(*positional, **named)) == expected


def test_the_first_calls_refuse_wrong_arguments_as_the_standard_library() -> None:
    theirs, mine = both(port_class, frozen=True)
    wrong: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}),
        ((1, 2, 3, {}, 1.0, "", 6), {}),
        ((1,), {"nope": 2}),
        ((1,), {"container_port": 2}),
        ((), {"host_port": 2}),
    ]
    for args, kwargs in wrong:
        with pytest.raises(TypeError) as raised:
            port_class(ours, frozen=True)(*args, **kwargs)  # (a fresh class: its first call)
        with pytest.raises(TypeError) as expected:
            theirs(*args, **kwargs)
        assert str(raised.value).replace(mine.__qualname__, "X") == str(expected.value).replace(
            theirs.__qualname__, "X"
        )
