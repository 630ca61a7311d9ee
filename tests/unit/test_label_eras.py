"""Labels and selectors by era: the v1beta1 form as the Kubernetes v0.4 apiserver accepted it (any text, with a
located warning where today's Kubernetes refuses it), the Kubernetes-style form by today's rules; and such labels
survive Docker's labels and observation intact."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeplay.errors import ManifestError
from kubeplay.kubelet.execute import Environment, MinionExecutor
from kubeplay.kubelet.observe import observe_minion
from kubeplay.manifests import load_manifests
from kubeplay.manifests.objects import _ANNOTATION_RULES, LABEL_ERAS
from kubeplay.model import Container, Port
from kubeplay.names import LABEL_RULES, LABEL_TEXT_MAX
from kubeplay.selectors import format_selector, matches
from tests.unit.builders import pod
from tests.unit.fakes import FakeConnection

GUESTBOOK = Path(__file__).parents[2] / "manifests" / "examples" / "guestbook"
TODAY = "today's Kubernetes refuses it: must consist of letters, digits, '-', '_' and '.'"


def load(tmp_path: Path, name: str, text: str) -> tuple[list[str], list[str]]:
    """(warnings, problems) of loading one manifest file."""
    path = tmp_path / name
    path.write_text(text)
    warnings: list[str] = []
    try:
        load_manifests([str(path)], warnings=warnings)
    except ManifestError as exc:
        return warnings, [str(p) for p in exc.problems]
    return warnings, []


def test_the_v04_guestbook_loads_verbatim_with_one_warning_naming_file_line_object_and_field() -> None:
    warnings: list[str] = []
    desired = load_manifests([str(GUESTBOOK)], warnings=warnings)
    assert warnings == [
        f"{GUESTBOOK}/frontend-controller.json:24: ReplicationController frontendController: "
        "desiredState.podTemplate.labels.uses: value 'redisslave,redis-master' is accepted as the Kubernetes v0.4 "
        f"apiserver accepted it; {TODAY}, and start and end with a letter or digit"
    ]
    frontend = next(rc for rc in desired.controllers if rc.name == "frontendController")
    assert frontend.template.labels == {"name": "frontend", "uses": "redisslave,redis-master"}
    assert [s.name for s in desired.services] == ["redismaster", "redisslave"]


V1BETA1_POD = """{{
  "id": "web",
  "kind": "Pod",
  "apiVersion": "v1beta1",
  "labels": {{
    "name": "web",
    {label}
  }},
  "desiredState": {{"manifest": {{"version": "v1beta1", "containers": [{{"name": "web", "image": "nginx"}}]}}}}
}}
"""
V1_POD = """apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    name: web
    {label}
spec:
  containers:
    - name: web
      image: nginx
