"""Ansible ``--limit`` patterns over an inventory.

    web                 a group or a host          web:db, web,db     union
    web:&ssd            intersection               web:!minion-2     exclusion
    minion-*, m?n[12]   shell wildcards            ~minion-[0-9]+    regular expression (from the start)
    all, *              every host                 web[0], web[1:2]  hosts of a group by position

As in Ansible, unions come first, then intersections, then exclusions, whatever the order written. Unlike
Ansible, which only warns, a term that names no host or group is an error: a typo in a limit must not
silently widen or narrow a run.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from kubeplay.dataclass import replace
from kubeplay.errors import InventoryError, Problem
from kubeplay.model import Inventory

_TERMS = r"(?:[^\s:\[\]]|\[[^\]]*\])+"  # (both compiled for a --limit, by re's cache)
_SUBSCRIPT = r"^(.+)\[(?:(-?\d+)|(\d+):(\d*))\]$"
_WILDCARDS = (".", "?", "*", "[")


def limit(inventory: Inventory, pattern: str) -> Inventory:
    """The inventory narrowed to the minions ``pattern`` selects. Raises InventoryError when it selects none."""
    try:
        terms = split_pattern(pattern)
    except ValueError as exc:
        raise InventoryError([_problem(inventory, pattern, str(exc))]) from exc
    problems: list[Problem] = []
    unions = [term for term in terms if term[0] not in "&!"] or ["all"]
    chosen: set[str] = set()
    for term in unions:
        chosen |= _match(inventory, term, problems)
    for term in (term[1:] for term in terms if term[0] == "&"):
        chosen &= _match(inventory, term, problems)
    for term in (term[1:] for term in terms if term[0] == "!"):
        chosen -= _match(inventory, term, problems)
    if not chosen and not problems:
        problems.append(_problem(inventory, pattern, "selects no minions"))
    if problems:
        raise InventoryError(problems)
    return replace(
        inventory,
        minions=tuple(minion for minion in inventory.minions if minion.name in chosen),
        groups={group: tuple(h for h in hosts if h in chosen) for group, hosts in inventory.groups.items()},
    )


def split_pattern(pattern: str) -> list[str]:
    """``a:&b:!c`` or ``a,&b,!c`` -> ["a", "&b", "!c"]; colons inside ``[...]`` do not split.

    Raises ValueError for brackets that do not pair up.
    """
    if "," not in pattern and re.sub(_TERMS, "", pattern).strip(": "):
        raise ValueError("has unbalanced brackets")
    terms = [term.strip() for term in pattern.split(",")] if "," in pattern else re.findall(_TERMS, pattern)
    return [term for term in terms if term and term not in ("&", "!")]


def _match(inventory: Inventory, term: str, problems: list[Problem]) -> set[str]:
    name, positions = _split_subscript(term)
    try:
        groups, hosts = _matching_names(inventory, name)
    except re.error as exc:
        problems.append(_problem(inventory, term, f"is not a valid regular expression: {exc}"))
        return set()
    if not groups and not hosts:
        problems.append(_problem(inventory, term, "matches no host or group" + _hint(inventory, name)))
        return set()
    selected = [host for group in groups for host in inventory.groups[group]] + hosts
    ordered = [m.name for m in inventory.minions if m.name in set(selected)]
    return set(ordered[positions] if positions else ordered)


def _matching_names(inventory: Inventory, term: str) -> tuple[list[str], list[str]]:
    matches = _matcher(term)
    groups = [group for group in inventory.groups if matches(group)]
    special = term.startswith("~") or any(char in term for char in _WILDCARDS)
    hosts = [m.name for m in inventory.minions if matches(m.name)] if special or not groups else []
    return groups, hosts


def _matcher(term: str) -> Callable[[str], re.Match[str] | None]:
    return re.compile(term[1:] if term.startswith("~") else fnmatch.translate(term)).match


def _split_subscript(term: str) -> tuple[str, slice | None]:
    """``web[0]`` -> ("web", slice(0, 1)); ``web[1:3]`` -> ("web", slice(1, 4)); regexes have no subscript."""
    match = None if term.startswith("~") else re.match(_SUBSCRIPT, term)
    if match is None:
        return term, None
    name, single, start, end = match.groups()
    if single is not None:
        index = int(single)
        return name, slice(index, index + 1 or None)
    return name, slice(int(start), int(end) + 1 if end else None)


def _hint(inventory: Inventory, term: str) -> str:
    names = [*inventory.groups, *(m.name for m in inventory.minions)]
    import difflib  # (a hint for a mistake: not loaded by a run without one)

    close = difflib.get_close_matches(term, names, n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _problem(inventory: Inventory, term: str, message: str) -> Problem:
    return Problem(inventory.source, f"--limit pattern {term!r} {message}", object="limit")
