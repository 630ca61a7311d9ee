"""The manifest loader: the seed files verbatim, both forms onto one model, files and templates, every bad input."""

from __future__ import annotations

import io
import math
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from kubeplay.errors import ManifestError, Problem
from kubeplay.manifests import load_manifests
from kubeplay.manifests.sources import _json_documents, parse
from kubeplay.model import (
    Container,
    Desired,
    EnvVar,
    Pod,
    PodSpec,
    PodTemplate,
    Port,
    Probe,
    ReplicationController,
    Service,
    ServicePort,
    Source,
    Volume,
    VolumeMount,
)
from kubeplay.names import dns_label_error, image_error, label_key_error, label_value_error, port_name_error
from kubeplay.pods.spechash import pod_hash
from kubeplay.quantities import parse_cpu, parse_memory
from kubeplay.yamlnodes import InvalidDocument, Node, parse_yaml

MANIFESTS = Path(__file__).parents[2] / "manifests"
SEED = (MANIFESTS / "redis.json", MANIFESTS / "redisController.json")
"""The seed walkthrough's two manifests, verbatim (the project keeps its own copies in manifests/)."""
DATA = Path(__file__).parent / "data" / "manifests"
BAD = Path(__file__).parents[1] / "bad" / "manifests"

REDIS = Container(
    name="redis",
    image="dockerfile/redis",
    ports=(Port(container_port=6379, host_port=6379, protocol="TCP"),),
    image_pull_policy="PullIfNotPresent",
)


def problems_of(paths: list[str]) -> list[Problem]:
    with pytest.raises(ManifestError) as caught:
        load_manifests(paths)
    return caught.value.problems


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


# --- the seed, verbatim --------------------------------------------------------------------------------------


def test_seed_pod_loads_verbatim() -> None:
    desired = load_manifests([str(SEED[0])])
    assert desired == Desired(pods=(Pod("redis", {"name": "redis"}, PodSpec((REDIS,)), Source(str(SEED[0]), 1)),))


def test_seed_controller_loads_verbatim() -> None:
    (controller,) = load_manifests([str(SEED[1])]).controllers
    assert controller == ReplicationController(
        name="redisController",
        labels={"name": "redis"},
        replicas=1,
        selector={"name": "redis"},
        template=PodTemplate({"name": "redis"}, PodSpec((REDIS,))),
        source=Source(str(SEED[1]), 1),
    )


@pytest.fixture
def seed_folder(tmp_path: Path) -> Path:
    """A folder as the seed came: its two manifests and a README that is not a manifest."""
    for path in SEED:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "README.md").write_text("# the walkthrough\n")
    return tmp_path


def test_seed_folder_loads_both_objects_in_order(seed_folder: Path) -> None:
    desired = load_manifests([str(seed_folder)])
    assert [p.name for p in desired.pods] == ["redis"]
    assert [c.name for c in desired.controllers] == ["redisController"]
    assert desired.controllers[0].template.spec == desired.pods[0].spec


# --- both forms onto one model -------------------------------------------------------------------------------

GUESTBOOK = PodSpec(
    containers=(
        Container(
            name="php",
            image="kubernetes/example-guestbook-php-redis:v2",
            command=("php", "-S", "0.0.0.0:80"),
            working_dir="/app",
            ports=(Port(80, 8000, "TCP", "0.0.0.0", "http"),),
            env=(EnvVar("GET_HOSTS_FROM", "env"), EnvVar("EMPTY", "")),
            cpu=250,
            memory=64 * 2**20,
            volume_mounts=(VolumeMount("cache", "/tmp/cache"), VolumeMount("logs", "/var/log/php", read_only=True)),
            image_pull_policy="PullAlways",
            liveness_probe=Probe("httpGet", port="http", path="/healthz", initial_delay_seconds=15, timeout_seconds=2),
        ),
        Container(
            name="statsd",
            image="statsd",
            ports=(Port(8125, 8125, "UDP"),),
            cpu=100,
            memory=64 * 2**20,
            liveness_probe=Probe("exec", command=("pgrep", "statsd")),
            privileged=True,
        ),
    ),
    volumes=(Volume("cache"), Volume("logs", "/var/log/guestbook")),
    restart_policy="onFailure",
    node_selector={"disk": "ssd"},
)


