"""Jinja2 rendering of ``.j2`` files: sandboxed, every variable must be defined, errors carry the template line.

Rendering is bounded: Jinja2's sandbox already limits one ``range()`` to 100,000 items; ``*``, ``+`` and ``**``
may not build a string, list or number past the file-size limit; no filter or method takes a number past it (so
``center(10**9)`` cannot allocate); constant expressions are not folded at compile time (all of this runs under the
guards); rendering stops once its output passes the file-size limit or its time ``MAX_TEMPLATE_SECONDS``.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from types import FrameType, TracebackType
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from kubeplay.limits import MAX_FILE_SIZE, MAX_TEMPLATE_SECONDS


class TemplateFailed(Exception):
    """A template could not be rendered; ``line`` is the 1-based line in the template when known."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _TooBig(SecurityError):
    """An operation in a template would build a value past the limit."""


class _BoundedConcat(CodeGenerator):
    """Compiles ``a ~ b`` to a call of ``environment.concat_bounded``."""

    def visit_Concat(self, node: jinja2.nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_bounded((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(SandboxedEnvironment):
    """Jinja2's sandbox, with operators, filters and calls that cannot build values past the file-size limit."""

    intercepted_binops = frozenset(("*", "+", "**", "%"))
    code_generator_class = _BoundedConcat

    def __init__(self, **options: Any) -> None:
        super().__init__(optimized=False, **options)
        self.filters = {name: _bounded_filter(f) for name, f in self.filters.items()}

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        limit = MAX_FILE_SIZE.value()
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            if max(abs(left), 2).bit_length() * right > 8 * limit:
                raise _TooBig(f"{operator} would make a number past the limit{MAX_FILE_SIZE.advice()}")
        elif _size(left, right, operator) > limit:
            raise _TooBig(f"{operator} would make a value past the limit{MAX_FILE_SIZE.advice()}")
        elif operator == "%" and isinstance(left, str):
            _check_widths(left, _PERCENT_WIDTHS)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_arguments(args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """str.format and str.format_map in templates, as the sandbox runs them, with bounded field widths."""
        if isinstance(getattr(value, "__self__", None), str):
            _check_widths(value.__self__, _FORMAT_WIDTHS)
        return super().wrap_str_format(value)

    def concat_bounded(self, values: tuple[Any, ...]) -> str:
        text = "".join(str(value) for value in values)
        if len(text) > MAX_FILE_SIZE.value():
            raise _TooBig(f"~ would make a value past the limit{MAX_FILE_SIZE.advice()}")
        return text


_PERCENT_WIDTHS = re.compile(r"%[#0 +\-]*(\d*)(?:\.(\d*))?")
_FORMAT_WIDTHS = re.compile(r"\{[^{}:]*:[^{}\d]*(\d*)(?:\.(\d*))?")


def _check_widths(text: str, widths: re.Pattern[str]) -> None:
    """Refuse a format string whose field widths or precisions pass the limit ("%999999999d")."""
    for match in widths.finditer(text):
        for digits in match.groups():
            if digits and (len(digits) > 12 or int(digits) > MAX_FILE_SIZE.value()):
                raise _TooBig(f"a field width of {digits} is past the limit{MAX_FILE_SIZE.advice()}")


def _size(left: object, right: object, operator: str) -> int:
    """How long the result of ``left * right`` or ``left + right`` is when it is a string or list; 0 otherwise."""
    sized = (str, list, tuple)
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, sized) and isinstance(times, int):
                return len(seq) * times
        return 0
    return len(left) + len(right) if isinstance(left, sized) and isinstance(right, sized) else 0


def _check_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and abs(value) > MAX_FILE_SIZE.value():
            raise _TooBig(f"an argument of {value} is past the limit{MAX_FILE_SIZE.advice()}")


def _bounded_filter(f: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_arguments(args, kwargs)
        return f(*args, **kwargs)

    for attribute in ("jinja_pass_arg", "__name__"):  # pass_context & co. mark filters with jinja_pass_arg
        if hasattr(f, attribute):
            setattr(bounded, attribute, getattr(f, attribute))
    return bounded


def render_template(text: str, name: str, variables: Mapping[str, object]) -> str:
    """Render ``text`` (the contents of the file ``name``) with ``variables``."""
    environment = BoundedSandbox(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        loader=jinja2.FunctionLoader(lambda wanted: (text, name, lambda: True) if wanted == name else None),
    )
    try:
        template = environment.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateFailed(f"template syntax error: {exc.message}", exc.lineno) from exc
    try:
        return _bounded_output(template.generate(dict(variables)), name)
    except (_TooLong, _TooBig) as exc:
        raise TemplateFailed(f"template error: {exc}", _template_line(exc.__traceback__, name)) from exc
    except jinja2.UndefinedError as exc:
        raise TemplateFailed(f"template error: {exc.message}", _template_line(exc.__traceback__, name)) from exc
    except Exception as exc:  # a user's template can raise anything (ZeroDivisionError, TypeError, ...)
        line = _template_line(exc.__traceback__, name)
        raise TemplateFailed(f"template error: {type(exc).__name__}: {exc}", line) from exc


class _TooLong(Exception):
    """Rendering took longer than the limit, or its output grew past the file-size limit."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _bounded_output(chunks: Iterator[str], name: str) -> str:
    """The rendered text, at most the file-size limit, rendered within ``MAX_TEMPLATE_SECONDS`` (checked on every
    line of the template's code that runs, so loops that write nothing are stopped too)."""
    deadline = time.monotonic() + MAX_TEMPLATE_SECONDS.value()
    limit = MAX_FILE_SIZE.value()

    def trace(frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        if time.monotonic() > deadline:
            raise _TooLong(f"rendering took longer than the limit{MAX_TEMPLATE_SECONDS.advice()}")
        return trace if frame.f_code.co_filename == name else None

    output: list[str] = []
    size = 0
    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise _TooLong(f"the rendered text is larger than the limit{MAX_FILE_SIZE.advice()}")
            output.append(chunk)
    finally:
        sys.settrace(previous)
    return "".join(output)


def _template_line(traceback: TracebackType | None, name: str) -> int | None:
    """The template line of the innermost frame Jinja2 attributes to the template."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == name:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
