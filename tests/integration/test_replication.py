"""Replication controllers and the scheduler, through the CLI, on the lab (issue 4).

Every test starts from a lab without kubeplay pods and leaves none behind (the ``lab`` fixture). Manifests are
written per test in the Kubernetes-style YAML form; the seed pair is used as the user has it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubeplay.lab import cluster, host
from tests.integration.conftest import LAB_NAME, PROJECT, ROOT, SEED, Lab, Run, kubeplay

pytestmark = pytest.mark.integration

EXIT_OK, EXIT_ERROR, EXIT_UNREACHABLE = 0, 1, 4
REDIS_IMAGE = "dockerfile/redis"
REPLICA_NAME = re.compile(r"^(?P<controller>[a-z0-9-]+)-[b-z2-9]{5}$")


# --- helpers ----------------------------------------------------------------------------------------------------


def controller(
    name: str,
    replicas: int,
    *,
    app: str = "",
    host_port: int = 0,
    env: dict[str, str] | None = None,
) -> dict[str, object]:
    """A ReplicationController of Redis pods in the Kubernetes-style form."""
    port: dict[str, object] = {"containerPort": 6379}
    if host_port:
        port["hostPort"] = host_port
    container: dict[str, object] = {
        "name": "redis",
        "image": REDIS_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "ports": [port],
    }
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    labels = {"app": app or name}
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": labels,
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def pod(name: str, labels: dict[str, str]) -> dict[str, object]:
    container = {"name": "redis", "image": REDIS_IMAGE, "imagePullPolicy": "IfNotPresent"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [container]},
    }


def write(path: Path, *objects: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return path


def apply(lab: Lab, *manifests: Path, extra: tuple[str, ...] = ()) -> Run:
    """Apply as one project (PROJECT) unless ``extra`` names one."""
    files = [arg for m in manifests for arg in ("-f", str(m))]
    project = () if "-p" in extra else ("-p", PROJECT)
    return kubeplay("apply", *files, "--yes", *project, *extra, inventory=lab.inventory)


def pods(lab: Lab) -> dict[str, dict[str, object]]:
    """The pods as ``get pods -o json`` shows them, by name."""
    run = kubeplay("get", "pods", "-o", "json", inventory=lab.inventory)
    assert run.code in (EXIT_OK, EXIT_UNREACHABLE), run.stderr
    items = run.json()["items"]
    assert isinstance(items, list)
    return {str(item["id"]): item for item in items}


def running_replicas(lab: Lab, name: str) -> dict[str, str]:
    """Running replicas of a controller: pod name -> minion."""
    return {
        pod_name: str(item["host"])
        for pod_name, item in pods(lab).items()
        if item["controller"] == name and item["status"] == "Running"
    }


def pod_containers(lab: Lab, pod_name: str) -> list[tuple[int, dict[str, object]]]:
    """(minion index, container) of every container of a pod, straight from each minion's dockerd."""
    found = []
    for i in range(lab.size):
        for c in lab.docker(i).containers(all=True, filters={"label": f"kubeplay.pod={pod_name}"}):
            found.append((i, c))
    return found


def remove_by_hand(lab: Lab, pod_name: str) -> None:
    for i, c in pod_containers(lab, pod_name):
        lab.docker(i).remove_container(c["Id"], force=True, v=True)


def stop_app_by_hand(lab: Lab, pod_name: str) -> None:
    for i, c in pod_containers(lab, pod_name):
        labels = c["Labels"]
        assert isinstance(labels, dict)
        if labels.get("kubeplay.container") != "POD":
            lab.docker(i).stop(c["Id"], timeout=1)


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


# --- the seed pair ----------------------------------------------------------------------------------------------


def test_seed_pod_and_controller_together_make_exactly_one_redis_pod_which_comes_back(lab: Lab) -> None:
    seed = (SEED / "redis.json", SEED / "redisController.json")
    first = apply(lab, *seed)
    assert first.code == EXIT_OK, first.stderr
    redis = [item for item in pods(lab).values() if item["labels"] == {"name": "redis"}]
    assert [(p["id"], p["status"]) for p in redis] == [("redis", "Running")]
    assert "redisController: counts 1 pod(s) it does not own: redis" in first.stderr

    again = apply(lab, *seed)
    assert again.code == EXIT_OK, again.stderr
    assert "nothing to change" in again.stdout

    remove_by_hand(lab, "redis")
    after = apply(lab, *seed)
    assert after.code == EXIT_OK, after.stderr
    assert lines_with(after.stdout, "create ") and "pod redis" in after.stdout
    redis = [item for item in pods(lab).values() if item["labels"] == {"name": "redis"}]
    assert [(p["id"], p["status"]) for p in redis] == [("redis", "Running")]


