"""kubeplay's dataclasses: the standard library's ``dataclasses``, the same classes, made for less at start-up.

``dataclass``, ``field``, ``Field``, ``fields``, ``replace``, ``asdict``, ``is_dataclass``, ``MISSING`` and
``FrozenInstanceError`` here do what the standard library's of the same names do, for the classes kubeplay writes,
without importing its ``dataclasses`` module: that import pulls in inspect, ast, dis and tokenize, and making a class
with it reads every field's annotation (``_process_class``: ~8 ms for kubeplay's hundred classes before a command
does anything), then compiles each generated method with an ``exec`` of its own, six for a frozen class.

Here a class is made by reading its annotations as text, and its ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` and, with ``order=True``, ``__lt__``, ``__le__``, ``__gt__``, ``__ge__`` are compiled from the text the
standard library (3.11) compiles (``__init__``'s annotations set, not compiled), the first time each is called (most
classes are never shown, compared or hashed in a run, many never made), ``__init__`` only after its first
``CALLS_BEFORE_COMPILING`` calls, which set the fields in Python (most classes are made a few times in a run); every
later call goes straight to the compiled method, the standard library's bytecode.
A frozen class's ``__setattr__`` and ``__delattr__`` only raise FrozenInstanceError and are plain functions.

Made so: fields with defaults, default factories, ``repr``/``hash``/``compare``/``metadata`` options, inheritance
between such classes, ``__post_init__``, frozen classes, ``order=True``. A class with more (a ``ClassVar``, an
``InitVar``, ``KW_ONLY``, a field with ``init=False`` or ``kw_only=True``, or a base the standard library made) is
left to the standard library whole, imported then; its instances have the standard library's FrozenInstanceError,
and it cannot derive from a class made here (TypeError when it is made).

Differences: ``inspect.signature`` of a class shows ``(*args, **kwargs)`` until its ``__init__`` is compiled, and
``abc.update_abstractmethods`` is not called. The standard library's own functions (``dataclasses.fields``,
``replace``, ``asdict``) work on these classes too.
"""

from __future__ import annotations

import _thread
import functools
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, dataclass_transform, overload

T = TypeVar("T")
_Source = tuple[str, dict[str, Any], dict[str, Any]]
"""A method's text, the names it uses (closure cells, as the standard library's) and its annotations."""


class _Missing:
    """What a field without default has as its default (the standard library's ``MISSING``)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class _Factory:
    """The default of a field with a default factory in ``__init__``'s signature (the standard library's shows so)."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _Factory()
_NO_METADATA: Mapping[Any, Any] = types.MappingProxyType({})


class FrozenInstanceError(AttributeError):
    """Raised on setting or deleting a field of a frozen dataclass's instance."""


class Field(Generic[T]):
    """One field of a dataclass, as ``dataclasses.Field``: its name, type, default and options."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "kw_only", "metadata", "name", "repr", "type")

    def __init__(
        self,
        default: Any,
        default_factory: Any,
        init: bool,
        repr: bool,
        hash: bool | None,
        compare: bool,
        metadata: Mapping[Any, Any] | None,
        kw_only: Any,
    ) -> None:
        self.name: str = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare
        self.metadata = _NO_METADATA if metadata is None else types.MappingProxyType(metadata)
        self.kw_only = kw_only

    @property
    def _field_type(self) -> Any:
        """The standard library's mark of a true field: its functions read it (``dataclasses.fields(x)`` of one of
        these classes), and then ``dataclasses`` is imported."""
        return sys.modules["dataclasses"]._FIELD

    def __set_name__(self, owner: type, name: str) -> None:
        """A default that is a descriptor is told its name, as by the standard library's Field."""
        tell = getattr(type(self.default), "__set_name__", None)
        if tell is not None:
            tell(self.default, owner, name)

    def __repr__(self) -> str:
        shown = ",".join(
            f"{name}={getattr(self, name)!r}" for name in ("name", "type", "default", "default_factory", *_OPTIONS)
        )
        return f"Field({shown},_field_type=_FIELD)"


_OPTIONS: dict[str, Any] = {
    "init": True,
    "repr": True,
    "hash": None,
    "compare": True,
    "metadata": None,
    "kw_only": MISSING,
}
"""``field``'s options but the default and default factory, with their defaults, in the standard library's order."""


@overload
def field(*, default: T, **options: Any) -> T: ...


@overload
def field(*, default_factory: Callable[[], T], **options: Any) -> T: ...


@overload
def field(**options: Any) -> Any: ...


