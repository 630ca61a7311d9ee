"""Label selectors: selector maps of services and controllers, and the ``-l`` expression language."""

from __future__ import annotations

import random

import pytest

from kubeplay.selectors import Requirement, Selector, format_selector, matches, parse_selector, selecting

REDIS = {"name": "redis", "tier": "backend", "env": "prod"}
WEB = {"name": "web", "tier": "frontend"}
BARE: dict[str, str] = {}


@pytest.mark.parametrize(
    ("text", "requirements"),
    [
        ("", ()),
        ("   ", ()),
        ("name=redis", (Requirement("name", "=", ("redis",)),)),
        ("name==redis", (Requirement("name", "=", ("redis",)),)),
        ("name!=redis", (Requirement("name", "!=", ("redis",)),)),
        ("name=", (Requirement("name", "=", ("",)),)),
        ("tier in (backend, frontend)", (Requirement("tier", "in", ("backend", "frontend")),)),
        ("tier notin (cache)", (Requirement("tier", "notin", ("cache",)),)),
        ("env", (Requirement("env", "exists"),)),
        ("!env", (Requirement("env", "!"),)),
        ("example.com/tier=web", (Requirement("example.com/tier", "=", ("web",)),)),
        (
            " name = redis , !canary,tier in(backend) ",
            (Requirement("name", "=", ("redis",)), Requirement("canary", "!"), Requirement("tier", "in", ("backend",))),
        ),
        ("in=x", (Requirement("in", "=", ("x",)),)),
    ],
)
def test_parse_selector(text: str, requirements: tuple[Requirement, ...]) -> None:
    assert parse_selector(text) == Selector(requirements)


@pytest.mark.parametrize(
    ("text", "labels", "selected"),
    [
        ("", BARE, True),
        ("", REDIS, True),
        ("name=redis", REDIS, True),
        ("name=redis", WEB, False),
        ("name==redis,tier=backend", REDIS, True),
        ("name=redis,tier=frontend", REDIS, False),
        ("name!=redis", WEB, True),
        ("name!=redis", REDIS, False),
        ("name!=redis", BARE, True),
        ("tier in (backend,frontend)", WEB, True),
        ("tier in (cache)", REDIS, False),
        ("tier in (cache)", BARE, False),
        ("tier notin (frontend)", REDIS, True),
        ("tier notin (frontend)", WEB, False),
        ("tier notin (frontend)", BARE, True),
        ("env", REDIS, True),
        ("env", WEB, False),
        ("!env", WEB, True),
        ("!env", REDIS, False),
    ],
)
def test_selector_matches(text: str, labels: dict[str, str], selected: bool) -> None:
    assert parse_selector(text).matches(labels) is selected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name=redis,", "expected a label key at the end"),
        (",name=redis", "expected a label key at position 1"),
        ("name redis", "expected =, ==, !=, in, notin or ',' at position 6"),
        ("tier in backend", "expected '(' at position 9"),
        ("tier in (backend", "expected ')' at the end"),
        ("tier in ()", "need at least one value"),
        ("name=redis=x", "expected ',' at position 11"),
        ("-name=redis", "label key '-name'"),
        ("name=red is", "expected ',' at position 10"),
        ("name=front_", "label value 'front_'"),
        ("!", "expected a label key at the end"),
        ("a=(b)", "expected ',' at position 3"),
    ],
)
def test_bad_selectors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid selector") as caught:
        parse_selector(text)
    assert message in str(caught.value)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(
    "text", ["name=redis", "name!=redis", "!env", "env", "tier in (a,b)", "tier notin (a)", "a=b,!c,d in (e)"]
)
def test_a_parsed_selector_prints_back_to_the_same_selector(text: str) -> None:
    selector = parse_selector(text)
    assert parse_selector(str(selector)) == selector


@pytest.mark.parametrize(
    ("selector", "labels", "selected"),
    [
        ({"name": "redis"}, REDIS, True),
        ({"name": "redis", "tier": "backend"}, REDIS, True),
        ({"name": "redis", "tier": "frontend"}, REDIS, False),
        ({"name": "redis"}, WEB, False),
        ({"name": "redis"}, BARE, False),
        ({}, REDIS, False),
        ({}, BARE, False),
    ],
)
def test_a_selector_map_needs_every_pair_and_an_empty_one_selects_nothing(
    selector: dict[str, str], labels: dict[str, str], selected: bool
) -> None:
    assert matches(selector, labels) is selected


@pytest.mark.parametrize(
    ("selector", "text"),
    [({"name": "redis"}, "name=redis"), ({"tier": "web", "app": "guestbook"}, "app=guestbook,tier=web"), ({}, "")],
)
def test_format_selector(selector: dict[str, str], text: str) -> None:
    assert format_selector(selector) == text
    assert parse_selector(text).matches(selector) or not selector


def _random_map(rng: random.Random) -> dict[str, str]:
    return {rng.choice("abcd"): rng.choice(["x", "y", "", "x "]) for _ in range(rng.randrange(4))}


def test_matches_and_selecting_agree_with_the_rule_written_plainly() -> None:
    """``matches``: every pair of the selector present in the labels (``labels.get(key) == value``), an empty
    selector none; ``selecting``: the indexes of the selectors that match, in order, each once."""
    rng = random.Random(13)
    for _ in range(300):
        selectors = [_random_map(rng) for _ in range(rng.randrange(6))]
        lookup = selecting(selectors)
        for labels in (_random_map(rng) for _ in range(10)):
            plain = [
                n
                for n, selector in enumerate(selectors)
                if selector and all(labels.get(key) == value for key, value in selector.items())
            ]
            assert [n for n, s in enumerate(selectors) if matches(s, labels)] == plain
            assert lookup(labels) == plain