# --- spreading and stable names ---------------------------------------------------------------------------------


def test_three_replicas_spread_over_three_minions_with_stable_names(lab: Lab, tmp_path: Path) -> None:
    rc = write(tmp_path / "web.yaml", controller("web", 3))
    first = apply(lab, rc)
    assert first.code == EXIT_OK, first.stderr
    placed = running_replicas(lab, "web")
    assert sorted(placed.values()) == ["minion-1", "minion-2", "minion-3"], placed
    assert all(REPLICA_NAME.match(name) for name in placed), placed

    again = apply(lab, rc)
    assert again.code == EXIT_OK and "nothing to change" in again.stdout, again.stdout + again.stderr
    assert running_replicas(lab, "web") == placed

    table = kubeplay("get", "pods", inventory=lab.inventory)
    for name, minion in placed.items():
        assert any(name in line and minion in line and "Running" in line for line in table.stdout.splitlines())

    for name in placed:
        remove_by_hand(lab, name)
    rebuilt = apply(lab, rc)
    assert rebuilt.code == EXIT_OK, rebuilt.stderr
    assert set(running_replicas(lab, "web")) == set(placed), "the same cluster gives the same replica names"


# --- unschedulable ----------------------------------------------------------------------------------------------


def test_host_port_replicas_beyond_the_minion_count_are_unschedulable_and_the_rest_is_applied(
    lab: Lab, tmp_path: Path
) -> None:
    manifests = write(
        tmp_path / "redis.yaml",
        controller("cache", 5, host_port=6379),
        pod("loner", {"app": "loner"}),
    )
    run = apply(lab, manifests)
    assert run.code == EXIT_ERROR, run.stdout + run.stderr
    unschedulable = lines_with(run.stderr, "is unschedulable")
    assert len(unschedulable) == 2, run.stderr
    assert all("3 minions: 3 port 6379/TCP taken" in line for line in unschedulable), unschedulable
    assert sorted(running_replicas(lab, "cache").values()) == ["minion-1", "minion-2", "minion-3"]
    assert pods(lab)["loner"]["status"] == "Running"


# --- an unreachable minion --------------------------------------------------------------------------------------


def _stop_minion(lab: Lab, index: int) -> None:
    """Stop a minion's sshd and dockerd, the processes the lab recorded (its containers stop with dockerd and start
    again with it: Docker restart policy)."""
    found = cluster.current(LAB_NAME)
    assert found is not None
    _, record = found
    m = lab.layout.minions[index]
    host.stop_pid(record.pids[f"{m.name}/sshd"], str(m.state_dir / "sshd_config"))
    host.stop_pid(record.pids[f"{m.name}/dockerd"], str(m.docker_socket), timeout=60)