def field(*, default: Any = MISSING, default_factory: Any = MISSING, **options: Any) -> Any:
    """A field's default or default factory and options (``init``, ``repr``, ``hash``, ``compare``, ``metadata``,
    ``kw_only``), as ``dataclasses.field``."""
    unknown = sorted(options.keys() - _OPTIONS.keys())
    if unknown:
        raise TypeError(f"field() got an unexpected keyword argument {unknown[0]!r}")
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, **{**_OPTIONS, **options})


class _Params:
    """A class's ``__dataclass_params__``: what it was made with (the standard library's ``_DataclassParams``)."""

    __slots__ = ("eq", "frozen", "init", "order", "repr", "unsafe_hash")

    def __init__(self, frozen: bool, order: bool) -> None:
        self.init = self.repr = self.eq = True
        self.unsafe_hash = False
        self.order, self.frozen = order, frozen

    def __repr__(self) -> str:
        shown = ",".join(
            f"{name}={getattr(self, name)!r}" for name in ("init", "repr", "eq", "order", "unsafe_hash", "frozen")
        )
        return f"_DataclassParams({shown})"


@overload
def dataclass(cls: type[T], /) -> type[T]: ...


@overload
def dataclass(*, frozen: bool = False, order: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(field, Field))
def dataclass(cls: type[T] | None = None, /, *, frozen: bool = False, order: bool = False) -> Any:
    """``dataclasses.dataclass(cls, frozen=frozen, order=order)``, as described above."""

    def wrap(cls: type[T]) -> type[T]:
        found = _fields_made_cheaply(cls)
        if found is None:
            return _by_the_standard_library(cls, frozen, order)
        return _made_cheaply(cls, found, frozen, order)

    return wrap if cls is None else wrap(cls)


def _fields_made_cheaply(cls: type) -> dict[str, Field[Any]] | None:
    """The class's fields, its bases' first, or None when it uses more than this module makes (see its docstring)."""
    found: dict[str, Field[Any]] = {}
    for base in cls.__mro__[-1:0:-1]:
        inherited = getattr(base, "__dataclass_fields__", None)
        if inherited is not None:
            if type(getattr(base, "__dataclass_params__", None)) is not _Params:
                return None  # (a base the standard library made)
            found.update(inherited)
    own = cls.__dict__
    for name, note in own.get("__annotations__", {}).items():
        text = str(note)
        if "ClassVar" in text or "InitVar" in text or "KW_ONLY" in text:
            return None
        value = own.get(name, MISSING)
        if isinstance(value, Field):
            if not value.init or value.kw_only is True:
                return None
        else:
            if isinstance(value, types.MemberDescriptorType):
                value = MISSING  # (a slot, as the standard library sees it)
            value = Field(value, MISSING, True, True, None, True, None, MISSING)
        value.name, value.type, value.kw_only = name, note, False
        found[name] = value
    return found


def _by_the_standard_library(cls: type[T], frozen: bool, order: bool) -> type[T]:
    """The class made by ``dataclasses.dataclass``, its ``field(...)`` values turned into the standard library's."""
    import dataclasses

    ours = [base.__name__ for base in cls.__mro__[1:] if type(getattr(base, "__dataclass_params__", None)) is _Params]
    if ours:
        raise TypeError(f"{cls.__name__} needs the standard library's dataclass, which cannot derive from {ours[0]}")

    def theirs(value: Any) -> Any:
        return dataclasses.MISSING if value is MISSING else value

    for name, value in list(cls.__dict__.items()):
        if isinstance(value, Field):
            options = {option: theirs(getattr(value, option)) for option in ("default", "default_factory", *_OPTIONS)}
            setattr(cls, name, dataclasses.field(**options))
    return dataclasses.dataclass(cls, frozen=frozen, order=order)


def _made_cheaply(cls: type[T], found: dict[str, Field[Any]], frozen: bool, order: bool) -> type[T]:
    """The class as the standard library makes it, with the ``found`` fields (see the module's docstring)."""
    own = cls.__dict__
    _check(cls, found, frozen)
    for f in found.values():
        if isinstance(own.get(f.name), Field):
            if f.default is MISSING:
                delattr(cls, f.name)
            else:
                setattr(cls, f.name, f.default)
    fields = tuple(found.values())
    setattr(cls, "__dataclass_params__", _Params(frozen, order))  # noqa: B010  (mypy: not an attribute of type)
    setattr(cls, "__dataclass_fields__", found)  # noqa: B010
    _add_methods(cls, fields, frozen, order)
    if "__match_args__" not in own:
        setattr(cls, "__match_args__", tuple(found))  # noqa: B010
    if not cls.__doc__:
        cls.__doc__ = cls.__name__ + _signature(fields)
    return cls