@pytest.mark.parametrize(("name", "line"), [("v1beta1_pod.json", 1), ("v1_pod.yaml", 2)])
def test_every_pod_field_maps_onto_the_model(name: str, line: int) -> None:
    (pod,) = load_manifests([str(DATA / name)]).pods
    assert pod == Pod(
        "guestbook", {"name": "guestbook", "example.com/tier": "frontend"}, GUESTBOOK, Source(str(DATA / name), line)
    )


def test_the_same_pod_in_both_forms_has_the_same_hash() -> None:
    (old,) = load_manifests([str(DATA / "v1beta1_pod.json")]).pods
    (new,) = load_manifests([str(DATA / "v1_pod.yaml")]).pods
    assert pod_hash(old) == pod_hash(new)


def _controllers(template_specs: list[str]) -> str:
    """A YAML List of v1 controllers c0, c1, ... whose templates have these specs (one line of YAML flow each)."""
    items = [
        f"- {{apiVersion: v1, kind: ReplicationController, metadata: {{name: c{i}}},\n"
        f"   spec: {{replicas: 1, selector: {{app: c{i}}}, template: {{metadata: {{labels: {{app: c{i}}}}},\n"
        f"   spec: {spec}}}}}}}\n"
        for i, spec in enumerate(template_specs)
    ]
    return "kind: List\napiVersion: v1\nitems:\n" + "".join(items)


def test_templates_alike_are_read_alike_and_each_bad_one_is_reported_where_it_is(tmp_path: Path) -> None:
    good = "{containers: [{name: db, image: redis, ports: [{containerPort: 6379}]}]}"
    other = "{containers: [{name: db, image: redis, ports: [{containerPort: 6380}]}]}"
    bad = "{containers: [{name: db, image: redis, ports: [{containerPort: 99999}]}]}"
    controllers = load_manifests([write(tmp_path, "good.yaml", _controllers([good, good, other]))]).controllers
    first, second, third = (c.template.spec for c in controllers)
    assert first == second == PodSpec((Container("db", "redis", ports=(Port(6379),)),))
    assert third.containers[0].ports == (Port(6380),)
    problems = problems_of([write(tmp_path, "bad.yaml", _controllers([bad, good, bad]))])
    assert [(p.line, p.object, p.field) for p in problems if "out of range" in p.message] == [
        (6, "ReplicationController c0", "items[0].spec.template.spec.containers[0].ports[0].containerPort"),
        (12, "ReplicationController c2", "items[2].spec.template.spec.containers[0].ports[0].containerPort"),
    ]


def test_v1_controller_defaults_selector_and_labels_from_its_template() -> None:
    desired = load_manifests([str(DATA / "v1_controller_and_service.yaml")])
    (controller,) = desired.controllers
    template_labels = {"app": "frontend", "tier": "web"}
    assert (controller.name, controller.replicas) == ("frontend", 3)
    assert controller.selector == controller.labels == controller.template.labels == template_labels
    assert controller.template.spec.containers[0].ports == (Port(80, name="http"),)


def test_v1_service_with_several_ports() -> None:
    path = str(DATA / "v1_controller_and_service.yaml")
    (service,) = load_manifests([path]).services
    assert service == Service(
        name="frontend",
        labels={"app": "frontend"},
        selector={"app": "frontend"},
        ports=(ServicePort(80, "http", "TCP", "http"), ServicePort(9100, 9100, "UDP", "metrics")),
        source=Source(path, 17),
        portal_ip="10.0.0.80",
        session_affinity="ClientIP",
        public_ips=("192.168.56.10",),
    )


def test_v1beta1_service_with_a_named_container_port() -> None:
    path = str(DATA / "v1beta1_service.json")
    (service,) = load_manifests([path]).services
    assert service == Service(
        name="redismaster",
        labels={"name": "redis-master"},
        selector={"name": "redis-master"},
        ports=(ServicePort(10000, "redis"),),
        source=Source(path, 1),
        portal_ip="10.0.0.11",
        public_ips=("192.168.56.11",),
    )


