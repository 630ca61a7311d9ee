"""The one reader of YAML and JSON with lines: lines, duplicates, merge keys, aliases, and the scalar rules."""

from __future__ import annotations

import datetime
import json

import pytest
import yaml

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
