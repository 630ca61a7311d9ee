"""Numbers on the command line are checked by argparse, before anything is read or connects: a usage error, exit 5."""

from __future__ import annotations

import pytest

from kubeplay.cli import main
from kubeplay.cli.exitcodes import EXIT_USAGE


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-unavailable", "0", "argument --max-unavailable: must be from 1 to 10000, got 0"),
        ("--max-unavailable", "-1", "argument --max-unavailable: must be from 1 to 10000, got -1"),
        ("--timeout", "0", "argument --timeout: must be more than 0 and at most 3600 seconds, got 0"),
        ("--timeout", "nan", "argument --timeout: must be more than 0 and at most 3600 seconds, got nan"),
        ("--timeout", "-5", "argument --timeout: must be more than 0 and at most 3600 seconds, got -5"),
        ("--timeout", "inf", "argument --timeout: must be more than 0 and at most 3600 seconds, got inf"),
        ("--timeout", "soon", "argument --timeout: expected a number of seconds, got 'soon'"),
        ("--forks", "0", "argument --forks: must be from 1 to 1000, got 0"),
        ("--forks", "1001", "argument --forks: must be from 1 to 1000, got 1001"),
        ("--forks", "2.5", "argument --forks: expected a whole number, got '2.5'"),
    ],
)
def test_a_bad_number_is_a_usage_error_before_anything_runs(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["apply", "-f", "/nonexistent.json", "-i", "/nonexistent.ini", option, value]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == EXIT_USAGE
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["get pods", "delete pod web"])
def test_every_command_that_connects_checks_its_numbers(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command.split(), "--forks", "0", "--timeout", "1"])
    assert exited.value.code == EXIT_USAGE
    assert "argument --forks: must be from 1 to 1000, got 0" in capsys.readouterr().err


def test_the_limits_themselves_are_accepted() -> None:
    from kubeplay.cli.args import MAX_FORKS, MAX_TIMEOUT
    from kubeplay.cli.main import build_parser

    args = build_parser().parse_args(
        ["apply", "-f", "x", "--forks", str(MAX_FORKS), "--timeout", str(MAX_TIMEOUT), "--max-unavailable", "1"]
    )
    assert (args.forks, args.timeout, args.max_unavailable) == (MAX_FORKS, MAX_TIMEOUT, 1)
    args = build_parser().parse_args(["get", "pods", "--forks", "1", "--timeout", "0.5"])
    assert (args.forks, args.timeout) == (1, 0.5)
