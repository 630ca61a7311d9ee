"""The one reader of YAML and JSON with lines: lines, duplicates, merge keys, aliases, and the scalar rules."""

from __future__ import annotations

import datetime
import json
import random

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeplay import yamlnodes
from kubeplay.yamlnodes import InvalidDocument, Node, Scalars, parse_json, parse_yaml, parse_yaml_document


def test_every_node_and_key_keeps_its_line() -> None:
    (doc,) = parse_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n")
    assert (doc.line, doc.line_of("a"), doc.line_of("b"), doc.line_of("absent")) == (1, 1, 2, 1)
    assert isinstance(doc.value, dict)
    items = doc.value["b"].value
    assert isinstance(items, list)
    assert [item.line for item in items] == [3, 4]
    assert doc.plain() == {"a": 1, "b": ["x", {"c": 2}]}


def test_a_key_given_twice_is_recorded_the_later_value_wins() -> None:
    doc = parse_yaml_document("a: 1\nb: 2\na: 3\n")
    assert doc is not None
    assert doc.duplicate_keys == (("a", 3),)
    assert doc.plain() == {"a": 3, "b": 2}


def test_merge_keys_are_applied_and_written_keys_override_them() -> None:
    (doc,) = parse_yaml("base: &base {a: 1, b: 2}\nx:\n  <<: *base\n  b: 3\n")
    assert doc.plain() == {"base": {"a": 1, "b": 2}, "x": {"a": 1, "b": 3}}
    assert doc.duplicate_keys == ()


def test_aliases_share_one_node() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 5)]  # 10**5 leaves if expanded
    (doc,) = parse_yaml("\n".join(lines) + "\n")
    plain = doc.plain()
    assert isinstance(plain, dict)
    assert plain["a4"][0] is plain["a4"][1] is plain["a3"]


def test_a_billion_laughs_is_refused_at_the_first_node_that_expands_past_the_limit() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 leaves if expanded
    with pytest.raises(InvalidDocument, match="aliases expand this to 211111111 characters") as caught:
        parse_yaml("\n".join(lines) + "\n")
    assert caught.value.line == 8  # a7, the first to expand past 32 MiB (10**8 leaves)


def test_an_alias_inside_the_node_it_names_is_refused_at_the_anchor_s_line() -> None:
    with pytest.raises(InvalidDocument, match="an alias refers to the node that contains it") as caught:
        parse_yaml("top:\n  a: &a\n    b: *a\n")
    assert caught.value.line == 2


@pytest.mark.parametrize(
    ("scalars", "text", "value"),
    [
        ("kubernetes", "2014-10-01", "2014-10-01"),
        ("ansible", "2014-10-01", datetime.date(2014, 10, 1)),
        ("kubernetes", "yes", True),
        ("kubernetes", "0x10", 16),
        ("kubernetes", "~", None),
        ("kubernetes", "!foo bar", "bar"),
        ("ansible", "!!binary aGk=", b"hi"),
    ],
)
def test_scalars_are_typed_by_the_reader_s_rules(scalars: Scalars, text: str, value: object) -> None:
    assert parse_yaml_document(f"v: {text}\n", scalars) == Node({"v": Node(value, 1)}, 1, {"v": 1})


def test_ansible_refuses_a_tag_it_does_not_know_such_as_vault() -> None:
    with pytest.raises(InvalidDocument, match="could not determine a constructor for the tag '!vault'") as caught:
        parse_yaml_document("a: 1\nuser: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n", "ansible")
    assert caught.value.line == 2


def test_keys_are_the_text_written() -> None:
    doc = parse_yaml_document("yes: a\n1: b\n", "ansible")
    assert doc is not None
    assert doc.plain() == {"yes": "a", "1": "b"}


def test_syntax_errors_carry_their_line_and_context() -> None:
    with pytest.raises(InvalidDocument) as caught:
        parse_yaml("a:\n  b: {c: 1\n  d:\n")
    assert caught.value.line == 3
    assert caught.value.message.startswith("invalid YAML: expected ',' or '}', but got ':' (while parsing a flow")


def test_one_document_is_expected_where_one_is_read() -> None:
    assert parse_yaml_document("") is None
    with pytest.raises(InvalidDocument, match="expected a single document"):
        parse_yaml_document("a: 1\n---\nb: 2\n")


