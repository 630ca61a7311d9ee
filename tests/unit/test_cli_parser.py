"""The parser of one verb (what `kubeplay VERB ...` builds) against the parser of every verb (what `kubeplay --help`
and a command line that starts with no known verb build): the same help, usage, errors, exit codes and parsed
options for every verb's command lines."""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from kubeplay.cli.main import VERBS, build_parser, main

ROOT = Path(__file__).resolve().parents[2]

VERB_LINES = [
    [],
    ["--help"],
    ["-h"],
    ["--no-such-option"],
    ["--verb"],  # (an abbreviation: of --verbose where the verb has it)
    ["-f"],
    ["-f", "x.json", "-i", "hosts", "--yes", "-vv"],
    ["-f", "x.json", "--forks", "0"],
    ["-f", "x.json", "--timeout", "nan", "--diff"],
    ["pods", "redis", "-f", "x.json"],
    ["pods", "-o", "wide", "-l", "name=redis"],
    ["pods", "--version"],
    ["status", "--help"],
    ["up", "--minions", "2", "--name", "l1"],
    ["status", "redis", "--bogus"],
    ["redis", "--replicas", "2", "--check"],
    ["rc", "redis", "--replicas", "2", "-f", "x.json", "--check"],
    ["redis", "--image", "redis:2.8", "--replicas", "2", "--check"],
    ["status", "rc", "redis", "-f", "x.json", "--timeout", "5"],
    ["redis", "-c", "app", "--tail", "10"],
    ["-f", "x.json", "--to", "kubernetes", "-o", "out.yaml"],
    ["redis", "--", "redis-cli", "ping"],
    ["-c", "redis.json", "create", "/pods"],
    ["-h", "apiserver", "list", "/minions"],
]
"""What follows the verb: help, errors (unknown and missing options, bad values, stray arguments) and lines that
parse, for the verbs they fit."""


def parsed(parser: argparse.ArgumentParser, line: Sequence[str]) -> tuple[Any, str, str]:
    """The options parsed (each command by its module and name) or the exit code, and what was printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            options = vars(parser.parse_args(line))
        except SystemExit as exc:
            return ("exit", exc.code), out.getvalue(), err.getvalue()
    func = options.pop("func")
    options["func"] = [cell.cell_contents for cell in func.__closure__]  # (args.command's name and module)
    return options, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("verb", VERBS)
def test_the_parser_of_one_verb_parses_its_command_lines_as_the_parser_of_every_verb(
    verb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    every, one = build_parser(), build_parser(verb)
    for line in VERB_LINES:
        assert parsed(one, [verb, *line]) == parsed(every, [verb, *line]), line
    outputs = [parsed(every, [verb, *line]) for line in VERB_LINES]
    assert any(isinstance(options, dict) for options, _, _ in outputs)  # (some lines parse, others fail)
    assert ("exit", 5) in [options for options, _, _ in outputs]


def test_a_usage_error_found_after_parsing_shows_the_usage_of_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    errors = []
    for parser in (build_parser(), build_parser("apply")):
        with pytest.raises(SystemExit) as exited:
            parser.error("KUBEPLAY_FORKS: not a number")
        errors.append((exited.value.code, capsys.readouterr().err))
    assert errors[0] == errors[1]
    assert errors[0][0] == 5 and "{apply,get,delete,validate,lab,scale," in errors[0][1]


def test_every_verb_is_registered_under_its_name_in_the_order_of_verbs() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == list(VERBS)


@pytest.mark.parametrize(
    "line",
    [["app", "-f", "x"], ["--help"], [], ["--version"], ["-v", "apply"], ["APPLY"], ["apply", "--help"]],
)
def test_a_command_line_that_names_no_verb_first_is_parsed_by_the_parser_of_every_verb(
    line: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exited:
        main(line)
    printed = capsys.readouterr()
    assert (("exit", exited.value.code), printed.out, printed.err) == parsed(build_parser(), line)


def test_a_verb_builds_no_other_verbs_parser() -> None:
    script = (
        "import contextlib, io, sys\nfrom kubeplay.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n    main(sys.argv[1:])\n"
        "print(sorted(m for m in sys.modules if m.startswith('kubeplay.cli.')))"
    )
    loaded = []
    for verb in ("apply", "scale"):
        argv = [sys.executable, "-c", script, verb, "--help"]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
        loaded.append(done.stdout)
    assert "kubeplay.cli.scale" not in loaded[0] and "kubeplay.cli.kubecfg" not in loaded[0]
    assert "kubeplay.cli.scale" in loaded[1] and "kubeplay.cli.kubecfg" not in loaded[1]
