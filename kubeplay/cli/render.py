"""Everything kubeplay shows a person: tables and results to stdout, progress and errors to stderr.

The only module that imports rich (through screen.py, which writes plain lines off a terminal without it). It lays
out what cli/views.py computes and what a run returns.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kubeplay.cli.screen import Screen, escape, rich_console
from kubeplay.quantities import format_cpu, format_memory
from kubeplay.selectors import format_selector

if TYPE_CHECKING:
    from rich.table import Table

    from kubeplay.cli.views import ControllerRow, EndpointRow, MinionRow, PodRow, ServiceRow
    from kubeplay.errors import InputError
    from kubeplay.kubelet.execute import Result
    from kubeplay.lab.cluster import LabStatus
    from kubeplay.model import Inventory
    from kubeplay.planner.pods import Action, Plan
    from kubeplay.proxy.plan import MinionSync
    from kubeplay.proxy.sync import NetworkResult
    from kubeplay.reconcile import Outcome

out = Screen(stderr=False)
err = Screen(stderr=True)

VERB_STYLE = {
    "create": "green",
    "replace": "yellow",
    "remove": "red",
    "start": "cyan",
    "pull": "blue",
    "provision": "blue",
}


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F] if chr(c) not in "\n\t"}
"""Control characters (ESC, OSC, CR, ...) written as \\xNN: names and values from input never drive the terminal."""


def printable(text: str) -> str:
    """``text`` with control characters (but newlines and tabs) escaped."""
    return text.translate(_CONTROL)


QUIET, NORMAL, DETAIL, TRACE = -1, 0, 1, 2
verbosity = NORMAL
"""What is shown besides results, warnings and errors: -q (QUIET) only the changes, -v (DETAIL) durations and
what was observed, -vv (TRACE) also every SSH and Docker call. Set once by cli/main.py."""

APPLY_SCHEMA = 1
"""The version of `apply -o json`'s layout (its "schema" key; kubeplay/schemas/apply.schema.json): it changes when
a field changes meaning or goes away, not when one is added."""


ended = False
"""Set by ``end`` once the run's last message is due (its error): the progress lines of threads still at work when
the run ended (a Ctrl-C does not wait for them) are no longer shown, so that message stays the last line."""

_lines = threading.Lock()
"""Held while a progress line is checked and printed, and while the run ends: a thread's line is either printed
before the run's last message or not at all."""


def progress(message: str, level: int = NORMAL) -> None:
    """A line on stderr when the verbosity is at least ``level`` (none once the run ``ended``)."""
    if verbosity >= level:
        with _lines:
            if not ended:
                err.print(f"[dim]kubeplay:[/dim] {escape(printable(message))}")


def end() -> None:
    """The run's last message is due: a progress line being printed is finished first, later ones are not shown."""
    global ended
    with _lines:
        ended = True


def detail(message: str) -> None:
    """A line for -v."""
    progress(message, DETAIL)


def trace(message: str) -> None:
    """A line for -vv: one SSH or Docker call."""
    progress(message, TRACE)


def warning(message: str) -> None:
    err.print(f"warning: {printable(message)}", markup=False, style="yellow")


def error(message: str) -> None:
    err.print(f"error: {printable(message)}", markup=False, style="bold red")


def internal_error(exc: Exception) -> None:
    """One line; with -vv the traceback too (what the line asks to report)."""
    error(
        f"internal error: {type(exc).__name__}: {exc}; "
        "this is a bug in kubeplay: please report it with the output of -vv"
    )
    if verbosity >= TRACE:
        import traceback

        err.print(printable("".join(traceback.format_exception(exc))), markup=False, end="")


def result(message: str) -> None:
    out.print(printable(message), markup=False)


def input_error(exc: InputError) -> None:
    n = len(exc.problems)
    err.print(f"error: {n} problem{'s' if n != 1 else ''} in the input; nothing was changed", style="bold red")
    for p in exc.problems:
        err.print(f"  {printable(str(p))}", markup=False)


