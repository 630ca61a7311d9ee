"""Secret-looking env values: masked by --diff and -o json unless --show-secrets, and never in clear in the labels
kubeplay stores on a pod's containers, while a changed secret still changes the spec hash."""

from __future__ import annotations

import json

import pytest

from kubeplay.cli import render
from kubeplay.dataclass import replace
from kubeplay.model import DEFAULT_PROJECT, Container, EnvVar, ObservedPod, Pod
from kubeplay.planner.pods import Action, Plan
from kubeplay.pods.diff import spec_diff
from kubeplay.pods.dockerspec import app_config, infra_config
from kubeplay.pods.labels import LABEL_SPEC
from kubeplay.pods.secrets import MASK, looks_secret
from kubeplay.pods.spechash import pod_document, pod_hash
from tests.unit.builders import REDIS_IMAGE, Seen, cluster, inventory, pod

PASSWORD = "hunter2-correct-horse"


def with_env(*env: EnvVar) -> Pod:
    return pod("db", Container("db", REDIS_IMAGE, env=env))


DB = with_env(EnvVar("DB_PASSWORD", PASSWORD), EnvVar("MODE", "primary"))
CHANGED = with_env(EnvVar("DB_PASSWORD", "another-secret-value"), EnvVar("MODE", "replica"))


def running(desired: Pod) -> ObservedPod:
    """The pod as it runs on m1, its infra container labelled as kubeplay labels it."""
    labels = infra_config(desired, pod_hash(desired), "pause", {}, DEFAULT_PROJECT).labels
    (found,) = cluster(Seen(desired, extra_labels={LABEL_SPEC: labels[LABEL_SPEC]})).pods
    return found


@pytest.mark.parametrize(
    ("name", "secret"),
    [("DB_PASSWORD", True), ("api_key", True), ("GITHUB_TOKEN", True), ("ClientSecret", True), ("KEYRING", True),
     ("MODE", False), ("PASSWD", False), ("HOME", False)],
)  # fmt: skip
def test_which_names_look_secret(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


def test_the_spec_label_keeps_no_secret_value_in_clear() -> None:
    labels = infra_config(DB, pod_hash(DB), "pause", {}, DEFAULT_PROJECT).labels
    assert all(PASSWORD not in value for value in labels.values())
    env = json.loads(labels[LABEL_SPEC])["spec"]["containers"][0]["env"]
    assert env[1] == {"name": "MODE", "value": "primary"}
    assert env[0]["name"] == "DB_PASSWORD" and env[0]["value"].startswith("pbkdf2-sha256:")
    # the container itself still gets the value: Docker needs it
    assert app_config(DB, DB.spec.containers[0], "h", "infra", [], DEFAULT_PROJECT).env["DB_PASSWORD"] == PASSWORD


def test_a_changed_secret_changes_the_hash_and_the_same_one_does_not() -> None:
    only_secret = with_env(EnvVar("DB_PASSWORD", "another-secret-value"), EnvVar("MODE", "primary"))
    assert pod_hash(only_secret) != pod_hash(DB)
    assert pod_hash(with_env(*DB.spec.containers[0].env)) == pod_hash(DB)
    assert pod_document(only_secret) != pod_document(DB)


def test_diff_says_which_secret_changed_without_either_value() -> None:
    lines = spec_diff(running(DB), CHANGED)
    assert lines == [
        f"- spec.containers[0].env[0].value: {MASK}",
        f"+ spec.containers[0].env[0].value: {MASK}",
        '- spec.containers[0].env[1].value: "primary"',
        '+ spec.containers[0].env[1].value: "replica"',
    ]


def test_show_secrets_shows_the_new_value() -> None:
    lines = spec_diff(running(DB), CHANGED, show_secrets=True)
    assert '+ spec.containers[0].env[0].value: "another-secret-value"' in lines
    assert not any(PASSWORD in line for line in lines)  # the old value is not kept anywhere to show


def test_a_secret_kept_in_clear_by_an_older_kubeplay_is_masked_too() -> None:
    clear = json.dumps({"spec": {"containers": [{"env": [{"name": "DB_PASSWORD", "value": PASSWORD}]}]}})
    (old,) = cluster(Seen(DB, extra_labels={LABEL_SPEC: clear})).pods
    assert not any(PASSWORD in line for line in spec_diff(old, DB))


@pytest.mark.parametrize("show_secrets", [False, True])
def test_json_output_masks_the_diff_unless_asked(show_secrets: bool, capsys: pytest.CaptureFixture[str]) -> None:
    action = Action("replace", "m1", "spec changed", pod="db", desired=CHANGED, observed=running(DB))
    render.plan_json(Plan((action,)), [], inventory("m1"), diff=True, show_secrets=show_secrets)
    out = capsys.readouterr().out
    (planned,) = json.loads(out)["plan"]
    masked = f"+ spec.containers[0].env[0].value: {MASK}"
    shown = '+ spec.containers[0].env[0].value: "another-secret-value"'
    assert (shown if show_secrets else masked) in planned["diff"]
    assert ("another-secret-value" in out) is show_secrets
    assert PASSWORD not in out


def test_text_diff_masks_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    action = Action("replace", "m1", "spec changed", pod="db", desired=CHANGED, observed=running(DB))
    render.pod_plan(Plan((action,)), diff=True, check=True)
    out = capsys.readouterr().out
    assert "another-secret-value" not in out and "<secret: hidden" in out
    render.pod_plan(Plan((action,)), diff=True, check=True, show_secrets=True)
    assert "another-secret-value" in capsys.readouterr().out


def test_replicas_of_a_template_with_a_secret_keep_one_hash() -> None:
    a, b = replace(DB, name="db-1", controller="db"), replace(DB, name="db-2", controller="db")
    assert pod_hash(a) == pod_hash(b)
