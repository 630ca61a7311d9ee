"""Everything kubeplay shows a person: tables and results to stdout, progress and errors to stderr.

The only module (with cli.py) that imports rich.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from kubeplay.errors import InputError
from kubeplay.lab.cluster import LabStatus

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def progress(message: str) -> None:
    err.print(f"[dim]kubeplay:[/dim] {message}", markup=True)


def error(message: str) -> None:
    err.print(f"error: {message}", markup=False, style="bold red")


def input_error(exc: InputError) -> None:
    n = len(exc.problems)
    err.print(f"error: {n} problem{'s' if n != 1 else ''} in the input; nothing was changed", style="bold red")
    for p in exc.problems:
        err.print(f"  {p}", markup=False)


def _yes(ok: bool) -> str:
    return "[green]up[/green]" if ok else "[red]down[/red]"


def lab_status(st: LabStatus) -> None:
    table = Table(title=f"lab {st.name}", title_justify="left", box=None, pad_edge=False)
    for col in ("MINION", "ADDRESS", "NETNS", "SSHD", "DOCKERD", "POD SUBNET"):
        table.add_column(col)
    for m in st.minions:
        table.add_row(m.name, m.address, _yes(m.netns), _yes(m.sshd), _yes(m.dockerd), m.pod_subnet)
    out.print(table)
    out.print(f"registry {st.registry_address}: {_yes(st.registry)}   bridge: {_yes(st.bridge)}")
    out.print(f"inventory: {st.inventory}")