@pytest.mark.parametrize(
    ("text", "ports"),
    [
        ('{"kind": "Service", "id": "s", "port": 80, "selector": {"a": "b"}}', (ServicePort(80, 80),)),
        (
            '{"kind": "Service", "id": "s", "port": 53, "protocol": "UDP", "selector": {"a": "b"}, '
            '"containerPort": 5353}',
            (ServicePort(53, 5353, "UDP"),),
        ),
        (
            "{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {selector: {a: b}, ports: [{port: 80}]}}",
            (ServicePort(80, 80),),
        ),
    ],
)
def test_service_target_port_defaults_to_the_port(tmp_path: Path, text: str, ports: tuple[ServicePort, ...]) -> None:
    (service,) = load_manifests([write(tmp_path, "s.yaml", text)]).services
    assert service.ports == ports


def test_list_items_yaml_anchors_and_merge_keys() -> None:
    desired = load_manifests([str(DATA / "list.yaml")])
    (service,) = desired.services
    (pod,) = desired.pods
    assert (service.name, service.selector, service.source.line) == ("cache", {"app": "cache"}, 5)
    assert pod.labels == {"app": "cache"}
    assert [(c.name, c.image, c.ports[0].container_port) for c in pod.spec.containers] == [
        ("redis", "redis", 6379),
        ("sentinel", "redis", 26379),
    ]


@pytest.mark.parametrize(
    ("limits", "cpu", "memory"),
    [
        ("{cpu: 500m, memory: 128Mi}", 500, 128 * 2**20),
        ("{cpu: '0.5', memory: 1G}", 500, 10**9),
        ("{cpu: 1, memory: 134217728}", 1000, 2**27),
        ("{cpu: 0.25, memory: 1e9}", 250, 10**9),
        ("{}", 0, 0),
    ],
)
def test_v1_resource_limits(tmp_path: Path, limits: str, cpu: int, memory: int) -> None:
    text = f"""apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  containers: [{{name: c, image: busybox, resources: {{limits: {limits}}}}}]
"""
    (pod,) = load_manifests([write(tmp_path, "p.yaml", text)]).pods
    assert (pod.spec.cpu, pod.spec.memory) == (cpu, memory)


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("", "always"),
        (', "restartPolicy": {"always": {}}', "always"),
        (', "restartPolicy": {"never": {}}', "never"),
        (', "restartPolicy": {}', "always"),
    ],
)
def test_v1beta1_restart_policy(tmp_path: Path, text: str, policy: str) -> None:
    manifest = f'{{"id": "p", "desiredState": {{"manifest": {{"containers": [{{"name": "c", "image": "x"}}]{text}}}}}}}'
    (pod,) = load_manifests([write(tmp_path, "p.json", manifest)]).pods
    assert pod.spec.restart_policy == policy


# --- files, directories, stdin and templates -----------------------------------------------------------------


def test_directories_are_read_recursively_in_sorted_order_skipping_other_and_hidden_files() -> None:
    desired = load_manifests([str(DATA / "tree")])
    assert [(p.name, Path(p.source.file).relative_to(DATA).as_posix()) for p in desired.pods] == [
        ("zero", "tree/0.yaml"),
        ("one", "tree/a/one.yml"),
        ("two", "tree/b/two.json"),
    ]


def test_stdin_is_read_for_a_dash_as_json_or_yaml() -> None:
    seed = SEED[0].read_text()
    desired = load_manifests(["-"], stdin=io.StringIO(seed + "\n"))
    assert desired.pods[0].source == Source("<stdin>", 1)
    yaml_pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n"
    assert load_manifests(["-"], stdin=io.StringIO(yaml_pod)).pods[0].name == "p"


@pytest.mark.parametrize(
    ("name", "text"),
    [("e.json", ""), ("e.json", " \n\n"), ("e.yaml", ""), ("e.yml", "# only a comment\n"), ("e.yaml", "---\n---\n")],
)
def test_empty_files_have_no_objects(tmp_path: Path, name: str, text: str) -> None:
    assert load_manifests([write(tmp_path, name, text)]) == Desired()