"""


@pytest.mark.parametrize(
    ("json_label", "yaml_label", "shown"),
    [
        ('"uses": "redisslave,redis-master"', "uses: redisslave,redis-master", "value 'redisslave,redis-master'"),
        ('"tier": "front end"', "tier: front end", "value 'front end'"),
        ('"release": "-rc1"', "release: -rc1", "value '-rc1'"),
        ('"bad key!": "x"', "bad key!: x", "key 'bad key!'"),
        ('"long": "' + "x" * 64 + '"', "long: " + "x" * 64, "value 'xxxxx"),
    ],
)
def test_a_label_only_today_refuses_is_accepted_in_v1beta1_with_a_warning_and_refused_in_the_v1_form(
    tmp_path: Path, json_label: str, yaml_label: str, shown: str
) -> None:
    warnings, problems = load(tmp_path, "pod.json", V1BETA1_POD.format(label=json_label))
    assert problems == []
    assert len(warnings) == 1 and warnings[0].startswith(f"{tmp_path}/pod.json:7: Pod web: labels.")
    assert f"{shown}" in warnings[0] and "accepted as the Kubernetes v0.4 apiserver accepted it" in warnings[0]
    assert "today's Kubernetes refuses it" in warnings[0]

    warnings, problems = load(tmp_path, "pod.yaml", V1_POD.format(label=yaml_label))
    assert warnings == []
    assert len(problems) == 1 and problems[0].startswith(f"{tmp_path}/pod.yaml:7: Pod web: metadata.labels.")
    assert f"invalid {shown}" in problems[0]


def test_the_form_decides_not_the_file_format(tmp_path: Path) -> None:
    v1_json = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"uses": "a,b"}},\n'
    v1_json += ' "spec": {"containers": [{"name": "web", "image": "nginx"}]}}\n'
    assert load(tmp_path, "v1.json", v1_json)[1] != []
    v1beta1_yaml = "id: web\nkind: Pod\nlabels:\n  uses: a,b\n"
    v1beta1_yaml += "desiredState:\n  manifest:\n    version: v1beta1\n    containers: [{name: web, image: nginx}]\n"
    warnings, problems = load(tmp_path, "v1beta1.yaml", v1beta1_yaml)
    assert problems == [] and len(warnings) == 1 and "v1beta1.yaml:4: Pod web: labels.uses" in warnings[0]
    assert LABEL_ERAS == {"v1beta1": "v0.4", "v1": "current"}


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ('"tier": "front\\tend"', "labels.tier: invalid value 'front\\tend': must be printable text"),
        ('"tier": "\\u001b[2J"', "labels.tier: invalid value '\\x1b[2J': must be printable text"),
        ('"": "x"', "labels.: invalid key '': must not be empty"),
        ('"tier": "' + "x" * (LABEL_TEXT_MAX + 1) + '"', f"must be at most {LABEL_TEXT_MAX} characters"),
    ],
    ids=["tab", "escape", "empty-key", "too-long"],
)
def test_what_no_era_accepts_is_refused_in_v1beta1_too(tmp_path: Path, label: str, problem: str) -> None:
    warnings, problems = load(tmp_path, "pod.json", V1BETA1_POD.format(label=label))
    assert len(problems) == 1 and ":7: Pod web: " in problems[0] and problem in problems[0], problems
    assert warnings == []


def test_v1beta1_selectors_follow_the_same_era_and_select_such_labels(tmp_path: Path) -> None:
    service = '{"id": "frontend", "kind": "Service", "apiVersion": "v1beta1", "port": 80,\n'
    service += ' "selector": {"uses": "redisslave,redis-master"}}\n'
    path = tmp_path / "frontend-service.json"
    path.write_text(service)
    warnings: list[str] = []
    (loaded,) = load_manifests([str(GUESTBOOK), str(path)], warnings=warnings).services[2:]
    assert loaded.selector == {"uses": "redisslave,redis-master"}
    assert any("frontend-service.json:2: Service frontend: selector.uses: value" in w for w in warnings)
    assert matches(loaded.selector, {"name": "frontend", "uses": "redisslave,redis-master"})
    assert not matches(loaded.selector, {"uses": "redisslave"})
    assert format_selector(loaded.selector) == "uses=redisslave,redis-master"


def test_every_label_today_accepts_the_v04_rules_accept_without_warning() -> None:
    v04, today = LABEL_RULES["v0.4"], LABEL_RULES["current"]
    for key, value in [("name", "frontend"), ("example.com/tier", "v1.2_rc-3"), ("a", ""), ("x" * 63, "y" * 63)]:
        assert today.judge("key", key) == (None, None) and today.judge("value", value) == (None, None)
        assert v04.judge("key", key) == (None, None) and v04.judge("value", value) == (None, None)


def test_such_labels_survive_dockers_labels_and_observation_and_are_counted_by_their_selector() -> None:
    labels = {"name": "frontend", "uses": "redisslave,redis-master", "note": 'it\'s "quoted"; $(not run)'}
    frontend = pod("frontend", Container("php-redis", "php", ports=(Port(80),)), labels=labels)
    conn = FakeConnection()
    MinionExecutor(conn, Environment()).create_pod(frontend)
    minion = observe_minion(conn)
    assert minion.warnings == ()
    assert {c.container: c.pod_labels for c in minion.containers} == {"POD": labels, "php-redis": labels}
    assert all(matches({"name": "frontend"}, c.pod_labels) for c in minion.containers)


_LABEL_TEXTS = st.text(alphabet=st.sampled_from("aZ9-_./\n é"), max_size=70) | st.sampled_from(["", "a" * 64])


@settings(max_examples=300, deadline=None)
@given(key=_LABEL_TEXTS, value=_LABEL_TEXTS)
def test_a_label_is_accepted_when_its_key_and_value_are_neither_refused_nor_warned(key: str, value: str) -> None:
    """``LabelRules.accepts`` (remembered per pair, what a string map asks first) says what ``judge`` says, asked
    twice (the second time remembered)."""
    for rules in [*LABEL_RULES.values(), _ANNOTATION_RULES]:
        plain = rules.judge("key", key) == rules.judge("value", value) == (None, None)
        assert rules.accepts(key, value) == plain
        assert rules.accepts(key, value) == plain
