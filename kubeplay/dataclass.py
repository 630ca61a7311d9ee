"""kubeplay's ``dataclass``: the standard library's decorator, the same classes, made for less at start-up.

Python 3.11 compiles every method it gives a dataclass with an ``exec`` of its own when the class is made: six for
a frozen class (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``), about 0.75 ms
a class, and a command makes a hundred of them before it does anything. Here ``dataclasses.dataclass`` makes the
class and its fields without methods (``init=False, repr=False, eq=False``: no ``exec``), and ``__init__``,
``__repr__``, ``__eq__`` and ``__hash__`` are compiled from the text the standard library compiles the first time
one is called (most classes are never shown, compared or hashed in a run, many never made); a frozen class's
``__setattr__`` and ``__delattr__`` only raise FrozenInstanceError and are plain functions. What the classes do, and
how fast their instances are made, compared and hashed, is unchanged; ``dataclasses.fields``, ``replace`` and
``asdict`` see them as any dataclass. Differences: ``__dataclass_params__`` holds what the standard library was
asked for (``init=False, repr=False, eq=False, frozen=False``), a class without a docstring gets its name and "()" as
its docstring (no signature: reading one with ``inspect`` costs more than the class), and ``inspect.signature`` of
a class never made shows ``(*args, **kwargs)``.

Only what kubeplay uses is made so (fields with defaults, default factories, ``compare=False``, ``__post_init__``);
a class with more (``order=True``, ``init=False`` or keyword-only fields, ``InitVar``, ``ClassVar``) is left
to the standard library whole.
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")


class _Factory:
    """The default of a field with a default factory in ``__init__``'s signature (the standard library's shows so)."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _Factory()


@overload
def dataclass(cls: type[T], /) -> type[T]: ...


@overload
def dataclass(*, frozen: bool = False, order: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def dataclass(cls: type[T] | None = None, /, *, frozen: bool = False, order: bool = False) -> Any:
    """``dataclasses.dataclass(cls, frozen=frozen, order=order)``, as described above."""

    def wrap(cls: type[T]) -> type[T]:
        if order or not _plain(cls):
            return dataclasses.dataclass(cls, frozen=frozen, order=order)
        return _made_cheaply(cls, frozen)

    return wrap if cls is None else wrap(cls)


def _plain(cls: type) -> bool:
    """Whether the class uses only what this module makes the methods for (see the module's docstring)."""
    own = cls.__dict__
    for name, note in own.get("__annotations__", {}).items():
        if any(word in str(note) for word in ("InitVar", "ClassVar", "KW_ONLY")):
            return False
        value = own.get(name)
        if isinstance(value, dataclasses.Field) and (not value.init or value.kw_only is True):
            return False
    for base in cls.__mro__[1:]:
        inherited = getattr(base, "__dataclass_fields__", {})
        if inherited and len(inherited) != len(dataclasses.fields(base)):
            return False  # (a base's ClassVars and InitVars are pseudo-fields, not in fields())
        if not all(f.init and f.kw_only is not True for f in inherited.values()):
            return False
    return True


def _made_cheaply(cls: type[T], frozen: bool) -> type[T]:
    own = cls.__dict__
    own_hash = own.get("__hash__", dataclasses.MISSING)
    explicit_hash = not (own_hash is dataclasses.MISSING or (own_hash is None and "__eq__" in own))
    if frozen and ("__setattr__" in own or "__delattr__" in own):
        raise TypeError(f"Cannot overwrite attribute __setattr__ in class {cls.__name__}")
    if cls.__doc__ is None:  # (else the standard library reads the signature with inspect, tokenizing "()")
        cls.__doc__ = f"{cls.__name__}()"
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]  # (cls is a dataclass now)
    _check_defaults_order(fields)
    makers: dict[str, Callable[[], tuple[str, dict[str, Any]]]] = {
        "__init__": lambda: _init_source(cls, fields, frozen),
        "__repr__": lambda: (_repr_source(fields), {}),
        "__eq__": lambda: (_eq_source(fields), {}),
    }
    if frozen and not explicit_hash:
        makers["__hash__"] = lambda: (f"def __hash__(self):\n return hash({_tuple('self', fields, 'hash')})", {})
    for name, make in makers.items():
        if name not in own:
            setattr(cls, name, _compiled_when_called(cls, name, make))
    if frozen:
        _freeze(cls, frozenset(f.name for f in fields))
    elif not explicit_hash:
        cls.__hash__ = None  # type: ignore[assignment]  # mutable and compared by value: unhashable, as the stdlib makes it
    return cls