def test_templates_are_rendered_with_variables() -> None:
    variables = {"app": "web", "image": "nginx:1.7", "ports": [80, 443], "replicas": 4}
    (controller,) = load_manifests([str(DATA / "templated.yaml.j2")], variables).controllers
    containers = controller.template.spec.containers
    assert (controller.name, controller.replicas, controller.selector) == ("web", 4, {"app": "web"})
    assert [(c.name, c.image, c.ports[0].container_port) for c in containers] == [
        ("web-1", "nginx:1.7", 80),
        ("web-2", "nginx:1.7", 443),
    ]


def test_a_json_template_is_parsed_as_json(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.json.j2",
        '{"id": "{{ name }}", "desiredState": {"manifest": {"containers": '
        '[{"name": "c", "image": "x", "cpu": {{ cpu }}}]}}}',
    )
    (pod,) = load_manifests([path], {"name": "templated", "cpu": 250}).pods
    assert (pod.name, pod.spec.cpu) == ("templated", 250)


def test_json_lines_are_right_with_tabs_and_nesting(tmp_path: Path) -> None:
    text = (
        '{\n\t"id": "p",\n\t"desiredState": {\n\t\t"manifest": {\n\t\t\t"containers": [\n\t\t\t\t{"name": "c",\n'
        '\t\t\t\t "image": "x", "ports": [{"containerPort": 99999}]}\n\t\t\t]\n\t\t}\n\t}\n}\n'
    )
    (problem,) = problems_of([write(tmp_path, "p.json", text)])
    assert (problem.line, problem.object, problem.field) == (
        7,
        "Pod p",
        "desiredState.manifest.containers[0].ports[0].containerPort",
    )


def test_json_keeps_json_semantics_for_numbers_and_escapes(tmp_path: Path) -> None:
    text = (
        r'{"id": "p", "labels": {"a": "x\/y"}, "desiredState": {"manifest": {"containers": ['
        r'{"name": "c", "image": "x", "command": ["echo", "\ud83d\ude00"], "memory": 1e7}]}}}'
    )
    warnings: list[str] = []
    (pod,) = load_manifests([write(tmp_path, "p.json", text)], warnings=warnings).pods
    assert pod.labels == {"a": "x/y"}
    assert "labels.a: value 'x/y' is accepted as the Kubernetes v0.4 apiserver accepted it" in warnings[0]
    assert pod.spec.containers[0].command == ("echo", "\N{GRINNING FACE}")
    assert pod.spec.memory == 10**7


def test_a_missing_path_is_a_problem() -> None:
    assert problems_of(["/nonexistent/manifests"]) == [Problem("/nonexistent/manifests", "no such file or directory")]


def test_problem_carries_file_line_object_and_field() -> None:
    path = str(BAD / "host_port_out_of_range.json")
    assert problems_of([path]) == [
        Problem(
            file=path,
            message="port 70000 is out of range 0-65535 (0: not published)",
            line=11,
            object="Pod redis",
            field="desiredState.manifest.containers[0].ports[0].hostPort",
        )
    ]


def test_problems_from_every_file_are_reported_together(seed_folder: Path) -> None:
    problems = problems_of([str(BAD / "missing_image.yaml"), str(seed_folder), str(BAD / "negative_replicas.yaml")])
    assert [(Path(p.file).name, p.field) for p in problems] == [
        ("missing_image.yaml", "spec.containers[0].image"),
        ("negative_replicas.yaml", "spec.replicas"),
    ]


# --- names and quantities ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "value", "valid"),
    [
        (dns_label_error, "redis", True),
        (dns_label_error, "redis-master-2", True),
        (dns_label_error, "a" * 63, True),
        (dns_label_error, "a" * 64, False),
        (dns_label_error, "-redis", False),
        (dns_label_error, "redis-", False),
        (dns_label_error, "Redis", False),
        (dns_label_error, "redis.master", False),
        (dns_label_error, "", False),
        (label_key_error, "name", True),
        (label_key_error, "example.com/tier", True),
        (label_key_error, "app.kubernetes.io/name", True),
        (label_key_error, "a_b.c-d", True),
        (label_key_error, "example.com/", False),
        (label_key_error, "/tier", False),
        (label_key_error, "_tier", False),
        (label_key_error, "Example.com/tier", False),
        (label_key_error, "x" * 64, False),
        (label_value_error, "", True),
        (label_value_error, "v1.2_rc-3", True),
        (label_value_error, "front end", False),
        (label_value_error, "x" * 64, False),
        (port_name_error, "http", True),
        (port_name_error, "http-alt", True),
        (port_name_error, "8080", False),
        (port_name_error, "http--alt", False),
        (port_name_error, "a-very-long-port-name", False),
        (image_error, "dockerfile/redis", True),
        (image_error, "localhost:5000/redis:2.8", True),
        (image_error, "Registry.example.com/team/app@sha256:" + "ab" * 32, True),
        (image_error, "Redis", False),
        (image_error, "redis latest", False),
    ],
)
def test_names(check: object, value: str, valid: bool) -> None:
    assert callable(check)
    assert (check(value) is None) == valid