def _check(cls: type, found: dict[str, Field[Any]], frozen: bool) -> None:
    """The standard library's checks when a class is made (else some would raise only at the first instance)."""
    own = cls.__dict__
    notes = own.get("__annotations__", {})
    for name in [name for name, value in own.items() if type(value) is Field]:
        if name not in notes:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    seen_default = False
    for f in found.values():
        if f.default is not MISSING and f.default.__class__.__hash__ is None:
            raise ValueError(
                f"mutable default {type(f.default)} for field {f.name} is not allowed: use default_factory"
            )
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
    bases = [getattr(base, "__dataclass_params__").frozen for base in cls.__mro__[1:] if is_dataclass(base)]  # noqa: B009
    if bases and any(bases) and not frozen:
        raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
    if bases and not any(bases) and frozen:
        raise TypeError("cannot inherit frozen dataclass from a non-frozen one")


def _add_methods(cls: type, fields: tuple[Field[Any], ...], frozen: bool, order: bool) -> None:
    """The methods the standard library gives the class, each compiled when first called (see the docstring)."""
    own = cls.__dict__
    makers: dict[str, Callable[[], _Source]] = {
        "__init__": lambda: _init_source(cls, fields, frozen),
        "__repr__": lambda: (_repr_source(fields), {}, {}),
        "__eq__": _comparison("__eq__", "==", fields),
    }
    if order:
        for name, operator in (("__lt__", "<"), ("__le__", "<="), ("__gt__", ">"), ("__ge__", ">=")):
            if name in own:
                hint = "Consider using functools.total_ordering"
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}. {hint}")
            makers[name] = _comparison(name, operator, fields)
    own_hash = own.get("__hash__", MISSING)
    explicit_hash = not (own_hash is MISSING or (own_hash is None and "__eq__" in own))
    for name, make in makers.items():
        if name not in own:
            made = _compiled_when_called(cls, name, make)
            setattr(cls, name, _bound_until_compiled(cls, fields, frozen, made) if name == "__init__" else made)
    if frozen and not explicit_hash:  # (also over the None Python sets when the class writes __eq__ only)
        hashing = _compiled_when_called(
            cls, "__hash__", lambda: (f"def __hash__(self):\n return {_hash(fields)}", {}, {})
        )
        cls.__hash__ = hashing  # type: ignore[method-assign]
    if frozen:
        _freeze(cls, frozenset(f.name for f in fields))
    elif not explicit_hash:
        cls.__hash__ = None  # type: ignore[assignment]  # mutable and compared by value: unhashable, as the stdlib makes it


def _init_source(cls: type, fields: tuple[Field[Any], ...], frozen: bool) -> _Source:
    """The standard library's ``__init__`` (3.11's ``_init_fn`` for fields that are all init, none keyword-only), its
    annotations (``name:_type_name``, ``-> None``) given apart: compiled, they only build that dict (in the function
    that makes the method: the method's own code is the same), and compiling them was a third of the work."""
    names: dict[str, Any] = {"_HAS_DEFAULT_FACTORY": _HAS_DEFAULT_FACTORY, "__dataclass_builtins_object__": object}
    me = "__dataclass_self__" if any(f.name == "self" for f in fields) else "self"
    params, lines = [me], []
    for f in fields:
        value, default = f.name, ""
        if f.default_factory is not MISSING:
            names[f"_dflt_{f.name}"] = f.default_factory
            value = f"_dflt_{f.name}() if {f.name} is _HAS_DEFAULT_FACTORY else {f.name}"
            default = "=_HAS_DEFAULT_FACTORY"
        elif f.default is not MISSING:
            names[f"_dflt_{f.name}"] = f.default
            default = f"=_dflt_{f.name}"
        params.append(f"{f.name}{default}")
        assign = (
            f"__dataclass_builtins_object__.__setattr__({me},{f.name!r},{value})"
            if frozen
            else f"{me}.{f.name}={value}"
        )
        lines.append(assign)
    if hasattr(cls, "__post_init__"):
        lines.append(f"{me}.__post_init__()")
    body = "\n".join(f"  {line}" for line in lines or ["pass"])
    annotations = {f.name: f.type for f in fields} | {"return": None}
    return f"def __init__({','.join(params)}):\n{body}", names, annotations


def _repr_source(fields: tuple[Field[Any], ...]) -> str:
    shown = ", ".join(f"{f.name}={{self.{f.name}!r}}" for f in fields if f.repr)
    return f'def __repr__(self):\n return self.__class__.__qualname__ + f"({shown})"'