def _restore_lab(lab: Lab) -> None:
    """`kubeplay lab up` repairs a lab whose daemons were stopped."""
    argv = ["lab", "up", "--name", LAB_NAME, "--inventory", str(lab.inventory)]
    proc = subprocess.run(
        [sys.executable, "-m", "kubeplay.cli", *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def minion_3_stoppable(lab: Lab) -> Iterator[Lab]:
    """The lab, restored after the test whatever it stopped."""
    try:
        yield lab
    finally:
        _restore_lab(lab)
        lab.clean()


def test_an_unreachable_minions_replicas_are_replaced_elsewhere_and_trimmed_when_it_is_back(
    minion_3_stoppable: Lab, tmp_path: Path
) -> None:
    lab = minion_3_stoppable
    rc = write(tmp_path / "web.yaml", controller("web", 3))
    assert apply(lab, rc).code == EXIT_OK
    before = running_replicas(lab, "web")
    lost = {name for name, minion in before.items() if minion == "minion-3"}
    assert len(lost) == 1, before

    _stop_minion(lab, 2)
    degraded = apply(lab, rc)
    assert degraded.code == EXIT_UNREACHABLE, degraded.stdout + degraded.stderr
    assert "minion-3 unreachable" in degraded.stderr
    assert "creating 1 (pods on unreachable minion-3 unknown" in degraded.stderr
    assert not lines_with(degraded.stdout, "remove "), "nothing is removed while a minion is unknown"
    elsewhere = running_replicas(lab, "web")
    assert len(elsewhere) == 3 and set(elsewhere.values()) == {"minion-1", "minion-2"}, elsewhere
    assert not lost & set(elsewhere), "a replacement never reuses the name of the pod it replaces"
    assert set(before) - lost <= set(elsewhere), "nothing on the reachable minions is lost"

    _restore_lab(lab)
    back = apply(lab, rc)
    assert back.code == EXIT_OK, back.stdout + back.stderr
    assert lines_with(back.stdout, "remove "), back.stdout
    settled = running_replicas(lab, "web")
    everything = [name for name, item in pods(lab).items() if item["controller"] == "web"]
    assert len(settled) == 3 and len(everything) == 3, (settled, everything)
    assert sorted(settled.values()) == ["minion-1", "minion-2", "minion-3"], "the crowded minion is trimmed"


# --- scaling ----------------------------------------------------------------------------------------------------


def test_scale_up_then_down_removes_not_running_then_crowded_minion_then_newest(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    assert apply(lab, write(path, controller("web", 1))).code == EXIT_OK
    (oldest,) = running_replicas(lab, "web")
    time.sleep(1.1)  # Docker's creation times have whole seconds
    up = apply(lab, write(path, controller("web", 4)))
    assert up.code == EXIT_OK, up.stderr
    assert "web: 1 live, 4 desired: creating 3" in up.stderr
    four = running_replicas(lab, "web")
    per_minion = Counter(four.values())
    assert sorted(per_minion.values()) == [1, 1, 2], four

    crowded = next(m for m, n in per_minion.items() if n == 2)
    stopped = next(name for name, m in sorted(four.items()) if per_minion[m] == 1 and name != oldest)
    stop_app_by_hand(lab, stopped)
    down = apply(lab, write(path, controller("web", 2)))
    assert down.code == EXIT_OK, down.stderr
    removals = lines_with(down.stdout, "remove ")
    assert len(removals) == 2, down.stdout
    assert any(stopped in line and "not running" in line for line in removals), removals
    assert any(f"2 replicas on {crowded}" in line for line in removals), removals
    two = running_replicas(lab, "web")
    assert len(two) == 2 and len(set(two.values())) == 2 and stopped not in two, two

    last = apply(lab, write(path, controller("web", 1)))
    assert last.code == EXIT_OK, last.stderr
    (newest_removal,) = lines_with(last.stdout, "remove ")
    assert "newest" in newest_removal, newest_removal
    assert oldest in two
    assert list(running_replicas(lab, "web")) == [oldest]


# --- rolling update ---------------------------------------------------------------------------------------------


def _rollout_events(stderr: str, controller_name: str) -> list[str]:
    return [line.split(": ", 2)[-1] for line in lines_with(stderr, f"rollout {controller_name}")]


def test_a_changed_template_rolls_out_one_pod_at_a_time_new_running_before_old_removed(
    lab: Lab, tmp_path: Path
) -> None:
    path = tmp_path / "web.yaml"
    assert apply(lab, write(path, controller("web", 2, env={"VERSION": "1"}))).code == EXIT_OK
    old = running_replicas(lab, "web")

    run = apply(lab, write(path, controller("web", 2, env={"VERSION": "2"})))
    assert run.code == EXIT_OK, run.stdout + run.stderr
    assert "rolling out 2 in 2 step(s), at most 1 unavailable" in run.stderr
    events = _rollout_events(run.stderr, "web")
    assert [e.split(": ")[0] for e in events] == ["step 1/2", "step 1/2", "step 2/2", "step 2/2"], events
    assert ["running" in e for e in events] == [True, False, True, False], "new pod running, then old removed"
    assert ["removed" in e for e in events] == [False, True, False, True], events
    new = running_replicas(lab, "web")
    assert len(new) == 2 and not set(new) & set(old), (old, new)
    again = apply(lab, path)
    assert again.code == EXIT_OK and "nothing to change" in again.stdout, again.stdout + again.stderr


def test_a_rollout_with_a_host_port_on_every_minion_replaces_one_pod_in_place_at_a_time(
    lab: Lab, tmp_path: Path
) -> None:
    path = tmp_path / "cache.yaml"
    assert apply(lab, write(path, controller("cache", 3, host_port=6379, env={"VERSION": "1"}))).code == EXIT_OK
    old = running_replicas(lab, "cache")

    run = apply(lab, write(path, controller("cache", 3, host_port=6379, env={"VERSION": "2"})))
    assert run.code == EXIT_OK, run.stdout + run.stderr
    assert "unschedulable" not in run.stderr
    events = _rollout_events(run.stderr, "cache")
    steps = [f"step {n}/3 (in place)" for n in (1, 2, 3)]
    assert [e.split(": ")[0] for e in events] == [s for s in steps for _ in (1, 2)], events
    assert ["removed" in e for e in events] == [True, False] * 3, "old pod removed first, then the new one runs"
    for removed, running in zip(events[::2], events[1::2], strict=True):
        assert removed.split(" on ")[-1] == running.split(" on ")[-1], "the new pod takes the old one's minion"
    new = running_replicas(lab, "cache")
    assert sorted(new.values()) == ["minion-1", "minion-2", "minion-3"], new
    assert not set(new) & set(old)
    again = apply(lab, path)
    assert again.code == EXIT_OK and "nothing to change" in again.stdout, again.stdout + again.stderr


# --- errors and get ---------------------------------------------------------------------------------------------


def test_two_controllers_that_would_count_the_same_pods_are_an_error_naming_both(lab: Lab, tmp_path: Path) -> None:
    manifests = write(tmp_path / "both.yaml", controller("front", 1, app="web"), controller("back", 1, app="web"))
    checked = kubeplay("validate", "-f", str(manifests), inventory=lab.inventory)
    run = apply(lab, manifests)
    assert run.code == checked.code == EXIT_ERROR
    problem = "\n".join(lines_with(run.stderr, "both would count"))
    assert "ReplicationController front" in problem and "ReplicationController back" in problem, run.stderr
    assert lines_with(checked.stderr, "both would count") == lines_with(run.stderr, "both would count")
    assert "nothing was changed" in run.stderr
    assert not any(lab.kubeplay_containers().values())


def test_the_seed_controller_and_a_web_controller_run_side_by_side(lab: Lab, tmp_path: Path) -> None:
    web = write(tmp_path / "web.yaml", controller("web", 2))
    seed = [SEED / "redisController.json", web]
    assert kubeplay("validate", *(a for m in seed for a in ("-f", str(m))), inventory=lab.inventory).code == EXIT_OK
    run = apply(lab, *seed)
    assert run.code == EXIT_OK, run.stderr
    assert len(running_replicas(lab, "web")) == 2
    assert len(running_replicas(lab, "redisController")) == 1


def test_get_replicationcontrollers_shows_id_images_selector_and_running_over_desired(lab: Lab, tmp_path: Path) -> None:
    rc = write(tmp_path / "web.yaml", controller("web", 2))
    assert apply(lab, rc).code == EXIT_OK
    table = kubeplay("get", "replicationcontrollers", "-f", str(rc), inventory=lab.inventory)
    assert table.code == EXIT_OK, table.stderr
    header, row = table.stdout.splitlines()[:2]
    assert header.split() == ["ID", "Image(s)", "Selector", "Replicas"]
    assert row.split() == ["web", REDIS_IMAGE, "app=web", "2"]

    remove_by_hand(lab, sorted(running_replicas(lab, "web"))[0])
    short = kubeplay("get", "rc", "-f", str(rc), inventory=lab.inventory)
    assert short.stdout.splitlines()[1].split() == ["web", REDIS_IMAGE, "app=web", "1/2"]

    without = kubeplay("get", "rc", inventory=lab.inventory)  # what the replicas' containers say: 1 is running
    assert without.code == EXIT_OK, without.stderr
    assert without.stdout.splitlines()[1].split() == ["web", REDIS_IMAGE, "app=web", "1"]
