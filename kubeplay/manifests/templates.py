"""Jinja2 rendering of ``.j2`` files: sandboxed, every variable must be defined, errors carry the template line."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import jinja2
from jinja2.sandbox import SandboxedEnvironment


class TemplateFailed(Exception):
    """A template could not be rendered; ``line`` is the 1-based line in the template when known."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def render_template(text: str, name: str, variables: Mapping[str, object]) -> str:
    """Render ``text`` (the contents of the file ``name``) with ``variables``."""
    environment = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        loader=jinja2.FunctionLoader(lambda wanted: (text, name, lambda: True) if wanted == name else None),
    )
    try:
        template = environment.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateFailed(f"template syntax error: {exc.message}", exc.lineno) from exc
    try:
        return template.render(dict(variables))
    except jinja2.UndefinedError as exc:
        raise TemplateFailed(f"template error: {exc.message}", _template_line(exc.__traceback__, name)) from exc
    except Exception as exc:  # a user's template can raise anything (ZeroDivisionError, TypeError, ...)
        line = _template_line(exc.__traceback__, name)
        raise TemplateFailed(f"template error: {type(exc).__name__}: {exc}", line) from exc


def _template_line(traceback: TracebackType | None, name: str) -> int | None:
    """The template line of the innermost frame Jinja2 attributes to the template."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == name:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
