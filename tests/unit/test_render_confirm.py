"""apply's question on a terminal counts the pods' changes and the proxy rules and routes it will write."""

from __future__ import annotations

import pytest
from rich.prompt import Confirm

from kubeplay.cli import render
from kubeplay.planner.pods import Action, Plan
from kubeplay.proxy import rules as proxy
from kubeplay.proxy.plan import MinionSync


def asked(monkeypatch: pytest.MonkeyPatch, plan: Plan, syncs: list[MinionSync]) -> str:
    questions: list[str] = []

    def ask(question: str, **_: object) -> bool:
        questions.append(question)
        return False

    monkeypatch.setattr(Confirm, "ask", ask)
    assert render.confirm(plan, syncs) is False
    (question,) = questions
    return question


RULES = proxy.render([], {}, {})
ROUTE = ("ip", "route", "replace", "172.22.0.0/16", "via", "10.0.0.2", "proto", "107")


def test_only_rule_and_route_changes_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    syncs = [
        MinionSync("m1", proxy.Ruleset(), RULES, (ROUTE,)),
        MinionSync("m2", proxy.Ruleset(), RULES),
        MinionSync("m3", RULES, RULES),
    ]
    assert asked(monkeypatch, Plan(()), syncs) == "Apply these 3 changes (proxy rules on 2 minions, 1 route)?"


def test_pod_changes_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = Plan((Action("create", "m1", "new", pod="web"), Action("remove", "m2", "gone", pod="old")))
    assert asked(monkeypatch, plan, [MinionSync("m1", RULES, RULES)]) == "Apply these 2 changes (2 to pods)?"
