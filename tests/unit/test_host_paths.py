"""Host paths by consent: the rule (kubeplay.pods.hostpaths), the inventory variable, the scheduler's predicate,
the planner's replace in place, and the -e protection of the variables that grant it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeplay.cli import main
from kubeplay.cli.exitcodes import EXIT_ERROR, EXIT_OK
from kubeplay.dataclass import replace
from kubeplay.errors import InventoryError
from kubeplay.inventory import load_inventory
from kubeplay.model import Container, Desired, Pod, PodSpec, Volume, VolumeMount
from kubeplay.planner.pods import Options, plan_pods
from kubeplay.planner.scheduler import MinionInfo, get_scheduler
from kubeplay.pods.hostpaths import DATA_FOLDER, host_path_refusal, privileged_path
from tests.unit.builders import Seen, cluster, inventory, pod


def mounting(path: str, name: str = "web") -> Pod:
    """A pod that bind mounts ``path`` from its minion."""
    container = Container("web", "nginx", volume_mounts=(VolumeMount("data", "/data"),))
    return replace(pod(name), spec=PodSpec((container,), (Volume("data", path),)))


@pytest.mark.parametrize(
    "path",
    ["/", "/etc", "/etc/", "/etc/ssl/certs", "//etc", "/proc", "/sys/fs", "/dev/sda", "/var", "/var/run",
     "/run", "/var/run/docker.sock", "/run/docker.sock", "/var/lib", "/var/lib/docker/volumes", "/root/.ssh"],
)  # fmt: skip
def test_the_minion_itself_is_privileged(path: str) -> None:
    assert privileged_path(path)


@pytest.mark.parametrize("path", ["/srv/data", "/var/log/app", "/home/app", DATA_FOLDER, "/etcetera", "/var/lib/app"])
def test_ordinary_folders_are_not_privileged(path: str) -> None:
    assert not privileged_path(path)


def test_consent_rule() -> None:
    assert host_path_refusal(f"{DATA_FOLDER}/web", (), allow_privileged=False) is None
    assert host_path_refusal("/srv/data/web", ("/srv/data",), allow_privileged=False) is None
    assert host_path_refusal("/srv/data", ("/srv/data",), allow_privileged=False) is None
    assert (
        host_path_refusal("/srv/database", ("/srv/data",), False)
        == "hostPath /srv/database not allowed (kubeplay_host_paths)"
    )
    assert host_path_refusal("/srv", ("/srv/data",), False) == "hostPath /srv not allowed (kubeplay_host_paths)"
    assert host_path_refusal("/", ("/",), False) == "privileged hostPath / not allowed (kubeplay_allow_privileged)"
    assert host_path_refusal("/", ("/",), allow_privileged=True) is None
    assert host_path_refusal("/etc", (), True) == "privileged hostPath /etc not allowed (kubeplay_host_paths)"
    both = "privileged hostPath /var/run/docker.sock not allowed (kubeplay_host_paths, kubeplay_allow_privileged)"
    assert host_path_refusal("/var/run//docker.sock", ("/srv",), allow_privileged=False) == both
    # a privileged minion still needs the path listed: allow_privileged is about privileged paths, not every path
    assert host_path_refusal("/srv/data", (), allow_privileged=True) is not None


@pytest.mark.parametrize("scheduler", ["default", "first-fit"])
def test_a_pod_only_goes_where_its_host_paths_are_allowed(scheduler: str) -> None:
    schedule = get_scheduler(scheduler)
    minions = [MinionInfo("a"), MinionInfo("b", host_paths=("/srv",)), MinionInfo("c", host_paths=("/srv/data",))]
    assert schedule([mounting("/srv/data/x")], minions[:2], []).placements == {"web": "b"}
    assert schedule([mounting("/srv/other")], [minions[0], minions[2]], []).unschedulable == {
        "web": "2 minions: 2 hostPath /srv/other not allowed (kubeplay_host_paths)"
    }
    assert schedule([mounting(f"{DATA_FOLDER}/web")], minions[:1], []).placements == {"web": "a"}
    root = [MinionInfo("a", host_paths=("/",), allow_privileged=False), MinionInfo("b", host_paths=("/",))]
    assert schedule([mounting("/")], root, []).placements == {"web": "b"}


def test_a_pod_is_not_replaced_where_its_minion_no_longer_consents() -> None:
    old, new = mounting("/srv/data"), mounting("/etc")
    plan = plan_pods(
        Desired(pods=(new,)),  # the new spec mounts /etc; builders.inventory's minions list no host paths
        cluster(Seen(old, minion="m1")),
        inventory("m1"),
        Options(scheduler=get_scheduler("default")),
    )
    assert plan.actions == ()
    assert [(f.minion, f.pod, f.reason) for f in plan.failures] == [
        (
            "m1",
            "web",
            "cannot be replaced (spec changed): privileged hostPath /etc not allowed "
            "(kubeplay_host_paths, kubeplay_allow_privileged)",
        )
    ]


INVENTORY = """[minions]
m1 ansible_connection=local kubeplay_host_paths='["/srv/data/", "/var//log"]'
m2 ansible_connection=local kubeplay_host_paths=/srv/one
m3 ansible_connection=local
"""


def test_the_inventory_lists_host_paths_per_minion(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    minions = load_inventory(str(tmp_path / "hosts.ini")).minions
    assert [m.host_paths for m in minions] == [("/srv/data", "/var/log"), ("/srv/one",), ()]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("data", "host path 'data' must be an absolute path"),
        ("'[\"/srv/a:b\"]'", "must not contain ':'"),
        ("'[\"/srv/../etc\"]'", "must not contain a '..' component"),
        ("'[1, 2]'", "must be a list of absolute paths"),
    ],
)
def test_bad_host_paths_in_the_inventory(tmp_path: Path, value: str, message: str) -> None:
    (tmp_path / "hosts.ini").write_text(f"m1 ansible_connection=local kubeplay_host_paths={value}\n")
    with pytest.raises(InventoryError, match="kubeplay_host_paths") as raised:
        load_inventory(str(tmp_path / "hosts.ini"))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "extra", ["kubeplay_allow_privileged=yes", "kubeplay_host_paths=/", 'kubeplay_host_paths=["/etc"]']
)
def test_security_variables_cannot_be_set_with_extra_vars(
    extra: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    (tmp_path / "root.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: rooted}\n"
        "spec: {volumes: [{name: r, hostPath: {path: /}}], containers: [{name: c, image: busybox}]}\n"
    )
    argv = ["validate", "-f", str(tmp_path / "root.yaml"), "-i", str(tmp_path / "hosts.ini"), "-p", "paths"]
    assert main([*argv, "-e", extra]) == EXIT_ERROR
    name = extra.partition("=")[0]
    err = capsys.readouterr().err
    assert f"{name} grants pods access to the minions: set it in the inventory (host or group vars), not with -e" in err
    assert main(argv) == EXIT_ERROR
    assert "no minion of the inventory allows this pod" in capsys.readouterr().err
    (tmp_path / "hosts.ini").write_text(
        "m1 ansible_connection=local kubeplay_allow_privileged=yes kubeplay_host_paths=/\n"
    )
    assert main(argv) == EXIT_OK
