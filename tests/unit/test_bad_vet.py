"""Hostile or careless field values, host paths without consent and portal IPs that collide, as `kubeplay validate`
reports them before anything connects: one case per file in tests/bad/vet/, the text of each problem in NAME.expected.

A case is validated with tests/bad/vet/inventory.ini, or with NAME.ini when the case needs an inventory of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeplay.cli import main
from kubeplay.cli.exitcodes import EXIT_ERROR

VET = Path(__file__).parents[1] / "bad" / "vet"
MANIFEST_SUFFIXES = (".json", ".yaml", ".yml", ".j2")


def cases() -> list[Path]:
    return sorted(path for path in VET.iterdir() if path.suffix in MANIFEST_SUFFIXES)


@pytest.mark.parametrize("case", cases(), ids=lambda path: path.name)
def test_validate_reports_each_problem(
    case: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each expected line is in exactly one reported problem, no other problem is reported, and validate fails."""
    monkeypatch.chdir(VET)
    expected = (VET / f"{case.stem}.expected").read_text(encoding="utf-8").splitlines()
    own = VET / f"{case.stem}.ini"
    inventory = own if own.exists() else VET / "inventory.ini"
    code = main(["validate", "-f", case.name, "-i", inventory.name])
    err = capsys.readouterr().err
    problems = [line.strip() for line in err.splitlines() if line.startswith("  ")]
    assert code == EXIT_ERROR
    for line in expected:
        assert sum(line in problem for problem in problems) == 1, f"{line!r} not once in:\n" + err
    assert len(problems) == len(expected), err


def test_every_case_has_its_expected_problems() -> None:
    for case in cases():
        assert (VET / f"{case.stem}.expected").exists(), case.name


def test_validate_and_apply_refuse_portal_ips_with_the_same_check() -> None:
    """What validate reports (portal_problems) is exactly what allocate_portals, at apply time, refuses."""
    from kubeplay.errors import ManifestError
    from kubeplay.manifests import load_manifests
    from kubeplay.proxy.portals import allocate_portals, portal_problems

    services = load_manifests([str(VET / "portal_ips.yaml")]).services
    found = portal_problems(services, "10.9.0.0/16")
    with pytest.raises(ManifestError) as raised:
        allocate_portals(services, {}, "10.9.0.0/16")
    assert raised.value.problems == found
    assert len(found) == 3
