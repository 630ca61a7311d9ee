"""`apply`'s live view on a terminal: per minion its actions as they run, each image pull with its bytes and speed,
the pods created so far, drawn in place on stderr (rich.live) while the run's progress lines scroll above it.

It is an ``ApplyView`` and an event sink around the plain ``render.ApplyScreen``: it shows what the events say
(each action's result, each line of a pull's progress) and needs nothing else from the run. It is used only when
stderr is a terminal and neither -q nor -o json is given; otherwise the output stays one line per event. The
display starts once the plan is shown and agreed to (it is stopped before the question is asked), and
``live_apply`` stops it on every way out (the end, an error, Ctrl-C), which gives the terminal its cursor back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from kubeplay.cli import render
from kubeplay.cli.screen import rich_console
from kubeplay.connectors.base import PullProgress
from kubeplay.dataclass import dataclass, field
from kubeplay.reconcile import ApplyView, Event, EventSink

if TYPE_CHECKING:
    from rich.live import Live
    from rich.progress import Progress, TaskID

    from kubeplay.kubelet.execute import Pulling, Result
    from kubeplay.planner.pods import Action, Plan
    from kubeplay.proxy.plan import MinionSync

CREATES = ("create", "replace")
"""The verbs that make a pod."""


def wanted(output: str) -> bool:
    """Whether apply shows the live view: stderr is a terminal (not a dumb one), text output, not -q."""
    err = render.err
    return output == "text" and render.verbosity > render.QUIET and err.is_terminal and not err.is_dumb_terminal


@dataclass
class PullTally:
    """One pull's bytes so far, summed over its layers, from the progress lines Docker streams."""

    layers: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Layer -> (bytes downloaded, its size), for the layers Docker downloads (not those already there)."""

    def add(self, line: PullProgress) -> None:
        if line.status == "Downloading" and line.total:
            self.layers[line.layer] = (min(line.current, line.total), line.total)
        elif line.status in ("Download complete", "Pull complete") and line.layer in self.layers:
            size = self.layers[line.layer][1]
            self.layers[line.layer] = (size, size)

    @property
    def done(self) -> int:
        return sum(got for got, _ in self.layers.values())

    @property
    def total(self) -> int:
        return sum(size for _, size in self.layers.values())


@dataclass
class MinionWork:
    """One minion's actions: those still to run, in the order the executor runs them, and how many ended."""

    waiting: list[str]
    total: int
    ended: int = 0
    failed: int = 0

    @property
    def now(self) -> str:
        """What the minion is doing now (its first action not ended yet), or how it ended."""
        if self.waiting:
            return self.waiting[0]
        if self.ended < self.total:
            return "rollout"
        return f"done, {self.failed} failed" if self.failed else "done"

    def end(self, result: Result) -> None:
        described = _described(result.action)
        if described in self.waiting:
            self.waiting.remove(described)
        self.ended += 1
        self.failed += not result.ok


def _described(action: Action) -> str:
    return render.printable(f"{action.verb} {action.subject}")


def plan_work(plan: Plan) -> dict[str, MinionWork]:
    """Each minion's work in the plan: its actions, then the rollout steps' creates and removes on it."""
    work: dict[str, MinionWork] = {}
    for a in plan.actions:
        w = work.setdefault(a.minion, MinionWork([], 0))
        w.waiting.append(_described(a))
        w.total += 1
    for step in plan.rollout:
        for minion in [m for _, m in step.create if m] + [old.minion for old in step.remove]:
            work.setdefault(minion, MinionWork([], 0)).total += 1
    return dict(sorted(work.items()))


def pods_to_create(plan: Plan) -> int:
    return sum(1 for a in plan.actions if a.verb in CREATES) + sum(len(s.create) for s in plan.rollout)