@pytest.mark.parametrize(
    ("value", "millicores"),
    [("500m", 500), ("0.5", 500), (1, 1000), (0.1, 100), ("2", 2000), ("1.0005", 1001), ("100u", 1), ("1e-1", 100)],
)
def test_parse_cpu(value: str | int | float, millicores: int) -> None:
    assert parse_cpu(value) == millicores


@pytest.mark.parametrize("value", [0, 7, 100, 50_000_000, 10**24 + 1, 10**25 - 1, 10**25, 10**26 + 1, 10**30])
def test_whole_numbers_of_cores_and_bytes_are_what_decimal_makes_of_them(value: int) -> None:
    # (read without decimal up to where its 28 digits are exact: v1beta1's cpu and memory are such numbers)
    assert parse_cpu(value) == math.ceil(Decimal(value) * 1000)
    assert parse_memory(value) == value


def test_whole_numbers_of_cores_and_bytes_need_no_decimal() -> None:
    script = "import sys; from kubeplay.quantities import parse_cpu as c, parse_memory as m; "
    script += "print(c(100), m(50_000_000), 'decimal' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["100000", "50000000", "False"]


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("128Mi", 128 * 2**20),
        ("1Gi", 2**30),
        ("1G", 10**9),
        ("1.5Ki", 1536),
        ("64k", 64000),
        ("1e6", 10**6),
        ("1E3", 1000),
        (1024, 1024),
        ("+10", 10),
    ],
)
def test_parse_memory(value: str | int, size: int) -> None:
    assert parse_memory(value) == size


@pytest.mark.parametrize(
    ("parse", "value", "message"),
    [
        (parse_memory, "128MB", "unknown suffix 'MB'"),
        (parse_memory, "128m", "did you mean 128Mi?"),
        (parse_memory, "-1Gi", "invalid quantity '-1Gi'"),
        (parse_memory, -5, "must not be negative"),
        (parse_cpu, "half", "invalid quantity 'half'"),
        (parse_cpu, True, "expected a number"),
        (parse_cpu, float("inf"), "finite"),
        (parse_cpu, "", "invalid quantity ''"),
    ],
)
def test_bad_quantities(parse: object, value: object, message: str) -> None:
    assert callable(parse)
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):
        parse(value)


def test_valid_json_that_yaml_cannot_compose_still_loads_without_lines(tmp_path: Path) -> None:
    long_label = "example.com/" + "k" * 1100
    text = f'{{"id": "p", "labels": {{"{long_label}": "x"}}, "desiredState": {{"manifest": {{"containers": []}}}}}}'
    problems = problems_of([write(tmp_path, "p.json", text)])
    assert [(p.line, p.field) for p in problems] == [
        (None, f"labels.{long_label}"),
        (None, "desiredState.manifest.containers"),
    ]


@pytest.mark.parametrize(
    "text", ["apiVersion: v1\nkind: List\nitems: []\n", "apiVersion: v1\nkind: List\nmetadata: {resourceVersion: ''}\n"]
)
def test_an_empty_list_has_no_objects(tmp_path: Path, text: str) -> None:
    assert load_manifests([write(tmp_path, "list.yaml", text)]) == Desired()


# --- controllers that would count the same pod ----------------------------------------------------------------


def rc_yaml(name: str, selector: str, labels: str, replicas: int = 1) -> str:
    return (
        f"apiVersion: v1\nkind: ReplicationController\nmetadata: {{name: {name}}}\nspec:\n  replicas: {replicas}\n"
        f"  selector: {{{selector}}}\n  template:\n    metadata: {{labels: {{{labels}}}}}\n"
        "    spec: {containers: [{name: c, image: busybox}]}\n"
    )