def _comparison(name: str, operator: str, fields: tuple[Field[Any], ...]) -> Callable[[], _Source]:
    """What makes, when called, the standard library's ``__eq__`` (``operator`` "==") or an order method."""

    def make() -> _Source:
        compared = f"{_tuple('self', fields, 'compare')}{operator}{_tuple('other', fields, 'compare')}"
        same_class = "if other.__class__ is self.__class__"
        return f"def {name}(self, other):\n {same_class}:\n  return {compared}\n return NotImplemented", {}, {}

    return make


def _hash(fields: tuple[Field[Any], ...]) -> str:
    return f"hash({_tuple('self', fields, 'hash')})"


def _tuple(name: str, fields: tuple[Field[Any], ...], use: str) -> str:
    """The standard library's tuple of the fields compared (``use="compare"``) or hashed (``"hash"``)."""
    chosen = [f for f in fields if (f.compare if use == "compare" or f.hash is None else f.hash)]
    return f"({','.join(f'{name}.{f.name}' for f in chosen)},)" if chosen else "()"


def _signature(fields: tuple[Field[Any], ...]) -> str:
    """``str(inspect.signature(cls))`` without its ``-> None``, as the standard library writes a class's docstring
    when it has none: "(name: 'str', size: 'int' = 0, labels: 'dict[str, str]' = <factory>)"."""
    shown = []
    for f in fields:
        default = _HAS_DEFAULT_FACTORY if f.default_factory is not MISSING else f.default
        shown.append(f"{f.name}: {_annotation(f.type)}" + ("" if default is MISSING else f" = {default!r}"))
    return f"({', '.join(shown)})"


def _annotation(note: Any) -> str:
    """``inspect.formatannotation``: how a signature shows an annotation."""
    if type(note) is str:
        return repr(note)  # (any annotation under ``from __future__ import annotations``)
    if getattr(note, "__module__", None) == "typing":
        import re

        return re.sub(r"[\w\.]+", lambda match: match.group().removeprefix("typing."), repr(note))
    if isinstance(note, types.GenericAlias):
        return str(note)
    if isinstance(note, type):
        return note.__qualname__ if note.__module__ == "builtins" else f"{note.__module__}.{note.__qualname__}"
    return repr(note)


def _compiled_when_called(cls: type, name: str, make: Callable[[], _Source]) -> Callable[..., Any]:
    """A method that, called once, compiles the source ``make`` returns (with the names it needs and its annotations),
    puts the result on ``cls`` in its place and returns what it returns; every later call goes straight to the
    compiled method."""

    def first_call(self: object, /, *args: Any, **kwargs: Any) -> Any:
        source, names, annotations = make()
        namespace: dict[str, Any] = {}
        inner = source.replace("\n", "\n  ")  # (the names it uses are the outer function's: closure cells, as there)
        source = f"def __create_fn__({', '.join(names)}):\n  {inner}\n  return {name}"
        code = compile(source, "<string>", "exec", dont_inherit=True)  # (not this module's __future__ import)
        exec(code, {}, namespace)  # the text dataclasses would have compiled when the class was made
        method = namespace["__create_fn__"](**names)
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        method.__annotations__ = annotations
        if name == "__repr__":
            method = _recursive_repr(method)
        setattr(cls, name, method)
        return method(self, *args, **kwargs)

    first_call.__qualname__ = f"{cls.__qualname__}.{name}"
    return first_call


CALLS_BEFORE_COMPILING = 8
"""The calls of a class's ``__init__`` that bind their arguments in Python (``_bound_until_compiled``) before its text
is compiled: most classes are made a few times in a run, and compiling one ``__init__`` costs as much as some 100
such calls (a no-op apply compiled 66 of them, ~10% of its instructions)."""


