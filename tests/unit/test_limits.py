"""Each input limit accepts an input exactly at the limit and refuses one just past it, saying how to raise it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kubeplay.cli.exitcodes import EXIT_USAGE
from kubeplay.cli.main import main
from kubeplay.errors import InputError
from kubeplay.inventory import load_inventory
from kubeplay.limits import excerpt
from kubeplay.manifests import load_manifests
from kubeplay.yamlnodes import InvalidDocument, parse_json, parse_yaml

POD = "kind: Pod\nid: web\ndesiredState:\n  manifest:\n    containers: [{name: web, image: nginx}]\n"


def refused(paths: list[str]) -> str:
    with pytest.raises(InputError) as caught:
        load_manifests(paths)
    return str(caught.value)


def test_file_size_at_and_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEPLAY_MAX_FILE_SIZE", "1000")
    at = tmp_path / "at.yaml"
    at.write_text(POD + "#" * (1000 - len(POD) - 1) + "\n")
    assert at.stat().st_size == 1000
    assert len(load_manifests([str(at)]).pods) == 1
    past = tmp_path / "past.yaml"
    past.write_text(POD + "#" * (1000 - len(POD)) + "\n")
    message = refused([str(past)])
    assert "past.yaml: the file is larger than the limit; the limit is 1000 bytes" in message
    assert "(set KUBEPLAY_MAX_FILE_SIZE to change it)" in message


def nested(levels: int) -> str:
    """A list nested so that it has ``levels`` levels, counting the scalar inside."""
    return "[" * (levels - 1) + "1" + "]" * (levels - 1)


@pytest.mark.parametrize("parse", [parse_yaml, parse_json])
def test_depth_at_and_past_the_limit(parse: object) -> None:
    assert callable(parse)
    parse(nested(100))
    with pytest.raises(InvalidDocument, match="nested more than 100 levels deep; the limit is 100 levels") as caught:
        parse("\n" + nested(101))
    assert caught.value.line == 2


@pytest.mark.parametrize("number", ["9" * 100, "1." + "5" * 98, "-" + "9" * 99])
@pytest.mark.parametrize("parse", [parse_yaml, parse_json])
def test_number_length_at_and_past_the_limit(parse: object, number: str) -> None:
    assert callable(parse)
    parse(f"[{number}]")
    with pytest.raises(InvalidDocument, match="a number of 101 characters; the limit is 100 characters"):
        parse(f"[{number}1]")


def test_expanded_size_at_and_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each node counts its characters plus one: {a: 9 x's, b: [10 aliases]} is
    # 1 + (len("a") + 1) + (9 + 1) + (len("b") + 1) + (1 + 10 * (9 + 1)) = 116.
    text = "a: &a xxxxxxxxx\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    monkeypatch.setenv("KUBEPLAY_MAX_EXPANDED_SIZE", "116")
    parse_yaml(text)
    monkeypatch.setenv("KUBEPLAY_MAX_EXPANDED_SIZE", "115")
    with pytest.raises(InvalidDocument, match="aliases expand this to 116 characters; the limit is 115") as caught:
        parse_yaml(text)
    assert caught.value.line == 1


def test_merge_keys_of_merge_keys_stay_linear() -> None:
    lines = ["a0: &a0 {k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9}"]
    lines += [f"a{i}: &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * 10)}], own{i}: {i}}}" for i in range(1, 6)]
    (doc,) = parse_yaml("\n".join(lines) + "\n")
    plain = doc.plain()
    assert isinstance(plain, dict)
    assert plain["a5"] == {**{f"k{n}": n for n in range(10)}, **{f"own{i}": i for i in range(1, 6)}}


def test_objects_at_and_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEPLAY_MAX_OBJECTS", "3")
    for index in range(3):
        (tmp_path / f"{index}.yaml").write_text(POD.replace("id: web", f"id: web{index}"))
    assert len(load_manifests([str(tmp_path)]).pods) == 3
    (tmp_path / "3.yaml").write_text(POD.replace("id: web", "id: web3"))
    assert "3.yaml:1: too many objects in this run; the limit is 3 objects" in refused([str(tmp_path)])


def template(tmp_path: Path, text: str) -> str:
    path = tmp_path / "t.yaml.j2"
    path.write_text(text)
    return str(path)


def test_template_output_at_and_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEPLAY_MAX_FILE_SIZE", "1000")
    assert load_manifests([template(tmp_path, "{{ '#' * 1000 }}")]) == load_manifests([])
    message = refused([template(tmp_path, "{{ '#' * 1000 }}{{ '#' }}")])
    assert "template error: the rendered text is larger than the limit; the limit is 1000 bytes" in message


def test_template_operations_at_and_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEPLAY_MAX_FILE_SIZE", "1000")
    assert load_manifests([template(tmp_path, "# {{ ('#' * 500 + '#' * 498)|length }}")]) == load_manifests([])
    message = refused([template(tmp_path, "{{ 'x' * 1001 }}")])
    assert "t.yaml.j2:1: template error: * would make a value past the limit; the limit is 1000 bytes" in message


def test_template_time_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEPLAY_MAX_TEMPLATE_SECONDS", "1")
    quick = template(tmp_path, "{% for i in range(10000) %}{% endfor %}# done\n")
    assert load_manifests([quick]) == load_manifests([])
    started = time.monotonic()
    message = refused(
        [template(tmp_path, "{% for i in range(100000) %}\n{% for j in range(100000) %}{% endfor %}\n{% endfor %}")]
    )
    assert 1 <= time.monotonic() - started < 5
    assert "template error: rendering took longer than the limit; the limit is 1 seconds" in message


def test_host_range_at_and_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory = tmp_path / "hosts"
    inventory.write_text("[web]\nm[1:10000]\n")
    started = time.monotonic()
    assert len(load_inventory(str(inventory)).minions) == 10_000
    assert time.monotonic() - started < 10  # linear: 100,000 hosts took over 60 s when it was quadratic
    monkeypatch.setenv("KUBEPLAY_MAX_HOST_RANGE", "6")
    inventory.write_text("[web]\nm[1:2][a:c]\n")
    assert len(load_inventory(str(inventory)).minions) == 6
    inventory.write_text("[web]\nm[1:7]\n")
    with pytest.raises(
        InputError, match=r"hosts:2: group web: host range 'm\[1:7\]' expands to 7 hosts; the limit is 6"
    ):
        load_inventory(str(inventory))


@pytest.mark.parametrize("value", ["0", "-1", "lots", "1e6", ""])
def test_a_limit_variable_that_is_not_a_positive_number_is_a_usage_error(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBEPLAY_MAX_DEPTH", value)
    with pytest.raises(SystemExit) as caught:
        main(["validate", "-i", "nowhere"])
    assert caught.value.code == EXIT_USAGE
    assert f"KUBEPLAY_MAX_DEPTH={value!r}: expected a positive whole number (levels)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("short", "'short'"),
        ("x" * 200, "'" + "x" * 80 + "...' (200 characters)"),
        ("\x1b]0;title\x07", "'\\x1b]0;title\\x07'"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl", "(a private key: not shown)"),
        (10**400, "(a number of 1329 bits)"),
        ([1, 2], "[1, 2]"),
    ],
)
def test_messages_quote_values_as_short_escaped_excerpts(value: object, shown: str) -> None:
    assert excerpt(value) == shown
