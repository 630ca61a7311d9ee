"""Property-based fuzzing of the manifest and inventory loaders: whatever the input, they either load it or raise
kubeplay's own InputError (ManifestError, InventoryError), never anything else, and every message is one printable
line of bounded length.

Inputs: random JSON/YAML structures (in the shapes manifests and inventories have), the project's own manifests with
random edits, and random INI inventory lines. Examples are bounded so the whole module runs in seconds.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeplay.errors import InputError
from kubeplay.inventory import load_inventory
from kubeplay.manifests import load_manifests
from tests.unit.test_bad_inputs import controls

ROOT = Path(__file__).parents[2]
VALID_MANIFESTS = sorted(
    path
    for folder in (ROOT / "manifests", ROOT / "tests" / "unit" / "data" / "manifests")
    for path in folder.rglob("*")
    if path.is_file()
)
FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
WORK = Path(tempfile.mkdtemp(prefix="kubeplay-fuzz-"))

FIELD_NAMES = [
    "kind", "id", "apiVersion", "metadata", "name", "labels", "spec", "desiredState", "manifest", "containers",
    "image", "ports", "containerPort", "hostPort", "env", "value", "cpu", "memory", "resources", "limits",
    "replicas", "selector", "template", "podTemplate", "items", "volumes", "hostPath", "path", "livenessProbe",
    "httpGet", "port", "protocol", "restartPolicy", "clusterIP", "portalIP", "<<",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["Pod", "Service", "List", "ReplicationController", "v1", "v1beta1", "redis", "500m", "1Gi"]),
    st.text(max_size=30),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=10)), inner, max_size=5),
    ),
    max_leaves=30,
)
EDITS = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=1),
        st.integers(min_value=0, max_value=8),
        st.sampled_from(["", "[", "]", "{", "}", ":", ",", '"', "'", "-", " ", "\n", "\t", "&a", "*a", "<<: ", "!!",
                         "{{", "}}", "{%", "\x1b", "\x00", "9" * 200, "é", "#", "|", ">", "?", "%"]),
    ),
    min_size=1,
    max_size=6,
)  # fmt: skip


def _dump(value: object, form: str) -> str:
    if form == "json":
        return json.dumps(value)
    return yaml.safe_dump(value, allow_unicode=True)


def _load_manifest_text(text: str, name: str) -> None:
    path = WORK / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _loads_or_refuses(lambda: load_manifests([str(path)], stdin=io.StringIO("")))
    _loads_or_refuses(lambda: load_manifests(["-"], stdin=io.StringIO(text)))


def _loads_or_refuses(load: object) -> None:
    assert callable(load)
    try:
        load()
    except InputError as exc:
        for problem in exc.problems:
            shown = str(problem)
            assert not controls(shown), shown
            assert len(shown) < 4000, shown


@FUZZ
@given(value=VALUES, form=st.sampled_from(["json", "yaml"]))
def test_random_structures_load_or_are_refused(value: object, form: str) -> None:
    _load_manifest_text(_dump(value, form), f"random.{form}")


@FUZZ
@given(
    value=st.dictionaries(st.sampled_from(FIELD_NAMES), VALUES, max_size=6),
    kind=st.sampled_from(["Pod", "Service", "ReplicationController", "List"]),
    version=st.sampled_from(["v1", "v1beta1", None]),
)
def test_random_objects_of_each_kind_load_or_are_refused(value: dict[str, object], kind: str, version: str) -> None:
    document: dict[str, object] = {**value, "kind": kind}
    if version:
        document["apiVersion"] = version
    _load_manifest_text(_dump(document, "yaml"), "object.yaml")


def _edited(text: str, edits: list[tuple[float, int, str]]) -> str:
    for where, length, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + length :]
    return text


@FUZZ
@given(source=st.sampled_from(VALID_MANIFESTS), edits=EDITS)
def test_edited_valid_manifests_load_or_are_refused(source: Path, edits: list[tuple[float, int, str]]) -> None:
    _load_manifest_text(_edited(source.read_text(), edits), source.name)


INI_TOKENS = st.sampled_from([
    "[web]", "[web:vars]", "[all:children]", "[web:children]", "web", "m1", "m[1:3]", "m[a:c]", "m[01:10:2]",
    "m1:22", "[::1]:22", "ansible_port=22", "ansible_host=10.0.0.1", "kubeplay_labels='{\"a\": \"b\"}'",
    "kubeplay_cpu=2000", "kubeplay_memory=8Gi", "kubeplay_cordoned=yes", "ansible_connection=local", "=", "#", ";",
    "'", '"', "[", "]", ":", "\x1b", "9" * 50, "kubeplay_portal_net=10.0.0.0/16",
])  # fmt: skip


@FUZZ
@given(lines=st.lists(st.lists(INI_TOKENS, min_size=1, max_size=4).map(" ".join), max_size=8))
def test_random_ini_inventories_load_or_are_refused(lines: list[str]) -> None:
    path = WORK / "hosts"
    path.write_text("\n".join(lines) + "\n")
    _loads_or_refuses(lambda: load_inventory(str(path)))


@FUZZ
@given(value=VALUES, hosts=st.dictionaries(st.sampled_from(["m1", "m[1:2]", "web"]), VALUES, max_size=3))
def test_random_yaml_inventories_and_group_vars_load_or_are_refused(value: object, hosts: dict[str, object]) -> None:
    folder = WORK / "inventory"
    (folder / "group_vars").mkdir(parents=True, exist_ok=True)
    (folder / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": value}}))
    (folder / "group_vars" / "all.yml").write_text(yaml.safe_dump(value))
    _loads_or_refuses(lambda: load_inventory(str(folder)))
