"""A private Docker Distribution registry (Debian's ``docker-registry``) on 127.0.0.1.

What ``imagegolf demo`` pushes to: storage in a directory of ours, a free loopback port, and
optionally push notifications to a URL (the contest's ``/hooks/registry``).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imagegolf.errors import EnvironmentProblem
from imagegolf.processes import LOOPBACK, free_port, stop_process

INSTALL_HINT = "install it: sudo apt-get install docker-registry (scripts/setup.sh does)"


class LocalRegistry:
    """``docker-registry serve`` on 127.0.0.1:PORT; ``stop()`` ends it (storage kept if it was given)."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        port: int | None = None,
        notify_url: str | None = None,
        notify_token: str | None = None,
    ) -> None:
        binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
        if not Path(binary).exists():
            raise EnvironmentProblem("docker-registry is not installed", hint=INSTALL_HINT)
        self.binary = binary
        self._own_dir = directory is None
        self.dir = directory or Path(tempfile.mkdtemp(prefix="imagegolf-registry-"))
        self.port = port or free_port()
        self.host = f"{LOOPBACK}:{self.port}"
        self.notify_url = notify_url
        self.notify_token = notify_token
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _config(self) -> str:
        # YAML is a superset of JSON: the config is written as JSON, no YAML library needed.
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.dir / "data")}, "delete": {"enabled": True}},
            "http": {"addr": self.host, "secret": "imagegolf-local-registry"},
        }
        if self.notify_url:
            endpoint: dict[str, object] = {
                "name": "imagegolf",
                "url": self.notify_url,
                "timeout": "2s",
                "threshold": 3,
                "backoff": "1s",
                "ignoredmediatypes": ["application/octet-stream"],
            }
            if self.notify_token:
                endpoint["headers"] = {"Authorization": [f"Bearer {self.notify_token}"]}
            config["notifications"] = {"endpoints": [endpoint]}
        return json.dumps(config, indent=2)

    def start(self, timeout_s: float = 30.0) -> LocalRegistry:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "config.yml").write_text(self._config())
        log_path = self.dir / "registry.log"
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "serve", str(self.dir / "config.yml")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection((LOOPBACK, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        tail = log_path.read_text(errors="replace")[-1500:]
        self.stop()
        raise EnvironmentProblem(
            f"docker-registry did not start on {self.host}: {tail.strip() or 'no output'}"
        )

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_process(proc)
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
