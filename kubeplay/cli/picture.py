"""`kubeplay graph`: the cluster drawn as a Graphviz DOT graph, and as SVG or PNG through Graphviz's `dot`.

Minions are clusters holding their pods; services point at their endpoints (one edge per endpoint, labelled
podIP:port); controllers point at their replicas; an unreachable minion is drawn dashed red, and the pods the
manifests (-f) declare that run nowhere are drawn dashed orange outside every minion. Building the DOT text is
pure (``cluster_dot``); every name and value in it goes through ``dot_quote``, since names from manifests and
from minions are hostile input.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from kubeplay import reconcile
from kubeplay.cli import render
from kubeplay.cli.commands import connector_for, load_inputs, report_unreachable, unreachable_or, warn_ignored
from kubeplay.cli.exitcodes import EXIT_OK
from kubeplay.cli.views import pod_status
from kubeplay.errors import InputError, KubeplayError, Problem
from kubeplay.model import Desired, Observed, ObservedMinion, ObservedPod, Service
from kubeplay.proxy.endpoints import compute_endpoints, endpoints_key
from kubeplay.proxy.plan import observed_portals, serving_pods
from kubeplay.proxy.portals import allocate_portals
from kubeplay.selectors import format_selector, matches

FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}
"""What -o FILE's suffix asks for."""

UNREACHABLE = 'style=dashed, color="red", fontcolor="red"'
PENDING = 'style="dashed,rounded", color="orange", fontcolor="darkorange"'
RUNNING = 'style="rounded,filled", fillcolor="palegreen"'

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def dot_quote(text: str) -> str:
    """``text`` as a DOT quoted string. Backslashes and double quotes are escaped, so nothing can end the string
    or reach Graphviz's own escapes (\\N, \\G, \\l); a newline becomes a line break of the label (\\n); other
    control characters are written as \\xNN."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = _CONTROL.sub(lambda m: f"\\\\x{ord(m.group()):02x}", escaped)
    return '"' + escaped.replace("\n", "\\n") + '"'


def _node(node_id: str, label: str, attrs: str = "") -> str:
    return f"{dot_quote(node_id)} [label={dot_quote(label)}{', ' + attrs if attrs else ''}];"


def _edge(tail: str, head: str, label: str = "", attrs: str = "") -> str:
    parts = [f"label={dot_quote(label)}"] * bool(label) + [attrs] * bool(attrs)
    return f"{dot_quote(tail)} -> {dot_quote(head)}" + (f" [{', '.join(parts)}]" if parts else "") + ";"


def minion_id(name: str) -> str:
    return f"minion/{name}"


def pod_id(minion: str, name: str) -> str:
    return f"pod/{minion}/{name}"


def service_id(name: str) -> str:
    return f"service/{name}"


def controller_id(name: str) -> str:
    return f"rc/{name}"


def pending_id(name: str) -> str:
    return f"pending/{name}"


def _minion(m: ObservedMinion, project: str) -> list[str]:
    """A cluster: the minion's own node, then its pods."""
    head = f"{m.name}\n{m.address}" if m.address else m.name
    lines = [f"subgraph {dot_quote('cluster_' + minion_id(m.name))} {{"]
    if m.reachable:
        lines += [f"label={dot_quote(head)};", _node(minion_id(m.name), head, "shape=plaintext")]
        lines += [_pod(p, project) for p in m.pods]
    else:
        lines += [
            f"label={dot_quote(head + ' (unreachable)')}; {UNREACHABLE.replace(', ', '; ')};",
            _node(minion_id(m.name), f"{head}\nunreachable: {m.error}", f"shape=box, {UNREACHABLE}"),
        ]
    return [lines[0], *(f"  {line}" for line in lines[1:]), "}"]


def _pod(pod: ObservedPod, project: str) -> str:
    status = pod_status(pod)
    label = "\n".join(
        [pod.name, status, *[pod.ip] * bool(pod.ip), *[f"project {pod.project}"] * (pod.project != project)]
    )
    return _node(pod_id(pod.minion, pod.name), label, "shape=box, " + (RUNNING if status == "Running" else PENDING))


def _services(services: Iterable[Service], portals: Mapping[str, str], known: Mapping[str, str]) -> list[str]:
    """Each service with its portal and ports; a service only the minions' rules know (not in -f) too."""
    lines = []
    declared = set()
    for s in sorted(services, key=lambda s: s.name):
        declared.add(s.name)
        ports = ", ".join(f"{p.port}/{p.protocol}" for p in s.ports)
        label = f"service {s.name}\n{portals.get(s.name, '')} {ports}\nselector {format_selector(s.selector)}"
        lines.append(_node(service_id(s.name), label, 'shape=hexagon, color="blue"'))
    for name, ip in sorted(known.items()):
        if name not in declared:
            label = f"service {name}\n{ip}\n(in the rules, not in -f)"
            lines.append(_node(service_id(name), label, 'shape=hexagon, color="gray"'))
    return lines


