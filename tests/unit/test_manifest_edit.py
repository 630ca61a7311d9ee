"""`scale`'s edit of a manifest file: only the replicas value changes, every other byte stays, and kubeplay's own
reader then reads the new count."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from kubeplay.manifests import load_manifests
from kubeplay.manifests.edit import EditRefused, set_replicas

ROOT = Path(__file__).resolve().parents[2]

COMMENTED_YAML = """\
# The web tier: three of them behind the service.
apiVersion: v1
kind: ReplicationController
metadata:
  name: web        # keep this name: the service selects it
  labels: {app: web}
spec:
  selector:
    app: web
  replicas: 3   # three, for now
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: httpd
        image: 'httpd'      # single-quoted on purpose
        ports: [{containerPort: 80}]
---
# and a pod that stays as it is
apiVersion: v1
kind: Pod
metadata: {name: lone}
spec:
    containers:
        -   name: c
            image: "busybox"
"""


def changed_lines(before: str, after: str) -> list[str]:
    """The lines removed (-) and added (+) between two texts."""
    diff = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def controller_replicas(tmp_path: Path, name: str, text: str) -> dict[str, int]:
    file = tmp_path / name
    file.write_text(text)
    return {rc.name: rc.replicas for rc in load_manifests([str(file)]).controllers}


def test_yaml_keeps_every_comment_quote_and_indent_and_only_the_count_changes(tmp_path: Path) -> None:
    after, old = set_replicas(COMMENTED_YAML, "web.yaml", "web", 5)
    assert old == 3
    assert changed_lines(COMMENTED_YAML, after) == [
        "-  replicas: 3   # three, for now\n",
        "+  replicas: 5   # three, for now\n",
    ]
    assert controller_replicas(tmp_path, "web.yaml", after) == {"web": 5}


def test_yaml_without_replicas_gets_the_line_before_the_first_field_at_its_indent(tmp_path: Path) -> None:
    text = COMMENTED_YAML.replace("  replicas: 3   # three, for now\n", "")
    after, old = set_replicas(text, "web.yaml", "web", 0)
    assert old is None
    assert changed_lines(text, after) == ["+  replicas: 0\n"]
    assert after.index("replicas: 0") < after.index("selector:")
    assert controller_replicas(tmp_path, "web.yaml", after) == {"web": 0}


def test_yaml_keeps_windows_line_ends(tmp_path: Path) -> None:
    text = COMMENTED_YAML.replace("\n", "\r\n")
    after, _ = set_replicas(text, "web.yaml", "web", 7)
    assert after == text.replace("replicas: 3 ", "replicas: 7 ")
    without = text.replace("  replicas: 3   # three, for now\r\n", "")
    inserted, _ = set_replicas(without, "web.yaml", "web", 2)
    assert inserted == without.replace("spec:\r\n", "spec:\r\n  replicas: 2\r\n", 1)


def test_json_seed_controller_changes_one_value_in_place() -> None:
    text = (ROOT / "manifests" / "redisController.json").read_text()
    after, old = set_replicas(text, "redisController.json", "redisController", 4)
    assert old == 1
    assert changed_lines(text, after) == ['-     "replicas": 1,\n', '+     "replicas": 4,\n']


def test_json_without_replicas_gets_it_as_first_key_with_the_file_s_spacing(tmp_path: Path) -> None:
    text = (ROOT / "manifests" / "redisController.json").read_text().replace('"replicas": 1,\n     ', "")
    after, old = set_replicas(text, "rc.json", "redisController", 2)
    assert old is None
    assert after == text.replace('"desiredState": {\n     ', '"desiredState": {\n     "replicas": 2,\n     ', 1)
    assert controller_replicas(tmp_path, "rc.json", after) == {"redisController": 2}


def test_json_list_item_is_found_by_name_and_other_items_are_untouched() -> None:
    text = (
        '{"kind": "List", "items": [\n'
        '  {"kind": "ReplicationController", "id": "a", "desiredState": {"replicas": 1, "x": {"replicas": 9}}},\n'
        '  {"kind": "ReplicationController", "id": "b", "desiredState": {"replicas": 1}}\n'
        "]}\n"
    )
    after, _ = set_replicas(text, "list.json", "b", 6)
    assert after == text.replace(
        '"id": "b", "desiredState": {"replicas": 1}', '"id": "b", "desiredState": {"replicas": 6}'
    )


@pytest.mark.parametrize(
    ("file", "text", "name", "message"),
    [
        ("web.yaml", COMMENTED_YAML, "nope", "no ReplicationController named 'nope'"),
        ("two.yaml", COMMENTED_YAML + "---\n" + COMMENTED_YAML.split("---\n")[0], "web", "2 ReplicationControllers"),
        ("flow.yaml", "kind: ReplicationController\nmetadata: {name: f}\nspec: {selector: {a: b}}\n", "f", "by hand"),
        ("odd.json", '{"kind": "ReplicationController", "id": "o", "desiredState": {"replicas": "2"}}', "o", "whole"),
    ],
)
def test_refused_with_the_reason(file: str, text: str, name: str, message: str) -> None:
    with pytest.raises(EditRefused) as refused:
        set_replicas(text, file, name, 2)
    assert message in refused.value.message
