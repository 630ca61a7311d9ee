"""Lab images built from files on this machine, without any registry: root filesystems as tar archives.

- httpd: busybox (static) with its applets; serves /www over HTTP on port 80 and answers with the pod's hostname.
- redis: Debian's real redis-server plus every library ldd lists.
- redis-slave: the redis image plus busybox's shell, replicating from the redismaster service (the v0.4
  guestbook's ``brendanburns/redis-slave``).
- guestbook frontend: busybox httpd and a CGI script doing what the v0.4 guestbook's PHP page did
  (``kubernetes/example-guestbook-php-redis``).
"""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
import tarfile
from pathlib import Path

from kubeplay.dataclass import dataclass
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


def _add_busybox(tar: tarfile.TarFile) -> None:
    """busybox and a symlink for each of its applets in /bin."""
    if not BUSYBOX.exists():
        raise LabError(f"{BUSYBOX} is missing: install busybox-static")
    _add_file(tar, BUSYBOX, "bin/busybox")
    for applet in busybox_applets():
        _add_symlink(tar, f"bin/{applet}", "busybox")


def httpd_image(name: str) -> ImageSpec:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _base_dirs(tar)
        _add_busybox(tar)
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


def _add_redis(tar: tarfile.TarFile) -> None:
    """Debian's redis-server, every library it loads, and its data folder /data."""
    if not REDIS_SERVER.exists():
        raise LabError(f"{REDIS_SERVER} is missing: install redis-server")
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


REDIS_SERVER_COMMAND = (
    "/usr/bin/redis-server",
    *("--protected-mode", "no", "--dir", "/data"),
    *("--repl-diskless-sync-delay", "0"),
)
"""redis-server for the lab: as a master it starts a replica's first sync at once, as the redis of 2014 (2.8)
did (7.0 waits 5 s by default)."""


def redis_image(name: str) -> ImageSpec:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _base_dirs(tar)
        _add_redis(tar)
    return ImageSpec(
        name=name,
        changes=(f"CMD {json.dumps(REDIS_SERVER_COMMAND)}", "EXPOSE 6379", "WORKDIR /data"),
        rootfs=buf.getvalue(),
    )


REDIS_SLAVE_START = f"""#!/bin/sh
# The v0.4 guestbook's redis slave: replicate the master through its service, found in the environment.
exec {shlex.join(REDIS_SERVER_COMMAND)} --slaveof "$REDISMASTER_SERVICE_HOST" "$REDISMASTER_SERVICE_PORT"
"""


def redis_slave_image(name: str) -> ImageSpec:
    """redis-server run by busybox's shell as ``--slaveof $REDISMASTER_SERVICE_HOST $REDISMASTER_SERVICE_PORT``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _base_dirs(tar)
        _add_busybox(tar)
        _add_redis(tar)
        _add_text(tar, "bin/run-slave", REDIS_SLAVE_START, 0o755)
    return ImageSpec(
        name=name,
        changes=('CMD ["/bin/run-slave"]', "EXPOSE 6379", "WORKDIR /data", "ENV PATH=/bin"),
        rootfs=buf.getvalue(),
    )


GUESTBOOK_PAGE = (Path(__file__).parent / "guestbook.sh").read_text
"""The frontend's CGI script (package data), read when the image is built."""
GUESTBOOK_HTTPD_COMMAND = ("httpd", "-f", "-p", "80", "-h", "/www", "-c", "/etc/httpd.conf")
GUESTBOOK_HTTPD_CONF = "*.php:/bin/sh\n"
"""busybox httpd runs /index.php with sh, and a request for / runs /cgi-bin/index.cgi (there is no index.html)."""


def guestbook_frontend_image(name: str) -> ImageSpec:
    """busybox httpd on port 80 serving the guestbook page at / and /index.php, as the PHP image did."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _base_dirs(tar)
        _add_busybox(tar)
        _add_text(tar, "www/index.php", GUESTBOOK_PAGE(), 0o755)
        _add_dir(tar, "www/cgi-bin")
        _add_symlink(tar, "www/cgi-bin/index.cgi", "../index.php")
        _add_text(tar, "etc/httpd.conf", GUESTBOOK_HTTPD_CONF)
    return ImageSpec(
        name=name,
        changes=(f"CMD {json.dumps(GUESTBOOK_HTTPD_COMMAND)}", "EXPOSE 80", "ENV PATH=/bin"),
        rootfs=buf.getvalue(),
    )
