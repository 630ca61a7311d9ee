"""The Docker SDK boundary: a docker.APIClient over kubeplay's own SSH connection, or over a local socket.

docker-py's own ssh:// support opens a paramiko connection of its own; kubeplay wants one connection per minion
per run, so the SDK's SSH adapter is given kubeplay's already-connected (and host-key-verified) client. Each
HTTP connection is then one `docker system dial-stdio` channel on that same SSH transport.
"""

from __future__ import annotations

from typing import Any

import docker
import paramiko
from docker.transport.sshconn import RecentlyUsedContainer, SSHConnectionPool, SSHHTTPAdapter

API_VERSION = "1.41"
"""Docker Engine 20.10; every later engine still speaks it."""
TIMEOUT = 120


class _SharedSSHAdapter(SSHHTTPAdapter):  # type: ignore[misc]
    """docker-py's SSH adapter, on a paramiko client that is already connected."""

    def __init__(self, ssh_client: paramiko.SSHClient) -> None:
        self.ssh_client = ssh_client
        self.ssh_host = "minion"
        self.ssh_params: dict[str, Any] = {}
        self.timeout = TIMEOUT
        self.max_pool_size = 10
        self.pools = RecentlyUsedContainer(1, dispose_func=lambda p: p.close())
        super(SSHHTTPAdapter, self).__init__()

    def get_connection(self, url: str, proxies: Any = None) -> SSHConnectionPool:
        """One pool for every URL (docker-py keys pools by URL, so each new endpoint would start another
        `docker system dial-stdio` on the minion, about 0.1 s each)."""
        with self.pools.lock:
            pool = self.pools.get("minion")
            if pool is None:
                pool = SSHConnectionPool(
                    ssh_client=self.ssh_client, timeout=self.timeout, maxsize=self.max_pool_size, host=self.ssh_host
                )
                self.pools["minion"] = pool
            return pool

    def _connect(self) -> None:
        """Never reconnect behind kubeplay's back: a dropped connection is an unreachable minion."""

    def close(self) -> None:
        self.pools.clear()


def api_over_ssh(ssh_client: paramiko.SSHClient) -> Any:
    # No request is sent at construction: with an explicit version the client does not ask the server.
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version=API_VERSION, timeout=TIMEOUT)
    adapter = _SharedSSHAdapter(ssh_client)
    api._unmount("http+docker://")
    api.mount("http+docker://ssh", adapter)
    api._custom_adapter = adapter
    api.base_url = "http+docker://ssh"
    return api


def api_local(docker_host: str) -> Any:
    return docker.APIClient(base_url=docker_host, version=API_VERSION, timeout=TIMEOUT)
