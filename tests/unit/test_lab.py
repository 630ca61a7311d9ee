"""The lab's pure parts: its layout (names, addresses, paths) and the images it builds from files."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile

import pytest

from kubeplay.errors import LabError
from kubeplay.lab.images import (
    BUSYBOX,
    REDIS_SERVER,
    REDIS_SLAVE_START,
    guestbook_frontend_image,
    httpd_image,
    redis_image,
    redis_slave_image,
)
from kubeplay.lab.layout import layout


def test_layout_gives_every_minion_its_own_namespace_address_and_pod_subnet() -> None:
    lab = layout("lab", 3, 7)
    assert lab.bridge == "kpbr-lab" and lab.gateway == "10.77.7.1" and lab.registry == "10.77.7.1:5000"
    assert [m.name for m in lab.minions] == ["minion-1", "minion-2", "minion-3"]
    assert [m.address for m in lab.minions] == ["10.77.7.11", "10.77.7.12", "10.77.7.13"]
    assert [m.pod_subnet for m in lab.minions] == ["172.21.0.1/16", "172.22.0.1/16", "172.23.0.1/16"]
    assert len({m.netns for m in lab.minions}) == 3
    assert all(len(m.veth_host) <= 15 for m in layout("abcdefgh", 20, 0).minions), "Linux limits link names"
    assert lab.minions[0].docker_host == "unix:///run/kubeplay/lab/m1/docker.sock"


@pytest.mark.parametrize("name", ["", "Lab", "1lab", "toolongname", "la_b"])
def test_bad_lab_names_are_refused(name: str) -> None:
    with pytest.raises(LabError, match="lab name"):
        layout(name, 3, 0)


@pytest.mark.parametrize("minions", [0, 21])
def test_the_minion_count_is_bounded(minions: int) -> None:
    with pytest.raises(LabError, match="1 to 20"):
        layout("lab", minions, 0)


def _members(rootfs: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(rootfs)) as tar:
        return {m.name: m for m in tar.getmembers()}


@pytest.mark.skipif(not BUSYBOX.exists(), reason="busybox-static is not installed")
def test_the_httpd_image_is_busybox_with_its_applets_and_a_start_script() -> None:
    image = httpd_image("reg:5000/kubeplay/httpd:latest")
    members = _members(image.rootfs)
    assert members["bin/busybox"].mode & 0o111
    for applet in ("sh", "httpd", "nc", "wget", "sleep"):
        assert members[f"bin/{applet}"].issym() and members[f"bin/{applet}"].linkname == "busybox"
    assert members["bin/serve-hostname"].mode & 0o111
    assert 'CMD ["/bin/serve-hostname"]' in image.changes and "EXPOSE 80" in image.changes


@pytest.mark.skipif(not REDIS_SERVER.exists(), reason="redis-server is not installed")
def test_the_redis_image_carries_redis_server_and_every_library_it_links() -> None:
    members = _members(redis_image("dockerfile/redis:latest").rootfs)
    assert "usr/bin/redis-server" in members
    libs = [name for name in members if ".so" in name]
    assert any("libc.so" in name for name in libs) and any("ld-linux" in name for name in libs)


def test_without_root_the_missing_packages_are_named_and_nothing_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kubeplay.lab import cluster

    monkeypatch.setattr(cluster, "_which", lambda program: None if program in ("dockerd", "sshd") else "/bin/x")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    ran: list[object] = []

    def run(*args: object, **kwargs: object) -> None:
        ran.append(args)

    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(LabError) as failed:
        cluster.ensure_packages(lambda message: None)
    assert "docker.io openssh-server" in str(failed.value) and "apt-get install -y" in str(failed.value)
    assert ran == []


def test_as_root_the_missing_packages_are_installed_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeplay.lab import cluster

    monkeypatch.setattr(cluster, "_which", lambda program: None if program == "docker-registry" else "/bin/x")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    commands: list[list[str]] = []

    class Done:
        returncode = 0
        stderr = ""

    def run(argv: list[str], **kwargs: object) -> Done:
        commands.append(argv)
        return Done()

    monkeypatch.setattr(subprocess, "run", run)
    said: list[str] = []
    cluster.ensure_packages(said.append)
    assert said == ["installing Debian packages: docker-registry"]
    assert commands[-1][:3] == ["apt-get", "install", "-y"] and commands[-1][-1] == "docker-registry"


@pytest.mark.skipif(not (BUSYBOX.exists() and REDIS_SERVER.exists()), reason="busybox-static or redis-server missing")
def test_the_redis_slave_image_replicates_the_master_service_found_in_its_environment() -> None:
    image = redis_slave_image("brendanburns/redis-slave:latest")
    members = _members(image.rootfs)
    assert "usr/bin/redis-server" in members and members["bin/sh"].linkname == "busybox"
    assert members["bin/run-slave"].mode & 0o111 and 'CMD ["/bin/run-slave"]' in image.changes
    assert '--slaveof "$REDISMASTER_SERVICE_HOST" "$REDISMASTER_SERVICE_PORT"' in REDIS_SLAVE_START


@pytest.mark.skipif(not BUSYBOX.exists(), reason="busybox-static is not installed")
def test_the_guestbook_frontend_image_serves_its_page_at_the_root_and_as_index_php() -> None:
    image = guestbook_frontend_image("kubernetes/example-guestbook-php-redis:latest")
    members = _members(image.rootfs)
    assert members["www/index.php"].mode & 0o111 and "index.html" not in {m.rsplit("/", 1)[-1] for m in members}
    assert members["www/cgi-bin/index.cgi"].issym() and members["www/cgi-bin/index.cgi"].linkname == "../index.php"
    assert 'CMD ["httpd", "-f", "-p", "80", "-h", "/www", "-c", "/etc/httpd.conf"]' in image.changes