def _endpoint_edges(services: Iterable[Service], observed: Observed) -> list[str]:
    """service -> pod, one edge per endpoint (podIP:port, prefixed by the port's name for a multi-port service)."""
    pods = serving_pods(observed.pods, ())
    by_ip = {p.ip: p for p in pods}
    found = compute_endpoints(list(services), pods)
    lines = []
    for s in sorted(services, key=lambda s: s.name):
        for port in s.ports:
            key = endpoints_key(s, port)
            prefix = "" if key == s.name else f"{port.name or port.port}: "
            for e in found.get(key, ()):
                pod = by_ip[e.ip]
                lines.append(_edge(service_id(s.name), pod_id(pod.minion, pod.name), f"{prefix}{e}", 'color="blue"'))
    return lines


def _controllers(desired: Desired, observed: Observed, project: str) -> list[str]:
    """Each controller, an edge to each of its replicas, and a pending node for the replicas missing."""
    lines = []
    for rc in desired.controllers:
        replicas = [p for p in observed.pods if p.project == project and matches(rc.selector, p.labels)]
        running = sum(1 for p in replicas if pod_status(p) == "Running")
        label = f"rc {rc.name}\n{running}/{rc.replicas} running\nselector {format_selector(rc.selector)}"
        lines.append(_node(controller_id(rc.name), label, 'shape=box3d, color="purple"'))
        lines += [
            _edge(controller_id(rc.name), pod_id(p.minion, p.name), attrs='style=dashed, color="purple"')
            for p in replicas
        ]
        missing = rc.replicas - len(replicas)
        if missing > 0:
            node = pending_id(f"rc/{rc.name}")
            lines.append(
                _node(node, f"{missing} replica{'s' * (missing != 1)} of {rc.name}\nPending", f"shape=box, {PENDING}")
            )
            lines.append(_edge(controller_id(rc.name), node, attrs='style=dashed, color="orange"'))
    return lines


def _pending_pods(desired: Desired, observed: Observed, project: str) -> list[str]:
    """The manifests' pods found on no minion (Unknown when some minion is unreachable: they may be there)."""
    there = {p.name for p in observed.pods if p.project == project}
    status = (
        f"Unknown: {', '.join(observed.unreachable)} unreachable" if observed.unreachable else "Pending: not placed"
    )
    return [
        _node(pending_id(f"pod/{pod.name}"), f"{pod.name}\n{status}", f"shape=box, {PENDING}")
        for pod in desired.pods
        if pod.name not in there
    ]


def cluster_dot(
    observed: Observed, desired: Desired, portals: Mapping[str, str], known: Mapping[str, str], project: str
) -> str:
    """The cluster as DOT text: every minion (in the inventory's order) with its pods, the services with their
    portals (``portals``: the manifests' services; ``known``: what the minions' rules hold) and endpoints, the
    controllers with their replicas, and the manifests' pods of ``project`` that run nowhere. Pure."""
    lines = [
        "digraph kubeplay {",
        'graph [rankdir=LR, fontname="Helvetica", fontsize=11];',
        'node [fontname="Helvetica", fontsize=10];',
        'edge [fontname="Helvetica", fontsize=9];',
    ]
    for m in observed.minions.values():
        lines += _minion(m, project)
    lines += _services(desired.services, portals, known)
    lines += _endpoint_edges(desired.services, observed)
    lines += _controllers(desired, observed, project)
    lines += _pending_pods(desired, observed, project)
    return "\n".join([lines[0], *(f"  {line}" for line in lines[1:]), "}", ""])


# --- the command ------------------------------------------------------------------------------------------------


def picture_format(path: str | None) -> str:
    """The format -o PATH asks for ("dot" without -o); InputError for another suffix."""
    if path is None:
        return "dot"
    found = FORMATS.get(Path(path).suffix.lower())
    if found is None:
        message = f"{path}: the picture is written as .svg, .png or .dot (DOT text), by the file's suffix"
        raise InputError([Problem("-o", message)])
    return found


def write_picture(dot: str, path: str | None, fmt: str) -> None:
    """DOT text to stdout (no path) or to the file; SVG and PNG drawn by Graphviz's `dot` program."""
    if path is None:
        sys.stdout.write(dot)
        return
    data = dot.encode() if fmt == "dot" else _drawn(dot, fmt)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise KubeplayError(f"cannot write the picture to {path}: {exc.strerror or exc}") from exc
    render.progress(f"wrote the picture to {path}")


def _drawn(dot: str, fmt: str) -> bytes:
    import graphviz

    try:
        return bytes(graphviz.pipe("dot", fmt, dot.encode()))
    except graphviz.ExecutableNotFound as exc:
        raise KubeplayError(
            "Graphviz's dot program is not installed (apt-get install graphviz; scripts/setup does it): "
            "write DOT text with -o FILE.dot or without -o"
        ) from exc
    except graphviz.CalledProcessError as exc:
        raise KubeplayError(f"Graphviz's dot failed: {exc.stderr.decode(errors='replace').strip()}") from exc


def graph(args: argparse.Namespace) -> int:
    fmt = picture_format(args.output)
    inputs = load_inputs(args, args.filename)
    with reconcile.observe(inputs, connector_for(args, inputs), args.forks, network=True) as seen:
        warn_ignored(seen.observed)
    known = observed_portals(seen.networks)
    portals = allocate_portals(inputs.desired.services, known, inputs.inventory.portal_net)
    write_picture(cluster_dot(seen.observed, inputs.desired, portals, known, inputs.project), args.output, fmt)
    report_unreachable(seen.observed)
    return unreachable_or(EXIT_OK, seen.observed)
