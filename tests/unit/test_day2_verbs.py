"""scale, run, rollout status and export without a cluster: what they write, refuse and compute, and the apply they
end with (the same options as `apply` takes)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest
import yaml

from kubeplay.cli import commands, main
from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from kubeplay.cli.run import controller_manifest, manifest_problems, manifest_text
from kubeplay.manifests import load_manifests
from kubeplay.manifests.objects import MAX_REPLICAS
from kubeplay.model import PodSpec, PodTemplate, ReplicationController, Source
from kubeplay.planner.progress import rollout_progress
from kubeplay.reconcile import Inputs
from tests.unit.builders import Seen, cluster, pod

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = str(ROOT / "tests" / "unit" / "data" / "inventory" / "cluster-ini" / "hosts.ini")


# --- rollout status --------------------------------------------------------------------------------------------


def web(replicas: int, image: str = "httpd:2") -> ReplicationController:
    template = pod("t", labels={"app": "web"}).spec
    spec = PodSpec(tuple(c.__class__(c.name, image) for c in template.containers))
    return ReplicationController(
        "web", {"app": "web"}, replicas, {"app": "web"}, PodTemplate({"app": "web"}, spec), Source("w")
    )


def replica(
    rc: ReplicationController, name: str, minion: str = "m1", *, state: str = "running", project: str = "shop"
) -> Seen:
    return Seen(rc.replica(name), minion, state=state, project=project)


def test_a_rollout_is_done_when_every_replica_runs_the_template() -> None:
    new, old = web(2), web(2, image="httpd:1")
    observed = cluster(replica(new, "web-a"), replica(new, "web-b", "m2"))
    assert rollout_progress(new, observed, "shop").done
    assert rollout_progress(new, observed, "shop").line() == "web: rolled out: 2 of 2 replicas updated and running"
    halfway = cluster(replica(new, "web-a"), replica(old, "web-b", "m2"))
    assert not rollout_progress(new, halfway, "shop").done
    assert rollout_progress(new, halfway, "shop").line() == "web: 1 of 2 replicas updated, 1 of them running; 1 old"


@pytest.mark.parametrize(
    ("seen", "why"),
    [
        (lambda rc: [replica(rc, "web-a"), replica(rc, "web-b", state="exited")], "1 of them running"),
        (lambda rc: [replica(rc, "web-a")], "1 of 2 replicas updated"),
        (lambda rc: [replica(rc, "web-a"), replica(rc, "web-b"), replica(rc, "web-c")], "3 of 2"),
        (lambda rc: [replica(rc, "web-a"), replica(rc, "web-b", project="blog")], "1 of 2"),
    ],
    ids=["one not running", "one missing", "one too many", "one of another project"],
)
def test_a_rollout_is_not_done(seen: object, why: str) -> None:
    rc = web(2)
    progress = rollout_progress(rc, cluster(*seen(rc)), "shop")  # type: ignore[operator]
    assert not progress.done
    assert why in progress.line()


def test_an_unreachable_minion_leaves_the_rollout_unknown() -> None:
    rc = web(1)
    progress = rollout_progress(rc, cluster(replica(rc, "web-a"), unreachable=("m2",)), "shop")
    assert not progress.done
    assert "unknown on unreachable m2" in progress.line()


# --- run -------------------------------------------------------------------------------------------------------


def test_run_writes_a_controller_kubeplay_reads_as_asked(tmp_path: Path) -> None:
    document = controller_manifest("hello", "busybox", 3, [(80, 8080), (9000, 0)], {"app": "hi"})
    text = manifest_text(document, ["kubeplay", "run", "hello\nkind: Pod"])
    assert manifest_problems(text, "hello.yaml") == []
    (tmp_path / "hello.yaml").write_text(text)
    (rc,) = load_manifests([str(tmp_path / "hello.yaml")]).controllers
    assert (rc.name, rc.replicas, rc.selector, rc.template.labels) == ("hello", 3, {"app": "hi"}, {"app": "hi"})
    (container,) = rc.template.spec.containers
    assert (container.name, container.image) == ("hello", "busybox")
    assert [(p.container_port, p.host_port) for p in container.ports] == [(80, 8080), (9000, 0)]
    assert "\nkind: Pod" not in text  # the command line stays one comment line


def run(tmp_path: Path, *extra: str) -> int:
    return main(["run", "hello", "--image", "busybox", "-o", str(tmp_path / "hello.yaml"), "--no-apply", *extra])


def test_run_never_writes_over_a_file_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "-i", INVENTORY) == EXIT_OK
    assert load_manifests([str(tmp_path)]).controllers[0].replicas == 1
    assert run(tmp_path, "--replicas", "2") == EXIT_ERROR
    assert "hello.yaml: exists" in capsys.readouterr().err
    assert load_manifests([str(tmp_path)]).controllers[0].replicas == 1
    assert run(tmp_path, "--replicas", "2", "--force") == EXIT_OK
    assert load_manifests([str(tmp_path)]).controllers[0].replicas == 2


def test_run_refuses_what_kubeplay_would_not_read_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "Web_1", "--image", "busybox", "-l", "tier=a b", "-o", str(tmp_path / "w.yaml")])
    assert code == EXIT_ERROR
    err = capsys.readouterr().err
    assert "w.yaml:5: ReplicationController Web_1: metadata.name: invalid name 'Web_1'" in err
    assert "metadata.labels.tier: invalid value 'a b'" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["--port", "0"], ["--port", "80:x"], ["-l", "novalue"], ["--replicas", "-1"]])
def test_run_usage_errors(argv: list[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "a", "--image", "b", "-o", str(tmp_path / "a.yaml"), *argv])
    assert exited.value.code == EXIT_USAGE


def test_scale_and_run_take_up_to_the_readers_most_replicas() -> None:
    from kubeplay.cli import run as run_verb
    from kubeplay.cli import scale as scale_verb

    assert scale_verb.MAX_REPLICAS == run_verb.MAX_REPLICAS == MAX_REPLICAS


# --- scale -----------------------------------------------------------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A project folder holding the seed's pod and controller."""
    folder = tmp_path / "shop"
    folder.mkdir()
    for name in ("redis.json", "redisController.json"):
        shutil.copy(ROOT / "manifests" / name, folder / name)
    return folder


