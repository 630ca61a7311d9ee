"""A manifest file edited in place: a replication controller's replica count, changed where it is written (scale).

The files are the truth, so kubeplay edits them as a person would: the replicas value changes and every other byte
of the file stays as it was (comments, key order, indentation, quoting, line ends). The value is found through the
parsed structure, never by searching the text: YAML through ruamel.yaml's round-trip loader, which keeps the line
and column of every value, JSON by walking the text alongside its parse. A controller without ``replicas`` (1 by
default) gets the line inserted before its first field. The edited text is parsed again and must hold the same data
but for that one value, or the edit is refused.

The field is ``desiredState.replicas`` in the v1beta1 form and ``spec.replicas`` in the Kubernetes-style form.
"""

from __future__ import annotations

import io
import json
import json.decoder
import re
from collections.abc import Iterator
from typing import Any

from kubeplay.dataclass import dataclass

Path = tuple[str | int, ...]

_RC = "ReplicationController"
CHANGED_MORE = "the replicas could not be changed alone: edit the file by hand"


class EditRefused(Exception):
    """The file cannot be edited safely: the message says why and what to do instead (at a line when known)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Edit:
    """Where a controller's replicas are in one parsed document."""

    document: int
    """Which document of the file (YAML files may hold several)."""
    spec: Path
    """The path of the mapping that holds ``replicas``: ``desiredState`` or ``spec`` of the controller."""
    old: int | None
    """The count written in the file, None when the field is absent."""


def controllers_in(document: object, at: Path = ()) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every replication controller of one parsed document (a List's items too), with its path."""
    if not isinstance(document, dict):
        return
    if document.get("kind") == "List" and isinstance(document.get("items"), list):
        for i, item in enumerate(document["items"]):
            yield from controllers_in(item, (*at, "items", i))
    elif document.get("kind") == _RC:
        yield at, document


def controller_name(controller: dict[str, Any]) -> str:
    metadata = controller.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else controller.get("id")
    return name if isinstance(name, str) else ""


def find_replicas(documents: list[object], name: str) -> Edit:
    """Where the replicas of controller ``name`` are. Raises EditRefused when it is not in the file, or is twice."""
    found = [
        (n, path, rc)
        for n, document in enumerate(documents)
        for path, rc in controllers_in(document)
        if controller_name(rc) == name
    ]
    if not found:
        raise EditRefused(f"no {_RC} named {name!r}")
    if len(found) > 1:
        raise EditRefused(f"{len(found)} {_RC}s are named {name!r}: rename all but one")
    n, path, rc = found[0]
    key = "desiredState" if "desiredState" in rc else "spec"
    spec = rc.get(key)
    if not isinstance(spec, dict):
        raise EditRefused(f"no {key} mapping to hold its replicas")
    old = spec.get("replicas")
    if old is not None and (not isinstance(old, int) or isinstance(old, bool)):
        raise EditRefused(f"{key}.replicas is not a whole number: fix it by hand")
    return Edit(n, (*path, key), old)


def set_replicas(text: str, file: str, name: str, replicas: int) -> tuple[str, int | None]:
    """``text`` of ``file`` (JSON when named .json, else YAML) with controller ``name``'s replicas set to
    ``replicas``, and the count it had (None: not written, so 1). Raises EditRefused when it cannot be done by
    changing that value alone."""
    if file.lower().endswith(".json"):
        return _set_json(text, name, replicas)
    return _set_yaml(text, name, replicas)


def _get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


# --- YAML ------------------------------------------------------------------------------------------------------

_SCALAR = re.compile(r"""[^\s#,\]}]+|"[^"]*"|'[^']*'""")


def _yaml_documents(text: str) -> list[Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return list(YAML(typ="rt", pure=True).load_all(io.StringIO(text)))
    except YAMLError as exc:
        raise EditRefused(f"cannot read as YAML: {exc}") from exc


def _set_yaml(text: str, name: str, replicas: int) -> tuple[str, int | None]:
    documents = _yaml_documents(text)
    edit = find_replicas(documents, name)
    spec = _get(documents[edit.document], edit.spec)
    lines = text.split("\n")  # as ruamel.yaml counts lines; a "\r" before "\n" stays at its line's end
    if edit.old is not None:
        line, column = spec.lc.value("replicas")
        token = _SCALAR.match(lines[line], column)
        if token is None:
            raise EditRefused("cannot find the replicas value written there", line + 1)
        lines[line] = lines[line][:column] + str(replicas) + lines[line][token.end() :]
    elif spec.fa.flow_style() or not spec:
        raise EditRefused(f"add 'replicas: {replicas}' to its {edit.spec[-1]} by hand")
    else:
        line, column = spec.lc.key(next(iter(spec)))
        ending = "\r" if lines[line].endswith("\r") else ""
        lines.insert(line, " " * column + f"replicas: {replicas}{ending}")
    edited = "\n".join(lines)
    _check_yaml(documents, edit, replicas, edited)
    return edited, edit.old


def _check_yaml(documents: list[Any], edit: Edit, replicas: int, edited: str) -> None:
    _get(documents[edit.document], edit.spec)["replicas"] = replicas
    if _plain(_yaml_documents(edited)) != _plain(documents):
        raise EditRefused(CHANGED_MORE)


def _plain(value: Any) -> Any:
    """ruamel.yaml's round-trip values as plain data, so two parses compare by content only."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- JSON ------------------------------------------------------------------------------------------------------

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _set_json(text: str, name: str, replicas: int) -> tuple[str, int | None]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EditRefused(f"invalid JSON: {exc.msg}", exc.lineno) from exc
    edit = find_replicas([document], name)
    if edit.old is not None:
        start, end = _json_span(text, (*edit.spec, "replicas"))
        edited = text[:start] + str(replicas) + text[end:]
    else:
        start, _ = _json_span(text, edit.spec)
        inside = _WHITESPACE.match(text, start + 1)
        assert inside is not None  # (matches the empty string at least)
        gap = inside.group()
        rest = text[inside.end() :]
        separator = "" if rest.startswith("}") else "," + (gap or " ")
        edited = text[: inside.end()] + f'"replicas": {replicas}' + separator + rest
    expected = json.loads(text)
    _get(expected, edit.spec)["replicas"] = replicas
    if json.loads(edited) != expected:
        raise EditRefused(CHANGED_MORE)
    return edited, edit.old


def _json_span(text: str, path: Path) -> tuple[int, int]:
    """The start and end offsets in ``text`` of the JSON value at ``path`` (keys and list indexes)."""
    decoder = json.JSONDecoder()
    position = _skip(text, 0)
    for step in path:
        position = _member(text, position, step, decoder)
    _, end = decoder.raw_decode(text, position)
    return position, end


def _skip(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    return match.end() if match else position


def _member(text: str, position: int, step: str | int, decoder: json.JSONDecoder) -> int:
    """The offset of the value of key (or index) ``step`` of the object (or array) starting at ``position``.
    The last of duplicate keys is the one json.loads keeps, so it is the one found."""
    found = -1
    index = 0
    position = _skip(text, position + 1)
    while text[position] not in "}]":
        if isinstance(step, str):
            key, position = json.decoder.scanstring(text, position + 1)  # type: ignore[attr-defined]
            position = _skip(text, _skip(text, position) + 1)  # past ':'
            found = position if key == step else found
        else:
            found = position if index == step else found
            index += 1
        _, position = decoder.raw_decode(text, position)
        position = _skip(text, position)
        position = _skip(text, position + 1) if text[position] == "," else position
    if found < 0:
        raise KeyError(step)
    return found