# --- apply ----------------------------------------------------------------------------------------------------


NOTHING_TO_APPLY = "nothing to change, the cluster matches the manifests"


def _action_line(a: Action) -> str:
    style = VERB_STYLE[a.verb]
    subject = f"pod {a.pod}" if a.pod else f"image {a.image}"
    verb = f"[{style}]{a.verb:<9}[/{style}]"
    return f"  {verb} {escape(a.minion):<12} {escape(subject):<30} [dim]{escape(a.reason)}[/dim]"


def _plan_headline(p: Plan, nothing: str) -> str:
    """The plan's first line: its project, and what it amounts to when it changes nothing."""
    head = f"[bold]PLAN[/bold] for project {escape(p.project)}"
    if p.actions or p.rollout:
        return head
    if p.unknown:
        return (
            f"{head}: nothing can be done, every minion is unreachable: "
            f"the state of {_plural(len(p.unknown), 'desired pod')} ({escape(', '.join(p.unknown))}) is unknown"
        )
    if p.unreachable:
        return f"{head}: nothing to change on the reachable minions; {escape(', '.join(sorted(p.unreachable)))} unknown"
    return f"{head}: {nothing}"


def pod_plan(p: Plan, *, diff: bool, check: bool, show_secrets: bool = False, nothing: str = NOTHING_TO_APPLY) -> None:
    """The pods' plan; with ``diff`` each replace's field diff (secret-looking env values masked unless
    ``show_secrets``). With -q, a plan that changes nothing prints nothing."""
    if p.changes or verbosity > QUIET:
        out.print(_plan_headline(p, nothing) + (" (check: nothing will be changed)" if check and p.changes else ""))
    if p.actions or p.rollout:
        for a in p.actions:
            out.print(_action_line(a))
            if diff and a.verb == "replace" and a.observed is not None and a.desired is not None:
                from kubeplay.pods.diff import spec_diff  # (only for --diff)

                for line in spec_diff(a.observed, a.desired, show_secrets=show_secrets):
                    style = "red" if line.startswith("-") else "green"
                    out.print(f"      [{style}]{escape(line)}[/{style}]")
        for n, step in enumerate(p.rollout, 1):
            new = ", ".join(f"{pod.name} on {minion or '?'}" for pod, minion in step.create)
            old = ", ".join(f"{pod.name} on {pod.minion}" for pod in step.remove)
            order = (
                f"remove {old}, then create {new} (in place)"
                if step.in_place
                else f"create {new}, then move the endpoints and remove {old}"
            )
            out.print(f"  [yellow]rollout[/yellow]   {escape(step.controller)} step {n}: {escape(order)}")
    _plan_problems(p)


def _plan_problems(p: Plan) -> None:
    """The plan's notes (not with -q), then what cannot be done and where."""
    for note in p.notes if verbosity > QUIET else ():
        err.print(f"note: {note}", markup=False)
    for pod, why in sorted(p.unschedulable.items()):
        error(f"pod {pod} is unschedulable: {why}")
    for f in p.failures:
        error(f"{f.minion}: pod {f.pod}: {f.reason}")
    _unreached(p)


def _unreached(p: Plan) -> None:
    for minion, why in sorted(p.unreachable.items()):
        warning(f"{minion} unreachable, nothing on it is changed or counted: {why}")
    for minion, why in sorted(p.refused.items()):
        error(f"{minion}: {why}; nothing on it is changed or counted")


