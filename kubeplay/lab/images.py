"""Lab images built from files on this machine, without any registry: root filesystems as tar archives.

- httpd: busybox (static) with its applets; serves /www over HTTP on port 80 and answers with the pod's hostname.
- redis: Debian's real redis-server plus every library ldd lists.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from kubeplay.errors import LabError

BUSYBOX = Path("/bin/busybox")
REDIS_SERVER = Path("/usr/bin/redis-server")


@dataclass(frozen=True)
class ImageSpec:
    name: str
    """Reference to import as, e.g. dockerfile/redis:latest."""
    changes: tuple[str, ...]
    """Dockerfile instructions for `docker import -c`."""
    rootfs: bytes
    """The root filesystem as an uncompressed tar archive."""


def _add_bytes(tar: tarfile.TarFile, dest: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(dest.lstrip("/"))
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, src: Path, dest: str, mode: int = 0o755) -> None:
    _add_bytes(tar, dest, src.read_bytes(), mode)


def _add_dir(tar: tarfile.TarFile, dest: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(dest.lstrip("/"))
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def _add_symlink(tar: tarfile.TarFile, dest: str, target: str) -> None:
    info = tarfile.TarInfo(dest.lstrip("/"))
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def _add_text(tar: tarfile.TarFile, dest: str, text: str, mode: int = 0o644) -> None:
    _add_bytes(tar, dest, text.encode(), mode)


def _base_dirs(tar: tarfile.TarFile) -> None:
    for d in ("bin", "etc", "tmp", "var", "proc", "sys", "dev", "www"):
        _add_dir(tar, d, 0o1777 if d == "tmp" else 0o755)
    _add_text(tar, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    _add_text(tar, "etc/group", "root:x:0:\nnogroup:x:65534:\n")


def busybox_applets() -> list[str]:
    out = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, check=True, text=True).stdout
    return [a for a in out.split() if a and a != "busybox"]


HTTPD_START = """#!/bin/sh
# Answer with this container's hostname (each pod has its own), then serve /www.
hostname > /www/index.html
exec httpd -f -v -p "${PORT:-80}" -h /www
"""


def httpd_image(name: str) -> ImageSpec:
    if not BUSYBOX.exists():
        raise LabError(f"{BUSYBOX} is missing: install busybox-static")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _base_dirs(tar)
        _add_file(tar, BUSYBOX, "bin/busybox")
        for applet in busybox_applets():
            _add_symlink(tar, f"bin/{applet}", "busybox")
        _add_text(tar, "bin/serve-hostname", HTTPD_START, 0o755)
    return ImageSpec(
        name=name,
        changes=('CMD ["/bin/serve-hostname"]', "EXPOSE 80", "ENV PATH=/bin"),
        rootfs=buf.getvalue(),
    )


_LDD_PATH = re.compile(r"(/\S+)")


def shared_libraries(binary: Path) -> list[Path]:
    """Every library `ldd` lists for a dynamically linked program, by the paths the loader will look at."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, check=True, text=True).stdout
    libs: list[Path] = []
    for line in out.splitlines():
        m = _LDD_PATH.search(line.split("=>")[-1])
        if m:
            libs.append(Path(m.group(1)))
    return libs


def redis_image(name: str) -> ImageSpec:
    if not REDIS_SERVER.exists():
        raise LabError(f"{REDIS_SERVER} is missing: install redis-server")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _base_dirs(tar)
        _add_dir(tar, "data")
        _add_file(tar, REDIS_SERVER.resolve(), "usr/bin/redis-server")
        dirs: set[str] = set()
        for lib in shared_libraries(REDIS_SERVER):
            parent = str(lib.parent).lstrip("/")
            parts = parent.split("/")
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    _add_dir(tar, d)
            _add_file(tar, lib.resolve(), str(lib))
    return ImageSpec(
        name=name,
        changes=(
            'CMD ["/usr/bin/redis-server", "--protected-mode", "no", "--dir", "/data"]',
            "EXPOSE 6379",
            "WORKDIR /data",
        ),
        rootfs=buf.getvalue(),
    )