def _check_defaults_order(fields: tuple[dataclasses.Field[Any], ...]) -> None:
    """The standard library's check when the class is made (else it would raise at the first instance)."""
    seen_default = False
    for f in fields:
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")


def _init_source(cls: type, fields: tuple[dataclasses.Field[Any], ...], frozen: bool) -> tuple[str, dict[str, Any]]:
    """The standard library's ``__init__`` (3.11's ``_init_fn`` for fields that are all init, none keyword-only)."""
    names: dict[str, Any] = {"_HAS_DEFAULT_FACTORY": _HAS_DEFAULT_FACTORY, "__dataclass_builtins_object__": object}
    params, lines = ["self"], []
    for f in fields:
        names[f"_type_{f.name}"] = f.type
        value, default = f.name, ""
        if f.default_factory is not dataclasses.MISSING:
            names[f"_dflt_{f.name}"] = f.default_factory
            value = f"_dflt_{f.name}() if {f.name} is _HAS_DEFAULT_FACTORY else {f.name}"
            default = "=_HAS_DEFAULT_FACTORY"
        elif f.default is not dataclasses.MISSING:
            names[f"_dflt_{f.name}"] = f.default
            default = f"=_dflt_{f.name}"
        params.append(f"{f.name}:_type_{f.name}{default}")
        assign = (
            f"__dataclass_builtins_object__.__setattr__(self,{f.name!r},{value})"
            if frozen
            else f"self.{f.name}={value}"
        )
        lines.append(assign)
    if hasattr(cls, "__post_init__"):
        lines.append("self.__post_init__()")
    body = "\n".join(f"  {line}" for line in lines or ["pass"])
    return f"def __init__({','.join(params)}) -> None:\n{body}", names


def _repr_source(fields: tuple[dataclasses.Field[Any], ...]) -> str:
    shown = ", ".join(f"{f.name}={{self.{f.name}!r}}" for f in fields if f.repr)
    return f'def __repr__(self):\n return self.__class__.__qualname__ + f"({shown})"'


def _eq_source(fields: tuple[dataclasses.Field[Any], ...]) -> str:
    return (
        "def __eq__(self, other):\n if other.__class__ is self.__class__:\n"
        f"  return {_tuple('self', fields, 'compare')}=={_tuple('other', fields, 'compare')}\n"
        " return NotImplemented"
    )


def _tuple(name: str, fields: tuple[dataclasses.Field[Any], ...], use: str) -> str:
    """The standard library's tuple of the fields compared (``use="compare"``) or hashed (``"hash"``)."""
    chosen = [f for f in fields if (f.compare if use == "compare" or f.hash is None else f.hash)]
    return f"({','.join(f'{name}.{f.name}' for f in chosen)},)" if chosen else "()"


def _compiled_when_called(cls: type, name: str, make: Callable[[], tuple[str, dict[str, Any]]]) -> Callable[..., Any]:
    """A method that, called once, compiles the source ``make`` returns (with the names it needs), puts the result on
    ``cls`` in its place and returns what it returns; every later call goes straight to the compiled method."""

    def first_call(self: object, *args: Any, **kwargs: Any) -> Any:
        source, names = make()
        namespace: dict[str, Any] = {}
        code = compile(source, "<string>", "exec", dont_inherit=True)  # (not this module's __future__ import)
        exec(code, names, namespace)  # the text dataclasses would have compiled when the class was made
        method = namespace[name]
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        if name == "__repr__":
            method = reprlib.recursive_repr()(method)  # "..." for an instance within itself, as dataclasses shows it
        setattr(cls, name, method)
        return method(self, *args, **kwargs)

    first_call.__qualname__ = f"{cls.__qualname__}.{name}"
    return first_call


def _freeze(cls: type[Any], names: frozenset[str]) -> None:
    """A frozen dataclass's ``__setattr__`` and ``__delattr__``, as the standard library's: a field of any instance,
    or any attribute of an instance of the class itself, cannot be set or deleted."""

    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    for method in (__setattr__, __delattr__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