def confirm(p: Plan, syncs: Sequence[MinionSync] = ()) -> bool:
    """Ask before changing pods, proxy rules or routes (``syncs``: the network changes known before the pods')."""
    pods = len(p.actions) + sum(len(s.create) + len(s.remove) for s in p.rollout)
    rules = sum(1 for s in syncs if not s.rules_in_sync)
    routes = sum(len(s.route_commands) for s in syncs)
    parts = [f"{pods} to pods"] if pods else []
    parts += [f"proxy rules on {_plural(rules, 'minion')}"] if rules else []
    parts += [_plural(routes, "route")] if routes else []
    from rich.prompt import Confirm

    question = f"Apply these {pods + rules + routes} changes ({', '.join(parts)})?"
    return Confirm.ask(question, console=rich_console(err), default=False)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def recap(p: Plan, results: Sequence[Result], inventory: Inventory, network: Sequence[NetworkResult] = ()) -> None:
    for r in results:
        if not r.ok:
            error(f"{r.action.minion}: {r.action.verb} {r.action.subject}: {r.error}")
    for n in network:
        if not n.ok:
            error(f"{n.minion}: {n.what}: {n.error}")
    if verbosity <= QUIET:
        return
    from kubeplay.cli.views import recap_rows  # (the rows' module, with what it imports, only for a run's recap)

    columns = ("MINION", "OK", "CHANGED", "FAILED", "UNREACHABLE")
    rows = [
        (
            row.minion,
            str(row.ok),
            _count(row.changed, "yellow"),
            _count(row.failed, "red"),
            _count(row.unreachable, "red"),
        )
        for row in recap_rows(p, results, inventory, network)
    ]
    if out.print_table("RECAP", columns, rows):
        return
    from rich.table import Table

    table = Table(title="RECAP", title_justify="left", box=None, pad_edge=False)
    for col in columns:
        table.add_column(col)
    for cells in rows:
        table.add_row(*cells)
    out.print(table)


def _count(n: int, style: str) -> str:
    return f"[{style}]{n}[/{style}]" if n else "0"


def _action_json(a: Action) -> dict[str, Any]:
    return {"verb": a.verb, "minion": a.minion, "pod": a.pod, "image": a.image, "reason": a.reason}


def _planned_json(a: Action, *, diff: bool, show_secrets: bool) -> dict[str, Any]:
    """A planned action; with ``diff`` a replace carries its field diff (secrets masked unless ``show_secrets``)."""
    doc = _action_json(a)
    if diff and a.verb == "replace" and a.observed is not None and a.desired is not None:
        from kubeplay.pods.diff import spec_diff

        doc["diff"] = spec_diff(a.observed, a.desired, show_secrets=show_secrets)
    return doc


def _sync_json(s: MinionSync) -> dict[str, Any]:
    return {"rules_in_sync": s.rules_in_sync, "rule_diff": s.rule_diff(), "routes": [list(c) for c in s.route_commands]}


def plan_json(
    p: Plan,
    results: Sequence[Result],
    inventory: Inventory,
    *,
    syncs: Sequence[MinionSync] = (),
    network: Sequence[NetworkResult] = (),
    diff: bool = False,
    show_secrets: bool = False,
) -> None:
    from kubeplay.cli.views import recap_rows

    doc = {
        "schema": APPLY_SCHEMA,
        "project": p.project,
        "plan": [_planned_json(a, diff=diff, show_secrets=show_secrets) for a in p.actions],
        "rollout": [
            {
                "controller": s.controller,
                "create": [pod.name for pod, _ in s.create],
                "remove": [o.name for o in s.remove],
                "in_place": s.in_place,
            }
            for s in p.rollout
        ],
        "results": [{**_action_json(r.action), "ok": r.ok, "error": r.error} for r in results],
        "unschedulable": p.unschedulable,
        "failures": [{"minion": f.minion, "pod": f.pod, "reason": f.reason} for f in p.failures],
        "unreachable": p.unreachable,
        "unknown": list(p.unknown),
        "notes": list(p.notes),
        "network": {s.minion: _sync_json(s) for s in syncs},
        "network_results": [{"minion": n.minion, "what": n.what, "ok": n.ok, "error": n.error} for n in network],
        "recap": {r.minion: r.as_dict() for r in recap_rows(p, results, inventory, network)},
    }
    out.print_json(json.dumps(doc))


