"""Manifest files to desired state: ``load_manifests(paths) -> Desired``, pure and without any network.

Reads files, directories (recursive, sorted) and stdin ("-"); JSON and multi-document YAML; ``.j2`` templates;
the original v1beta1 objects and the Kubernetes-style form. Every problem in every file is collected before one
``ManifestError`` is raised, so a run never starts with any manifest invalid.

    sources   paths -> files -> rendered text -> Documents (Node trees with lines)
    objects   a Document -> Pod | ReplicationController | Service, by form and kind
    podspec   containers, ports, volumes, probes: the pod spec both forms share
    nodes     Node, and Fields, the reader that reports problems with file, object, field and line
    controllers  checks across replication controllers (a template its selector misses, a pod both count)
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from kubeplay.errors import ManifestError, Problem
from kubeplay.limits import MAX_OBJECTS
from kubeplay.manifests.controllers import controller_problems
from kubeplay.manifests.objects import Loaded, read_document
from kubeplay.manifests.sources import Document, read_documents
from kubeplay.model import Desired, Pod, ReplicationController, Service, Source

__all__ = ["load_manifests"]


def load_manifests(
    paths: Sequence[str],
    variables: Mapping[str, object] | None = None,
    stdin: TextIO | None = None,
    warnings: list[str] | None = None,
) -> Desired:
    """The desired state in ``paths``; raises ManifestError listing every problem found. Files under a folder
    that are no manifests, and values accepted as an older era accepted them (file, line, object, field), are
    named in ``warnings``."""
    problems: list[Problem] = []
    documents = read_documents(paths, variables or {}, stdin or sys.stdin, problems, warnings)
    too_many = too_many_objects(documents)
    if too_many:
        raise ManifestError([*problems, too_many])
    accepted: list[Problem] = []
    loaded = [item for document in documents for item in read_document(document, problems, accepted)]
    if warnings is not None:
        warnings.extend(str(warning) for warning in in_file_order(accepted))
    problems.extend(duplicate_names(loaded))
    objects = [item.object for item in loaded]
    desired = Desired(
        pods=tuple(o for o in objects if isinstance(o, Pod)),
        controllers=tuple(o for o in objects if isinstance(o, ReplicationController)),
        services=tuple(o for o in objects if isinstance(o, Service)),
    )
    problems.extend(controller_problems(desired.controllers, desired.pods))
    if problems:
        raise ManifestError(in_file_order(problems))
    return desired


def too_many_objects(documents: Sequence[Document]) -> Problem | None:
    """A problem when the documents (List items counted one by one) hold more objects than ``MAX_OBJECTS``."""
    count = 0
    for document in documents:
        items = document.node.value.get("items") if isinstance(document.node.value, dict) else None
        count += len(items.value) if items is not None and isinstance(items.value, list) else 1
        if count > MAX_OBJECTS.value():
            return Problem(document.file, f"too many objects in this run{MAX_OBJECTS.advice()}", document.node.line)
    return None


def duplicate_names(loaded: Sequence[Loaded]) -> list[Problem]:
    """A problem for each object whose kind and name were already used, naming both places."""
    first: dict[tuple[str, str], Loaded] = {}
    problems: list[Problem] = []
    for item in loaded:
        name = item.object.name
        if not name:
            continue
        key = (item.kind, name)
        earlier = first.setdefault(key, item)
        if earlier is not item:
            also = Source(earlier.object.source.file, earlier.name_line)
            message = f'duplicate {item.kind} name "{name}": also defined at {also}'
            file = item.object.source.file
            problems.append(Problem(file, message, item.name_line, f"{item.kind} {name}", item.name_field))
    return problems


def in_file_order(problems: list[Problem]) -> list[Problem]:
    """Problems grouped by file (in the order files were read), then by line."""
    order: dict[str, int] = {}
    for problem in problems:
        order.setdefault(problem.file, len(order))
    return sorted(problems, key=lambda p: (order[p.file], p.line or 0))