class LiveApply:
    """The live view (an ApplyView and an event sink). ``ask``: the run asks before it changes anything, so the
    display starts only once the answer is yes."""

    def __init__(self, screen: render.ApplyScreen, ask: bool, on_event: EventSink) -> None:
        from rich.console import Group
        from rich.live import Live

        self.screen = screen
        self.ask = ask
        self.on_event = on_event
        self._lock = threading.Lock()
        self._work: dict[str, MinionWork] = {}
        self._pulls: dict[tuple[str, str], tuple[PullTally, TaskID]] = {}
        self._minion_tasks: dict[str, TaskID] = {}
        self._pods_task: TaskID | None = None
        self.actions, self.pulls, self.pods = _progress_bars()
        self.live: Live = Live(
            Group(self.actions, self.pulls, self.pods),
            console=rich_console(render.err),
            refresh_per_second=8,
            redirect_stdout=render.out.is_terminal,  # results printed meanwhile go above the display
        )

    # --- ApplyView ---

    def progress(self, message: str) -> None:
        render.progress(message)  # above the display while it runs

    def planned(self, plan: Plan) -> None:
        self.screen.planned(plan)
        self._work = plan_work(plan)
        for minion, w in self._work.items():
            self._minion_tasks[minion] = self.actions.add_task(w.now, total=w.total, minion=minion)
        creates = pods_to_create(plan)
        if creates:
            self._pods_task = self.pods.add_task("pods created", total=creates)
        if plan.changes and not self.screen.check and not self.ask:
            self.start()

    def network_planned(self, syncs: Sequence[MinionSync], *, check: bool) -> None:
        self.screen.network_planned(syncs, check=check)

    def confirm(self, plan: Plan, syncs: Sequence[MinionSync]) -> bool:
        self.stop()
        agreed = self.screen.confirm(plan, syncs)
        if agreed and plan.changes:
            self.start()
        return agreed

    # --- events ---

    def event(self, event: Event) -> None:
        from kubeplay.kubelet.execute import Pulling, Result  # (the executor's: loaded once the pods change)

        self.on_event(event)
        with self._lock:
            if isinstance(event, Result):
                self._ended(event)
            elif isinstance(event, Pulling):
                self._pulling(event)

    def _ended(self, result: Result) -> None:
        a = result.action
        w = self._work.get(a.minion)
        if w is not None:
            w.end(result)
            self.actions.update(self._minion_tasks[a.minion], completed=w.ended, description=w.now)
        if result.ok and a.verb in CREATES and self._pods_task is not None:
            self.pods.advance(self._pods_task)

    def _pulling(self, pulling: Pulling) -> None:
        a = pulling.action
        key = (a.minion, a.image)
        if key not in self._pulls:
            task = self.pulls.add_task(render.printable(f"{a.image} on {a.minion}"), total=None)
            self._pulls[key] = (PullTally(), task)
        tally, task = self._pulls[key]
        tally.add(pulling.progress)
        self.pulls.update(task, completed=tally.done, total=tally.total or None)

    # --- the display ---

    def start(self) -> None:
        with ctrl_c_held():
            self.live.start()  # (once: a started display is left as it is)

    def stop(self) -> None:
        """Stop the display and give the terminal its cursor back; nothing when it is not running."""
        with ctrl_c_held():
            self.live.stop()


@contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Ctrl-C (SIGINT) held back until the block is done, then delivered, on the main thread: rich's Live.start and
    stop, interrupted, leave the terminal half set up (Ctrl-C as the display started: its cursor hidden, rich's
    render hook not yet pushed, whose pop by stop then raised IndexError, an internal error instead of 130)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    import signal  # (its enums: not for an apply that shows no display)

    came: list[int] = []
    before = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
        if came:
            signal.raise_signal(signal.SIGINT)  # (to the handler of before: KeyboardInterrupt, or apply --every's)


def _progress_bars() -> tuple[Progress, Progress, Progress]:
    """The display's three parts: per minion its actions, each pull's bytes and speed, the pods created."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TransferSpeedColumn,
    )

    err = rich_console(render.err)
    actions = Progress(
        SpinnerColumn(finished_text="[green]✓[/green]"),
        TextColumn("{task.fields[minion]}", markup=False, style="bold"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("{task.description}", markup=False),
        console=err,
        auto_refresh=False,
    )
    pulls = Progress(
        TextColumn("  pull"),
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=20),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        auto_refresh=False,
    )
    pods = Progress(
        TextColumn("{task.description}"), BarColumn(bar_width=20), MofNCompleteColumn(), console=err, auto_refresh=False
    )
    return actions, pulls, pods


@contextmanager
def live_apply(
    screen: render.ApplyScreen, output: str, ask: bool, on_event: EventSink
) -> Iterator[tuple[ApplyView, EventSink]]:
    """The view and event sink of one apply: the live view when ``wanted``, else the plain screen and
    ``on_event`` as they are. The display is stopped however the block is left."""
    if not wanted(output):
        yield screen, on_event
        return
    view = LiveApply(screen, ask, on_event)
    try:
        yield view, view.event
    finally:
        view.stop()