def apply_outcome(
    outcome: Outcome, inventory: Inventory, output: str, *, diff: bool = False, show_secrets: bool = False
) -> None:
    """An apply's result: as JSON (plan with --diff's field diffs, results, network, recap), or the errors and the
    recap table."""
    if output == "json":
        plan_json(
            outcome.plan.pods,
            outcome.results,
            inventory,
            syncs=outcome.syncs,
            network=outcome.network,
            diff=diff,
            show_secrets=show_secrets,
        )
    elif not outcome.checked:
        recap(outcome.plan.pods, outcome.results, inventory, network=outcome.network)


class ApplyScreen:
    """The terminal's side of an apply (reconcile.ApplyView): text output shows the plan and, with --check or
    --diff, the network changes; JSON output shows everything at the end instead."""

    def __init__(
        self, output: str, *, diff: bool, check: bool, show_secrets: bool = False, nothing: str = NOTHING_TO_APPLY
    ) -> None:
        self.text = output == "text"
        self.diff = diff
        self.check = check
        self.show_secrets = show_secrets
        self.nothing = nothing
        """What the plan's first line says when it changes nothing."""

    def progress(self, message: str) -> None:
        progress(message)

    def planned(self, plan: Plan) -> None:
        if self.text:
            pod_plan(plan, diff=self.diff, check=self.check, show_secrets=self.show_secrets, nothing=self.nothing)

    def network_planned(self, syncs: Sequence[MinionSync], *, check: bool) -> None:
        if self.text and (check or self.diff):
            network_plan(syncs, check=check)

    def confirm(self, plan: Plan, syncs: Sequence[MinionSync]) -> bool:
        return confirm(plan, syncs)


def network_plan(syncs: Sequence[MinionSync], *, check: bool) -> None:
    """Per minion: the proxy rules' diff and the route changes (what --check would write)."""
    changed = [s for s in syncs if s.changes]
    if not changed:
        out.print("[bold]SERVICES[/bold]: proxy rules and routes match on every minion")
        return
    out.print("[bold]SERVICES[/bold]" + (" (check: nothing will be changed)" if check else ""))
    for s in changed:
        out.print(f"  [yellow]{escape(s.minion)}[/yellow]")
        for line in s.rule_diff():
            style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
            out.print(f"      [{style}]{escape(line)}[/{style}]")
        for command in s.route_commands:
            out.print(f"      [blue]{escape(' '.join(command))}[/blue]")


# --- get ------------------------------------------------------------------------------------------------------


def _table(columns: Sequence[str]) -> Table:
    from rich.table import Table  # (as rich.prompt and yaml: imported where used, so `validate` loads less)

    table = Table(box=None, pad_edge=False, show_edge=False)
    for col in columns:
        table.add_column(col)
    return table


def pods(rows: Sequence[PodRow], output: str) -> None:
    if output in ("json", "yaml"):
        items = {"kind": "PodList", "items": [r.as_dict() for r in rows]}
        _dump(items, output)
        return
    columns = ["ID", "Image(s)", "Host", "Labels", "Status"]
    if output == "wide":
        columns += ["Pod IP", "Controller", "Containers", "Project"]
    table = _table(columns)
    for r in rows:
        cells = [r.name, ",".join(r.images), r.host, r.labels_text, r.status]
        if output == "wide":
            cells += [r.pod_ip, r.controller, ",".join(r.containers), r.project]
        table.add_row(*(escape(c) for c in cells))
    out.print(table)


def controllers(rows: Sequence[ControllerRow], output: str) -> None:
    if output in ("json", "yaml"):
        _dump({"kind": "ReplicationControllerList", "items": [r.as_dict() for r in rows]}, output)
        return
    table = _table(["ID", "Image(s)", "Selector", "Replicas"])
    for r in rows:
        table.add_row(escape(r.name), escape(",".join(r.images)), escape(format_selector(r.selector)), r.replicas_text)
    out.print(table)


