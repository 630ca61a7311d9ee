"""From paths to documents: find manifest files, read them, render ``.j2`` templates, parse JSON and YAML.

Every document becomes a ``Node`` tree with lines (see kubeplay.yamlnodes); YAML scalars are typed as Kubernetes
reads them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, TextIO

from kubeplay.dataclass import dataclass
from kubeplay.errors import Problem
from kubeplay.limits import Refused, read_stream, read_text
from kubeplay.yamlnodes import InvalidDocument, Node, parse_json, parse_yaml

STDIN = "-"
STDIN_NAME = "<stdin>"
MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")
TEMPLATE_SUFFIX = ".j2"

Format = Literal["json", "yaml", "guess"]


@dataclass(frozen=True)
class Document:
    """One object (or List) as read from a file, before it is understood."""

    file: str
    node: Node


class Unreadable(Exception):
    """A manifest file that cannot be read or rendered (its syntax errors are ``InvalidDocument``)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def read_documents(
    paths: Sequence[str],
    variables: Mapping[str, object],
    stdin: TextIO,
    problems: list[Problem],
    warnings: list[str] | None = None,
) -> list[Document]:
    """Every document of every manifest file under ``paths``, in order; problems are appended to ``problems``,
    files skipped because they are no manifests to ``warnings``."""
    documents: list[Document] = []
    for path in paths:
        for file in manifest_files(path, problems, warnings):
            name = STDIN_NAME if file == STDIN else file
            try:
                documents.extend(Document(name, node) for node in read_file(file, variables, stdin))
            except (Unreadable, InvalidDocument) as exc:
                problems.append(Problem(name, exc.message, exc.line))
    return documents


def manifest_files(path: str, problems: list[Problem], warnings: list[str] | None = None) -> list[str]:
    """``path`` itself, or the manifest files under a directory (recursive, sorted, hidden entries skipped).
    A folder that cannot be read is a problem (never silently empty); a file that is no manifest is named in
    ``warnings``. Anything named that is not a directory is a file to read: reading refuses FIFOs, devices and
    sockets."""
    if path == STDIN or (os.path.exists(path) and not os.path.isdir(path)):
        return [path]
    if not os.path.isdir(path):
        problems.append(Problem(path, "no such file or directory"))
        return []

    def unreadable(exc: OSError) -> None:
        problems.append(Problem(exc.filename or path, f"cannot read this folder: {exc.strerror or exc}"))

    files: list[str] = []
    for directory, subdirectories, names in os.walk(path, onerror=unreadable):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for name in sorted(n for n in names if not n.startswith(".")):
            file = os.path.join(directory, name)
            if is_manifest(name):
                files.append(file)
            elif warnings is not None:
                warnings.append(f"{file}: not a manifest (not .json, .yaml or .yml, or a .j2 of them): skipped")
    return sorted(files, key=lambda file: Path(file).parts)


def is_manifest(name: str) -> bool:
    """A manifest's name ends in .json, .yaml or .yml, maybe then .j2, in any case (``*.JSON``, ``.Yaml.J2``)."""
    return name.lower().removesuffix(TEMPLATE_SUFFIX).endswith(MANIFEST_SUFFIXES)


def read_file(file: str, variables: Mapping[str, object], stdin: TextIO) -> list[Node]:
    """The documents of one file (or of stdin for "-"), rendered first when it is a template."""
    text = _read_text(file, stdin)
    name = file.lower().removesuffix(TEMPLATE_SUFFIX)
    if file.lower().endswith(TEMPLATE_SUFFIX):
        from kubeplay.manifests.templates import TemplateFailed, render_template  # jinja2 only for a template

        try:
            text = render_template(text, file, variables)
        except TemplateFailed as exc:
            raise Unreadable(exc.message, exc.line) from exc
    if file == STDIN:
        return parse(text, "guess")
    return parse(text, "json" if name.endswith(".json") else "yaml" if name.endswith((".yaml", ".yml")) else "guess")


def parse(text: str, form: Format) -> list[Node]:
    """The documents in ``text``; an empty text has none. Raises InvalidDocument for a syntax error."""
    if not text.strip():
        return []
    if form == "guess":
        form = "json" if text.lstrip()[:1] in ("{", "[") and _is_json(text) else "yaml"
    if form == "json":
        return [parse_json(text)]
    return _json_documents(text) or parse_yaml(text)


_DOCUMENT_START = re.compile(r"^---[ ]*$", re.MULTILINE)
_YAML_READS_OTHERWISE = re.compile(
    r"[^\n\r\x20-\x7e]|\r(?!\n)"  # a tab (YAML refuses it as indentation), a control character, a lone \r
    r"|\\u[dD][89abAB]"  # an escaped surrogate: PyYAML keeps the two halves of a pair apart
    r"|[0-9][eE][-+]?[0-9]"  # an exponent (as in 1e5, even within a string): a number to JSON, the text to YAML
    r"|\n[ \r]*:"  # a key's colon on a later line than the key: YAML refuses it
)
"""What an ASCII text of JSON documents may hold that YAML reads otherwise than JSON does."""


def _json_documents(text: str) -> list[Node] | None:
    """The documents of a YAML text that is JSON documents, one or more (between ``---`` lines), read by the JSON
    reader: the same nodes as YAML's (JSON is YAML), without loading PyYAML and for less. None when the text is not
    that, or may hold something YAML reads otherwise (any character not ASCII, ``_YAML_READS_OTHERWISE``, a line of
    1,024 characters or more: PyYAML refuses so long a key); it is then read as YAML, as before."""
    if not text.isascii() or _YAML_READS_OTHERWISE.search(text) or max(map(len, text.split("\n"))) >= 1024:
        return None
    documents = []
    line = 1  # (the line each piece starts on: a document's piece starts on its "---" line)
    for number, piece in enumerate(_DOCUMENT_START.split(text)):
        if number or piece.strip():  # (nothing before a "---" that starts the text: it starts the first document)
            if piece.lstrip()[:1] not in ("{", "["):
                return None
            try:
                documents.append(parse_json(piece, first_line=line))
            except InvalidDocument:
                return None
        line += piece.count("\n")
    return documents


def _read_text(file: str, stdin: TextIO) -> str:
    try:
        return read_stream(stdin) if file == STDIN else read_text(file)
    except Refused as exc:
        raise Unreadable(exc.message) from exc


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True
