"""The syntax rules for values that reach Docker or a minion (kubeplay.names): what real manifests use passes."""

from __future__ import annotations

import pytest

from kubeplay.names import host_name_error, http_path_error, image_error, path_error, text_error

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "image",
    [
        "redis",
        "redis:2.8",
        "dockerfile/redis",
        "library/redis:latest",
        "docker.io/library/redis:7.2-alpine",
        "localhost:5000/redis:2.8",
        "localhost/redis",
        "registry.example.com:5000/team/sub-team/app_name__x.y:v1.0_rc-1",
        "Registry.Example.com/team/app",
        f"redis@{DIGEST}",
        f"redis:2.8@{DIGEST}",
        "[::1]:5000/redis",
        "192.168.1.5:5000/app",
        "a" * 255,
    ],
)
def test_real_image_references_pass(image: str) -> None:
    assert image_error(image) is None


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("🙂/redis", "repository name component '🙂'"),
        ("redis:🙂", "tag '🙂'"),
        ("Redis", "must be lower-case"),
        ("redis latest", "whitespace"),
        ("redis\x00", "control characters"),
        ("a" * 256, "at most 255 characters"),
        ("redis:" + "t" * 129, "tag"),
        ("a//b", "component ''"),
        ("redis-", "component 'redis-'"),
        ("redis@md5:abc", "digest 'md5:abc'"),
        ("reg_istry.example.com/app", "registry 'reg_istry.example.com'"),
        ("", "must not be empty"),
    ],
)
def test_image_references_outside_dockers_grammar_fail(image: str, message: str) -> None:
    problem = image_error(image)
    assert problem is not None and message in problem


@pytest.mark.parametrize("path", ["/", "/var/lib/data", "/srv/my data/x", "/a/./b", "/..x/y..", "/a" * 2048])
def test_paths_that_docker_takes_pass(path: str) -> None:
    assert path_error(path) is None


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("data", "absolute"),
        ("/data:rw", "':'"),
        ("/a/../b", "'..'"),
        ("/a/..", "'..'"),
        ("/a\nb", "control"),
        ("/a\x00b", "control"),
        ("/" + "a" * 4096, "at most 4096"),
    ],
)
def test_paths_docker_would_misread_fail(path: str, message: str) -> None:
    problem = path_error(path)
    assert problem is not None and message in problem


def test_probe_paths_and_hosts() -> None:
    assert http_path_error("/healthz?full=1&x=%20") is None
    assert http_path_error("/a b") is not None
    assert http_path_error("/a\r\nHost: evil") is not None
    assert http_path_error("/é") is not None
    assert http_path_error("healthz") is not None
    assert host_name_error("10.0.0.1") is None
    assert host_name_error("web.example.com") is None
    assert host_name_error("web example") is not None
    assert host_name_error("-oProxyCommand=x") is not None


def test_text_for_programs_holds_no_nul() -> None:
    assert text_error("multi\nline\tvalue é") is None
    assert text_error("a\x00b") is not None