def services(rows: Sequence[ServiceRow], output: str) -> None:
    if output in ("json", "yaml"):
        _dump({"kind": "ServiceList", "items": [r.as_dict() for r in rows]}, output)
        return
    table = _table(["Name", "Labels", "Selector", "IP", "Port"])
    for r in rows:
        cells = [r.name, format_selector(r.labels), format_selector(r.selector), r.ip, ",".join(r.ports)]
        table.add_row(*(escape(c) for c in cells))
    out.print(table)


def endpoints(rows: Sequence[EndpointRow], output: str) -> None:
    if output in ("json", "yaml"):
        _dump({"kind": "EndpointsList", "items": [r.as_dict() for r in rows]}, output)
        return
    table = _table(["Name", "Endpoints"])
    for r in rows:
        table.add_row(escape(r.name), escape(",".join(r.endpoints) or "<none>"))
    out.print(table)


MINIONS_SCHEMA = 1
"""The version of `get minions -o json`'s layout (kubeplay/schemas/minions.schema.json), raised as APPLY_SCHEMA is."""


def allocation(allocated: int | None, capacity: int, unit: Callable[[int], str]) -> str:
    """ "allocated/capacity", "?" for what is unknown (an unreachable minion's pods, a capacity never observed)."""
    return f"{'?' if allocated is None else unit(allocated)}/{unit(capacity) if capacity else '?'}"


def minion_cells(r: MinionRow, wide: bool = False) -> list[str]:
    """A minion's cells in `get minions` (the block of `describe minion` shows the same)."""
    cells = [
        r.name,
        r.address,
        "yes" if r.reachable else "no",
        "yes" if r.cordoned else "no",
        "?" if r.pods is None else str(r.pods),
        allocation(r.cpu_allocated, r.cpu_capacity, format_cpu),
        allocation(r.memory_allocated, r.memory_capacity, format_memory),
        format_selector(r.labels),
    ]
    return [*cells, r.pod_subnet, r.error] if wide else cells


MINION_COLUMNS = ["Name", "Address", "Reachable", "Cordoned", "Pods", "CPU", "Memory", "Labels"]
"""CPU and Memory: allocated (the requests of the pods on the minion) / capacity."""


def minions(rows: Sequence[MinionRow], output: str) -> None:
    if output in ("json", "yaml"):
        _dump({"schema": MINIONS_SCHEMA, "kind": "MinionList", "items": [r.as_dict() for r in rows]}, output)
        return
    wide = output == "wide"
    table = _table([*MINION_COLUMNS, *(["Pod subnet", "Error"] if wide else [])])
    for r in rows:
        table.add_row(*(escape(printable(c)) for c in minion_cells(r, wide)))
    out.print(table)


def described(lines: Sequence[str]) -> None:
    """A `describe` block: its lines as they are (control characters escaped)."""
    for line in lines:
        out.print(printable(line), markup=False)


def _dump(doc: dict[str, Any], output: str) -> None:
    if output == "json":
        out.print_json(json.dumps(doc))
    else:
        import yaml

        out.print(yaml.safe_dump(doc, sort_keys=False), markup=False, end="")


# --- lab ------------------------------------------------------------------------------------------------------


def _up(ok: bool) -> str:
    return "[green]up[/green]" if ok else "[red]down[/red]"


def lab_status(st: LabStatus) -> None:
    from rich.table import Table

    table = Table(title=f"lab {st.name}", title_justify="left", box=None, pad_edge=False)
    for col in ("MINION", "ADDRESS", "NETNS", "SSHD", "DOCKERD", "POD SUBNET"):
        table.add_column(col)
    for m in st.minions:
        table.add_row(m.name, m.address, _up(m.netns), _up(m.sshd), _up(m.dockerd), m.pod_subnet)
    out.print(table)
    out.print(f"registry {st.registry_address}: {_up(st.registry)}   bridge: {_up(st.bridge)}")
    out.print(f"inventory: {escape(st.inventory)}")
