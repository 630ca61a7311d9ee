"""How much input kubeplay reads: limits that keep hostile or broken files from costing unbounded time or memory.

Every loader (the YAML/JSON reader, manifests, templates, the inventory) takes its numbers from here. The defaults
are generous for real use; an environment variable changes each one (a positive whole number):

    KUBEPLAY_MAX_FILE_SIZE          4 MiB    bytes in one input file, stdin, or a template's output
    KUBEPLAY_MAX_DEPTH              100      levels of nesting in one YAML or JSON document
    KUBEPLAY_MAX_NUMBER_DIGITS      100      characters in one number
    KUBEPLAY_MAX_EXPANDED_SIZE      32 MiB   characters of one file's documents once YAML aliases are expanded
    KUBEPLAY_MAX_TEMPLATE_SECONDS   10       seconds to render one template
    KUBEPLAY_MAX_OBJECTS            10000    manifest objects in one run
    KUBEPLAY_MAX_HOST_RANGE         10000    hosts one inventory host range such as web[1:100] expands to

``read_text`` is the one way input files are read: only regular files (FIFOs, devices and sockets are refused by
type before they are opened), at most the file-size limit, UTF-8 only, and never a private key. ``excerpt`` is how
much of a value an error message quotes.
"""

from __future__ import annotations

import os
import re
import reprlib
import stat
from typing import TextIO

from kubeplay.dataclass import dataclass


@dataclass(frozen=True)
class Limit:
    """One limit: its environment variable, default, and the unit it counts."""

    variable: str
    default: int
    unit: str

    def value(self) -> int:
        """The environment variable's value when it is a positive whole number, else the default."""
        return _positive(os.environ.get(self.variable, "")) or self.default

    def advice(self) -> str:
        """ ", the limit is N unit (set VARIABLE to change it)": the end of every message about this limit."""
        return f"; the limit is {self.value()} {self.unit} (set {self.variable} to change it)"


MAX_FILE_SIZE = Limit("KUBEPLAY_MAX_FILE_SIZE", 4 * 1024 * 1024, "bytes")
MAX_DEPTH = Limit("KUBEPLAY_MAX_DEPTH", 100, "levels")
MAX_NUMBER_DIGITS = Limit("KUBEPLAY_MAX_NUMBER_DIGITS", 100, "characters")
MAX_EXPANDED_SIZE = Limit("KUBEPLAY_MAX_EXPANDED_SIZE", 32 * 1024 * 1024, "characters")
MAX_TEMPLATE_SECONDS = Limit("KUBEPLAY_MAX_TEMPLATE_SECONDS", 10, "seconds")
MAX_OBJECTS = Limit("KUBEPLAY_MAX_OBJECTS", 10_000, "objects")
MAX_HOST_RANGE = Limit("KUBEPLAY_MAX_HOST_RANGE", 10_000, "hosts")

LIMITS = (
    MAX_FILE_SIZE,
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    MAX_EXPANDED_SIZE,
    MAX_TEMPLATE_SECONDS,
    MAX_OBJECTS,
    MAX_HOST_RANGE,
)


def _positive(text: str) -> int | None:
    text = text.strip()
    if not text.isdigit() or len(text) > 18 or int(text) == 0:
        return None
    return int(text)


def environment_problems() -> list[str]:
    """A message for each limit variable set to something other than a positive whole number."""
    return [
        f"{limit.variable}={os.environ[limit.variable]!r}: expected a positive whole number ({limit.unit})"
        for limit in LIMITS
        if limit.variable in os.environ and _positive(os.environ[limit.variable]) is None
    ]


# --- reading input files ------------------------------------------------------------------------------------


class Refused(Exception):
    """An input file that was not read: not a regular file, too big, not UTF-8, or a private key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def file_kind(mode: int) -> str | None:
    """What a file that is not a regular file is ("a FIFO (named pipe)", ...); None for a regular file."""
    for test, kind in _SPECIAL_FILES:
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def read_text(path: str) -> str:
    """The text of the regular file ``path`` (symbolic links followed). Raises Refused, saying why."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise Refused(exc.strerror or str(exc)) from exc
    _check_kind(info.st_mode)
    _check_size(info.st_size)
    try:
        # O_NONBLOCK: a FIFO put in the file's place since the stat above cannot make the open wait.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise Refused(exc.strerror or str(exc)) from exc
    with os.fdopen(descriptor, "rb") as handle:
        _check_kind(os.fstat(handle.fileno()).st_mode)
        data = handle.read(MAX_FILE_SIZE.value() + 1)
    _check_size(len(data))
    try:
        return checked_text(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise Refused(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def read_stream(stream: TextIO) -> str:
    """All of ``stream`` (stdin), up to the file-size limit. Raises Refused."""
    text = stream.read(MAX_FILE_SIZE.value() + 1)
    _check_size(len(text))
    return checked_text(text)


def checked_text(text: str) -> str:
    """``text``, unless it starts with a private key (Refused: such a file is never parsed or quoted)."""
    if _PRIVATE_KEY.match(text[:4096].lstrip()):
        raise Refused("this file looks like a private key, not a manifest or inventory; it is not read or shown")
    return text


def _check_kind(mode: int) -> None:
    kind = file_kind(mode)
    if kind:
        raise Refused(f"is {kind}: only regular files are read")


def _check_size(size: int) -> None:
    if size > MAX_FILE_SIZE.value():
        raise Refused(f"the file is larger than the limit{MAX_FILE_SIZE.advice()}")


# --- quoting values in messages -----------------------------------------------------------------------------

_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|PuTTY-User-Key-File-\d")
EXCERPT_CHARACTERS = 80
"""At most this many characters of a value are quoted in a message."""


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxlist, _SHORT_REPR.maxdict = 3, 6, 6
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = EXCERPT_CHARACTERS


def looks_like_private_key(text: str) -> bool:
    """True when ``text`` holds a PEM, OpenSSH or PuTTY private key (anywhere in it)."""
    return _PRIVATE_KEY.search(text) is not None


def excerpt(value: object) -> str:
    """``value`` as a message quotes it: repr-quoted (so control characters are escaped), at most a short excerpt,
    and never the text of a private key."""
    if isinstance(value, str) and looks_like_private_key(value):
        return "(a private key: not shown)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"(a number of {value.bit_length()} bits)"
    if not isinstance(value, str):
        return _SHORT_REPR.repr(value)
    if len(value) <= EXCERPT_CHARACTERS:
        return repr(value)
    quoted = repr(value[:EXCERPT_CHARACTERS])
    return f"{quoted[:-1]}...{quoted[-1]} ({len(value)} characters)"