def test_json_keeps_its_own_scalars_and_lines() -> None:
    doc = parse_json('{\n  "a": "2014-10-01",\n  "b": 1.0,\n  "c": [null, true]\n}\n')
    assert doc.plain() == {"a": "2014-10-01", "b": 1.0, "c": [None, True]}
    assert (doc.line_of("a"), doc.line_of("c")) == (2, 4)
    with pytest.raises(InvalidDocument, match=r"invalid JSON: Expecting property name .*\(column 3\)"):
        parse_json("{\n  ,\n}")


MIXED = """\
a: 1
b: "2"
c: 'x'
d: [yes, no, ~, 0x1F, 1.5e3, 2014-10-01]
e: &anchor
  f: |
    text
  g: >
    folded
  j: {k: [1, "two"]}
h:
  <<: *anchor
  i: !!str 3
---
- plain
- "quoted"
"""


JSON_TEXT = '{\n  "a": [1, 2.5, null, true, "x\\u00e9"],\n  "b": {"c": "2014-10-01"}\n}\n'


@pytest.mark.parametrize(("scalars", "text"), [("kubernetes", MIXED), ("ansible", MIXED), ("json", JSON_TEXT)])
def test_libyaml_and_the_pure_python_reader_build_the_same_nodes(scalars: Scalars, text: str) -> None:
    """libyaml parses when PyYAML has it; the nodes, their scalars, styles and lines are the pure reader's."""
    fast_loader = yamlnodes._pyyaml().fast_loader
    if fast_loader is None:
        pytest.skip("PyYAML without libyaml")

    def read(loader: type) -> list[Node]:
        builder = yamlnodes._NodeBuilder(scalars)
        return [builder.build(n) for n in yaml.compose_all(text, Loader=loader)]

    assert read(fast_loader) == read(yamlnodes._pyyaml().loader)
    assert parse_yaml(text, scalars) == read(yamlnodes._pyyaml().loader)


def test_errors_are_the_pure_python_reader_s_whoever_parsed() -> None:
    """libyaml words errors its own way: a text it refuses is read again to report the usual message and line."""
    with pytest.raises(InvalidDocument) as caught:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n")
    with pytest.raises(yaml.YAMLError) as pure:
        list(yaml.compose_all("a: 1\nb: [1, 2\nc: 3\n", Loader=yamlnodes._pyyaml().loader))
    assert isinstance(pure.value, yaml.MarkedYAMLError) and pure.value.problem
    assert caught.value.message.startswith(f"invalid YAML: {pure.value.problem}")
    assert caught.value.line == pure.value.problem_mark.line + 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": [1, 2.5, -3e2, true, false, null], "c": {"d": "x\\"y\\\\z\\/w\\u00e9", "d": 2}}',
        '[\n  {"k":\n\n   "v"},\n  [],\n  {}\n, "\\ud83d\\ude00", NaN, -Infinity]',
        '{\r\n "a": 1,\r\n "b": [2]\r\n}',
        '{"a": "line\\u2028sep", "b":\n "\u2028", "c": 1}',
        '{"' + "k" * 1100 + '": {"x": 1}}',
        '{"' + 'k\\"' * 340 + '": 1, "b": 2}',
        '{"' + "k" * 500 + "\\n" * 500 + '": 1}',
        '{"a":\r1,\r"b": [2]}',
        '\n\n  {"a": [1, {"b": "c,:]}[{"}], "d": null, "e": {}}  \n',
        '"just a string"',
    ],
)
def test_json_is_read_with_the_lines_and_values_composing_it_as_yaml_gives(text: str) -> None:
    """parse_json reads JSON without composing it as YAML (the slow part) where it can, to the same tree."""
    value = json.loads(text)
    try:
        composed = yamlnodes._composed(lambda loader: yaml.compose(text, Loader=loader))
    except yaml.YAMLError:  # (the very long key)
        composed = None
    node = parse_json(text)
    assert node.plain() == value
    if composed is None:
        assert node.line is None  # YAML cannot read it: the values, without lines, as before
    else:
        assert node == yamlnodes._NodeBuilder("json").build(composed)


