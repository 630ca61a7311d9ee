"""stdout and stderr as render.py writes to them: rich's Console, made the first time something needs it.

rich.console (with rich.markup and rich.text under it) is most of what a command imports before it does anything.
A command that only prints lines of text (a no-op apply, validate) to files that are no terminal does not need it:
off a terminal rich writes no colour, and with soft wrapping it wraps nothing, so such a line is written as rich
would write it, its markup taken out, byte for byte. Anything else goes to the Console, made then: a terminal, a
colour or terminal forced by the environment, a renderable, a line with a character or an emoji code rich treats
in its own way, markup with parameters or a closing tag that closes nothing. Once a screen's Console is made,
everything goes through it (its capture, its live display).
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

_TAG = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")
"""A tag of rich's markup with the backslashes before it (rich.markup.RE_TAGS)."""

_RICH_ENVIRONMENT = (
    "FORCE_COLOR",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "JUPYTER_COLUMNS",
    "JUPYTER_LINES",
    "DATABRICKS_RUNTIME_VERSION",
)
"""Variables by which rich may take a file that is no terminal for one (or lay it out otherwise)."""

_PLAIN_TEXT = re.compile(r"[ -~\n]*")
"""What rich writes as it is: printable ASCII and newlines (it strips some control characters, measures wide ones)."""

_EMOJI_CODE = re.compile(r":\S*?:")
"""What rich might replace by an emoji (":smile:"; rich.emoji's pattern finds these only)."""


def escape(text: str) -> str:
    """``text`` as rich's markup: brackets that would start a tag escaped (rich.markup.escape)."""
    text = _TAG.sub(lambda m: f"{m[1]}{m[1]}\\[{m[2]}]", text)
    return text + "\\" if text.endswith("\\") and not text.endswith("\\\\") else text


def unmarked(markup: str) -> str | None:
    """What rich shows of ``markup`` off a terminal (the text without its tags), or None when rich could show it
    otherwise or refuse it: a tag with parameters, a closing tag that closes nothing, an emoji code."""
    shown: list[str] = []
    open_tags: list[str] = []
    position = 0
    for m in _TAG.finditer(markup):
        shown.append(markup[position : m.start()].replace("\\[", "["))
        position = m.end()
        backslashes, escaped = divmod(len(m[1]), 2)
        shown.append("\\" * backslashes)
        if escaped:
            shown.append(m[0][len(m[1]) :].replace("\\[", "["))
        elif not _styled(m[2], open_tags):
            return None
    shown.append(markup[position:].replace("\\[", "["))
    text = "".join(shown)
    return None if _EMOJI_CODE.search(text) else text


def _styled(tag: str, open_tags: list[str]) -> bool:
    """Whether ``tag`` only opens or closes a style (as kubeplay's markup does), keeping ``open_tags``."""
    if "=" in tag or tag.startswith(("@", "#")):
        return False
    if not tag.startswith("/"):
        open_tags.append(tag.strip())
        return True
    name = tag[1:].strip()
    if not name:  # "[/]": the last one opened
        if not open_tags:
            return False
        open_tags.pop()
        return True
    for index in range(len(open_tags) - 1, -1, -1):
        if open_tags[index] == name:
            del open_tags[index]
            return True
    return False


class Screen:
    """stdout or stderr: ``print`` writes a line of text straight to it where rich would write the same bytes,
    else through rich's Console (``rich``, made when first needed); any other attribute is the Console's."""

    def __init__(self, *, stderr: bool) -> None:
        self.stderr = stderr
        self._writing = threading.Lock()  # (the minions' threads print progress lines at once)

    @property
    def file(self) -> IO[str]:
        """Where the screen writes now (the Console also looks it up at each write)."""
        return sys.stderr if self.stderr else sys.stdout

    @functools.cached_property
    def rich(self) -> Console:
        from rich.console import Console

        console = Console(stderr=self.stderr, highlight=False, soft_wrap=True)
        if not self.stderr and not console.is_terminal:
            # Piped or captured output is for scripts and logs: never truncate or wrap table cells to 80 columns.
            console = Console(highlight=False, soft_wrap=True, width=1_000_000)
        return console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich, name)

    @property
    def plain(self) -> bool:
        """Whether lines may be written straight to the file: no Console made yet, and the file is no terminal to
        rich either."""
        if "rich" in self.__dict__ or any(name in os.environ for name in _RICH_ENVIRONMENT):
            return False
        isatty = getattr(self.file, "isatty", None)
        try:
            return isatty is not None and not isatty()
        except ValueError:  # closed
            return False

    @property
    def is_terminal(self) -> bool:
        return False if self.plain else bool(self.rich.is_terminal)

    def print(self, text: object = "", *, markup: bool = True, style: str | None = None, end: str = "\n") -> None:
        """Console.print(text, markup=markup, style=style, end=end)."""
        shown = self._shown(text, markup) if self.plain else None
        if shown is None:
            self.rich.print(text, markup=markup, style=style, end=end)
        else:
            self._write(shown + end)

    def _shown(self, text: object, markup: bool) -> str | None:
        """What rich would write of ``text`` off a terminal, or None when it is not known here."""
        if not isinstance(text, str):
            return None
        shown = unmarked(text) if markup else None if _EMOJI_CODE.search(text) else text
        if shown is None or not _PLAIN_TEXT.fullmatch(shown) or shown.endswith(" ") or " \n" in shown:
            return None  # (rich strips the spaces that end a line longer than the screen)
        return shown

    def _write(self, text: str) -> None:
        with self._writing:
            file = self.file
            file.write(text)
            file.flush()

    def print_table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> bool:
        """Write a table as rich writes ``Table(title=title, title_justify="left", box=None, pad_edge=False)``
        with these columns and rows (cells in markup) off a terminal; False, having written nothing, when it cannot
        be done here (see ``print``; a title wider than the table)."""
        if not self.plain:
            return False
        cells: list[list[str]] = []
        for line in [columns, *rows]:
            shown = [self._shown(cell, markup=True) for cell in line]
            if len(shown) != len(columns) or any(cell is None or "\n" in cell for cell in shown):
                return False
            cells.append([cell or "" for cell in shown])
        widths = [max(len(line[n]) for line in cells) for n in range(len(columns))]
        if (
            0 in widths
            or not title
            or self._shown(title, markup=True) != title
            or len(title) > sum(widths) + 2 * len(widths) - 2
        ):
            return False
        laid_out = ("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells)
        self._write("".join(f"{line}\n" for line in [title, *laid_out]))
        return True


def rich_console(screen: Screen | Console) -> Console:
    """The Console behind ``screen``, for rich's own displays (live, progress); a Console is itself (tests put
    one in place of a screen)."""
    return screen.rich if isinstance(screen, Screen) else screen