def test_the_seed_controller_and_a_web_controller_load_together(tmp_path: Path) -> None:
    web = write(tmp_path, "web.yaml", rc_yaml("web", "app: web", "app: web"))
    desired = load_manifests([str(SEED[0]), str(SEED[1]), web])
    assert [c.name for c in desired.controllers] == ["redisController", "web"]


def test_a_controller_whose_pods_another_selector_matches_is_refused_naming_both(tmp_path: Path) -> None:
    both = write(
        tmp_path,
        "both.yaml",
        rc_yaml("front", "app: web", "app: web") + "---\n" + rc_yaml("back", "app: web", "app: web, tier: db"),
    )
    (problem,) = problems_of([both])
    assert (problem.object, problem.line) == ("ReplicationController front", 1)
    assert problem.message == (
        f"its pods (template labels app=web) are also matched by the selector app=web of ReplicationController back "
        f"({both}:11): both would count them"
    )


def test_a_declared_pod_both_selectors_match_is_refused(tmp_path: Path) -> None:
    rcs = rc_yaml("web", "app: web", "app: web") + "---\n" + rc_yaml("cache", "tier: cache", "tier: cache")
    stray = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: stray, labels: {app: web, tier: cache}}\n"
        "spec: {containers: [{name: c, image: busybox}]}\n"
    )
    path = write(tmp_path, "all.yaml", rcs + "---\n" + stray)
    (problem,) = problems_of([path])
    assert problem.object == "ReplicationController web"
    assert problem.message.startswith(f"pod stray ({path}:") and "ReplicationController cache" in problem.message


def _tree(node: object) -> object:
    """A node's values with their types and lines, to compare two readings exactly (1 is not 1.0 here)."""
    if isinstance(node, list):
        return [_tree(n) for n in node]
    if isinstance(node, Node):
        value = node.value
        if isinstance(value, dict):
            value = {k: _tree(v) for k, v in value.items()}
        elif isinstance(value, list):
            value = _tree(value)
        else:
            value = (type(value).__name__, repr(value))
        return value, node.line, dict(node.key_lines), tuple(node.duplicate_keys)
    return node


JSON_FILES = sorted([*MANIFESTS.rglob("*.json"), *DATA.rglob("*.json")])


@pytest.mark.parametrize("joined", ["{0}", "---\n{0}", "{0}\n---\n{0}", "{0}\n--- \n\n{0}\n---\n{0}"])
def test_a_yaml_file_of_json_documents_is_read_as_json_with_the_nodes_yaml_gives(joined: str) -> None:
    for file in JSON_FILES:
        text = joined.format(file.read_text(encoding="utf-8").strip())
        assert (_json_documents(text) is None) == ("\t" in text), file  # (tabs: read as YAML, below)
        assert _tree(parse(text, "yaml")) == _tree(parse_yaml(text)), file


@pytest.mark.parametrize(
    "text",
    [
        '{"memory": 1e7}',  # an exponent: a number to JSON, the text "1e7" to YAML
        r'{"command": ["\ud83d\ude00"]}',  # an escaped surrogate pair: PyYAML keeps the halves
        '{\n\t"id": "p"\n}',  # a tab: YAML refuses it
        '{"id"\n: "p"}',  # a key's colon on the next line: YAML refuses it
        '{"id": "a\u2028b"}',  # a line break to YAML
        '{"id": "\x7f"}',  # a character YAML refuses
        '{"' + "k" * 1100 + '": 1}',  # a key longer than PyYAML takes
        '{"id": "p"}\n---\n',  # an empty document last
        "# a comment\n{}",
        '{"id": "caf\u00e9"}',  # a character not ASCII: YAML's reading is not checked for it here
    ],
)
def test_json_documents_that_yaml_reads_otherwise_are_still_read_as_yaml(text: str) -> None:
    assert _json_documents(text) is None
    try:
        expected = _tree(parse_yaml(text))
    except InvalidDocument as exc:
        with pytest.raises(InvalidDocument, match=re.escape(str(exc))):
            parse(text, "yaml")
    else:
        assert _tree(parse(text, "yaml")) == expected