def _random_value(rng: random.Random, depth: int) -> object:
    """A JSON value of up to ``depth`` levels: repeated keys and equal scalars of every type (1, 1.0, true)."""
    scalars: list[object] = ["a", "b", "", "[{", '"', "é", 1, 0, -0.0, 0.0, 1.0, True, False, None, 10**30, "1"]
    kind = rng.randrange(4) if depth > 1 else 3
    if kind == 0:
        return [_random_value(rng, depth - 1) for _ in range(rng.randrange(4))]
    if kind in (1, 2):
        keys = rng.choices(["a", "b", "c", "d"], k=rng.randrange(5))
        body = ", ".join(f"{json.dumps(k)}: {json.dumps(_random_value(rng, depth - 1))}" for k in keys)
        return json.loads("{" + body + "}", object_pairs_hook=yamlnodes._Pairs)  # (keys repeated as written)
    return rng.choice(scalars)


def _dumps(value: object) -> str:
    if isinstance(value, yamlnodes._Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {_dumps(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dumps(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize("seed", range(300))
def test_json_on_one_line_is_read_to_the_tree_of_json_on_several_lines(seed: int) -> None:
    """A text on one line (as json.dumps writes it) is read while json.loads reads it (``_OneLine``): the tree is
    the one the line-counting reader (``_JsonLines``, tested against YAML above) makes of it."""
    rng = random.Random(seed)
    text = "\n" * rng.randrange(2) + _dumps(_random_value(rng, rng.randrange(1, 7))) + " " * rng.randrange(2)
    value = json.loads(text, object_pairs_hook=yamlnodes._Pairs)
    first_line = rng.randrange(1, 4)
    expected = yamlnodes._JsonLines(text, first_line).build(value)
    one_line = yamlnodes._OneLine.of(text, first_line)
    assert (one_line is None) == (not text.isascii() or '\\"' in text)  # (else read as on several lines)
    assert parse_json(text, first_line) == expected
    assert _types(parse_json(text, first_line)) == _types(expected)


def _types(node: Node) -> object:
    """The tree with each scalar's type (trees equal in Python may hold 1 where the other holds true)."""
    if isinstance(node.value, dict):
        return {key: (node.key_lines[key], _types(item)) for key, item in node.value.items()}
    if isinstance(node.value, list):
        return [_types(item) for item in node.value]
    return (type(node.value), repr(node.value), node.line)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "x\\"y", "b": [1]}',
        '{"a": "\\u00e9", "b": {"a": 1, "a": 2}}',
        '{"a": "]]]]", "b": [[[[1]]]]}',
        '{"a": 1e400, "b": NaN}',
    ],
)
def test_json_on_one_line_is_read_alike_by_either_reader(text: str) -> None:
    value = json.loads(text, object_pairs_hook=yamlnodes._Pairs)
    assert _types(parse_json(text)) == _types(yamlnodes._JsonLines(text).build(value))


@pytest.mark.parametrize("levels", [98, 99, 100, 101, 150])
@pytest.mark.parametrize("leaf", ["1", "[]", "{}"])
def test_json_on_one_line_nested_about_the_limit_is_read_or_refused_as_on_several_lines(levels: int, leaf: str) -> None:
    """The depth limit holds for a one-line text as for any (the innermost scalar counts one level)."""
    text = '{"a": ' * levels + leaf + "}" * levels
    several = text.replace(" ", "\n ")
    try:
        expected: object = _types(parse_json(several))
    except InvalidDocument as exc:
        expected = exc.message
    try:
        got: object = _types(parse_json(text))
    except InvalidDocument as exc:
        got = exc.message
    if isinstance(expected, str):
        assert got == expected
    else:
        value = json.loads(text, object_pairs_hook=yamlnodes._Pairs)
        assert got == _types(yamlnodes._JsonLines(text).build(value))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('\t\n\r\x0b\x0c\x00\x1f\x7f ~a{"\\u'), max_size=12))
def test_an_ascii_text_is_not_plain_exactly_where_the_regular_expressions_say(text: str) -> None:
    """``_is_not_plain`` of an ASCII text (which asks ``isprintable`` first) says what ``_not_plain`` finds."""
    assert yamlnodes._is_not_plain(text) == (yamlnodes._not_plain().search(text) is not None)