def test_scale_no_apply_edits_the_file_and_shows_the_diff(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["scale", "rc", "redisController", "--replicas", "3", "-f", str(shop), "-i", INVENTORY, "--no-apply"]
    assert main(argv) == EXIT_OK
    assert load_manifests([str(shop)]).controllers[0].replicas == 3
    out = capsys.readouterr().out
    assert '-     "replicas": 1,\n+     "replicas": 3,' in out


def test_scale_check_shows_the_diff_and_the_plan_as_if_written_and_writes_nothing(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    planned: list[tuple[argparse.Namespace, Inputs | None]] = []

    def apply(args: argparse.Namespace, inputs: Inputs | None = None) -> int:
        planned.append((args, inputs))
        return EXIT_OK

    monkeypatch.setattr(commands, "apply", apply)
    before = (shop / "redisController.json").read_bytes()
    file = str(shop / "redisController.json")
    argv = ["scale", "rc", "redisController", "--replicas", "3", "-f", file, "-i", INVENTORY, "--check"]
    assert main(argv) == EXIT_OK
    assert '+     "replicas": 3,' in capsys.readouterr().out
    assert (shop / "redisController.json").read_bytes() == before
    ((args, inputs),) = planned
    assert args.check and args.filename == [str(shop)]
    assert inputs is not None
    assert [(rc.name, rc.replicas) for rc in inputs.desired.controllers] == [("redisController", 3)]
    assert [p.name for p in inputs.desired.pods] == ["redis"]  # the whole folder, as apply would read it


TEMPLATE = """\
kind: ReplicationController
apiVersion: v1
metadata: {name: web}
spec:
  replicas: {{ n }}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: httpd}]}
"""


def test_scale_refuses_a_template_and_an_unknown_name(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = shop / "web.yaml.j2"
    template.write_text(TEMPLATE)
    extra = ["-e", "n=2", "--no-apply", "-i", INVENTORY]
    assert main(["scale", "rc", "web", "--replicas", "3", "-f", str(shop), *extra]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert f"{template}: web is declared in a template, which kubeplay does not rewrite" in err
    assert main(["scale", "rc", "nope", "--replicas", "3", "-f", str(shop), *extra]) == EXIT_ERROR
    assert "no ReplicationController named 'nope' (found: redisController (" in capsys.readouterr().err


def test_scale_applies_the_file_s_folder_with_apply_s_options(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[argparse.Namespace] = []

    def apply(args: argparse.Namespace, inputs: Inputs | None = None) -> int:
        seen.append(args)
        return EXIT_OK

    monkeypatch.setattr(commands, "apply", apply)
    file = str(shop / "redisController.json")
    argv = ["scale", "rc", "redisController", "--replicas", "2", "-f", file, "-i", INVENTORY, "--yes", "-p", "shop"]
    assert main([*argv, "--max-unavailable", "2", "--lock-timeout", "5", "--forks", "3"]) == EXIT_OK
    (args,) = seen
    assert args.filename == [str(shop)]
    assert (args.yes, args.project, args.max_unavailable, args.lock_timeout, args.forks) == (True, "shop", 2, 5, 3)
    assert (args.inventory, args.every, args.output, args.command) == (INVENTORY, None, "text", "apply")
    assert args.command_line[:2] == ["kubeplay", "scale"]


# --- export ----------------------------------------------------------------------------------------------------


def test_export_writes_the_objects_to_a_file(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "k8s.yaml"
    assert main(["export", "-f", str(shop), "-i", INVENTORY, "-o", str(out)]) == EXIT_OK
    documents = list(yaml.safe_load_all(out.read_text()))
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("Deployment", "redis-controller"),
        ("Pod", "redis"),
    ]
    assert out.read_text().startswith("# Exported by kubeplay")


def test_scale_through_a_link_edits_the_file_it_names_and_keeps_the_link(shop: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "rc.json").symlink_to(shop / "redisController.json")
    argv = ["scale", "rc", "redisController", "--replicas", "4", "-f", str(linked), "-i", INVENTORY, "--no-apply"]
    assert main(argv) == EXIT_OK
    assert (linked / "rc.json").is_symlink()
    assert load_manifests([str(shop / "redisController.json")]).controllers[0].replicas == 4


def test_scale_refuses_a_name_two_files_declare_naming_both(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (shop / "again").mkdir()
    shutil.copy(shop / "redisController.json", shop / "again" / "rc.json")
    before = (shop / "redisController.json").read_bytes()
    argv = ["scale", "rc", "redisController", "--replicas", "2", "-f", str(shop), "-i", INVENTORY, "--no-apply"]
    assert main(argv) == EXIT_ERROR
    err = capsys.readouterr().err
    (duplicate,) = [
        line for line in err.splitlines() if 'duplicate ReplicationController name "redisController"' in line
    ]
    assert str(shop / "again" / "rc.json:2") in duplicate
    assert str(shop / "redisController.json:2") in duplicate
    assert (shop / "redisController.json").read_bytes() == before