def _bound_until_compiled(
    cls: type, fields: tuple[Field[Any], ...], frozen: bool, compiled: Callable[..., Any]
) -> Callable[..., Any]:
    """The class's ``__init__`` for its first CALLS_BEFORE_COMPILING calls: sets the fields as the standard library's
    does, in their order (defaults, factories called, ``__post_init__`` last); a call that is any other than arguments
    in order then by name, each field given at most once, every field without default given, is left to ``compiled``
    (the standard library's ``__init__``, compiled when first called: it raises the same TypeError), as is every call
    after those."""
    place = {f.name: index for index, f in enumerate(fields)}
    assign = object.__setattr__ if frozen else setattr
    calls = 0

    def __init__(self: object, /, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        values = list(args)
        if (
            calls > CALLS_BEFORE_COMPILING
            or len(args) > len(fields)
            or any(place.get(k, -1) < len(args) for k in kwargs)
        ):
            return compiled(self, *args, **kwargs)  # type: ignore[no-any-return]
        for f in fields[len(args) :]:
            if f.name in kwargs:
                values.append(kwargs[f.name])
            elif f.default_factory is not MISSING:
                values.append(_HAS_DEFAULT_FACTORY)
            elif f.default is not MISSING:
                values.append(f.default)
            else:  # (missing)
                return compiled(self, *args, **kwargs)  # type: ignore[no-any-return]
        for f, value in zip(fields, values, strict=True):
            made = f.default_factory() if value is _HAS_DEFAULT_FACTORY and f.default_factory is not MISSING else value
            assign(self, f.name, made)
        if hasattr(cls, "__post_init__"):
            self.__post_init__()  # type: ignore[attr-defined]
        return None

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _recursive_repr(shown: Callable[[Any], str]) -> Callable[[Any], str]:
    """``shown``, which shows "..." for an instance within itself (the standard library's ``_recursive_repr``)."""
    running: set[tuple[int, int]] = set()

    @functools.wraps(shown)
    def wrapper(self: Any) -> str:
        key = id(self), _thread.get_ident()
        if key in running:
            return "..."
        running.add(key)
        try:
            return shown(self)
        finally:
            running.discard(key)

    return wrapper


def _freeze(cls: type[Any], names: frozenset[str]) -> None:
    """A frozen dataclass's ``__setattr__`` and ``__delattr__``, as the standard library's: a field of any instance,
    or any attribute of an instance of the class itself, cannot be set or deleted."""
    for name in ("__setattr__", "__delattr__"):
        if name in cls.__dict__:
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")

    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    for method in (__setattr__, __delattr__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)


def is_dataclass(obj: object) -> bool:
    """Whether ``obj`` is a dataclass or an instance of one (made here or by the standard library)."""
    kind = obj if isinstance(obj, type) else type(obj)
    return hasattr(kind, "__dataclass_fields__")


def fields(class_or_instance: object) -> tuple[Field[Any], ...]:
    """The fields of a dataclass or of its instance, in order, as ``dataclasses.fields``."""
    try:
        found = class_or_instance.__dataclass_fields__  # type: ignore[attr-defined]
    except AttributeError:
        raise TypeError("must be called with a dataclass type or instance") from None
    if type(getattr(class_or_instance, "__dataclass_params__", None)) is not _Params:
        return sys.modules["dataclasses"].fields(class_or_instance)  # type: ignore[no-any-return]  # (made there)
    return tuple(found.values())


def replace(obj: T, /, **changes: Any) -> T:
    """A new instance of ``obj``'s class with the fields of ``obj`` but those ``changes`` names, as
    ``dataclasses.replace``."""
    kind = type(obj)
    found = getattr(kind, "__dataclass_fields__", None)
    if found is None:
        raise TypeError("replace() should be called on dataclass instances")
    if type(kind.__dataclass_params__) is not _Params:  # type: ignore[attr-defined]
        return sys.modules["dataclasses"].replace(obj, **changes)  # type: ignore[no-any-return]  # (made there)
    for name in found:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return kind(**changes)


def asdict(obj: object, *, dict_factory: Callable[[list[tuple[str, Any]]], Any] = dict) -> Any:
    """An instance's fields as a dict, dataclasses, lists, tuples and dicts within it turned so too and other values
    deep-copied, as ``dataclasses.asdict``."""
    if not hasattr(type(obj), "__dataclass_fields__"):
        raise TypeError("asdict() should be called on dataclass instances")
    return _asdict(obj, dict_factory)


def _asdict(obj: Any, dict_factory: Callable[[list[tuple[str, Any]]], Any]) -> Any:
    kind = type(obj)
    if kind in _IMMUTABLE:
        return obj  # (what copy.deepcopy returns for them)
    if hasattr(kind, "__dataclass_fields__"):
        return dict_factory([(f.name, _asdict(getattr(obj, f.name), dict_factory)) for f in fields(obj)])
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return kind(*[_asdict(value, dict_factory) for value in obj])
    if isinstance(obj, (list, tuple)):
        return kind(_asdict(value, dict_factory) for value in obj)
    if isinstance(obj, dict):
        return kind((_asdict(key, dict_factory), _asdict(value, dict_factory)) for key, value in obj.items())
    import copy

    return copy.deepcopy(obj)


_IMMUTABLE = frozenset({str, int, float, bool, bytes, type(None)})
