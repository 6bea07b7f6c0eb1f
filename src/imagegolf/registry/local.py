"""A private Docker Distribution registry (Debian's ``docker-registry``, distribution 2.8.2).

What ``imagegolf demo`` pushes to: storage in a directory of ours, a free port on 127.0.0.1 (or
another listen address), and optionally push notifications to a URL (the contest's
``/hooks/registry``), accounts (``htpasswd``), the contest as its token server (``token``:
per-entrant repositories, contest/tokens.py) and TLS.

The configuration holds the notification token, so it is written 0600 in a directory that is 0700.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from imagegolf.errors import EnvironmentProblem, UsageError
from imagegolf.processes import LOOPBACK, free_port, stop_process

INSTALL_HINT = "install it: sudo apt-get install docker-registry (scripts/setup.sh does)"
HTPASSWD_REALM = "imagegolf"
_WILDCARDS = {"", "0.0.0.0", "::"}


@dataclass(frozen=True)
class TokenAuth:
    """distribution's ``auth: token:`` (registry/auth/token/accesscontroller.go checkOptions: all four
    are required). ``realm``: the token server's URL (the contest's ``/auth/token``); ``service``
    and ``issuer``: what the token's ``aud`` and ``iss`` must say (contest/tokens.py
    ``service_name`` and ``ISSUER``); ``rootcertbundle``: the PEM certificates a token's ``x5c``
    chain must lead to (the contest's, contest/signing.py), read once, at start
    (newAccessController)."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (0600, whatever it was before)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


class LocalRegistry:
    """``docker-registry serve`` on ``host:PORT`` (127.0.0.1 by default); ``stop()`` ends it (storage
    kept if it was given), ``restart()`` starts it again on the same port and storage."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        port: int | None = None,
        notify_url: str | None = None,
        notify_token: str | None = None,
        host: str = LOOPBACK,
        htpasswd: Path | None = None,
        token: TokenAuth | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
        if not Path(binary).exists():
            raise EnvironmentProblem("docker-registry is not installed", hint=INSTALL_HINT)
        if htpasswd is not None and token is not None:
            # configuration/configuration.go: `auth` takes one access controller.
            raise UsageError("a registry takes one of htpasswd and token authentication, not both")
        self.binary = binary
        self._own_dir = directory is None
        self.dir = directory or Path(tempfile.mkdtemp(prefix="imagegolf-registry-"))
        self.port = port or free_port()
        self.listen = host
        # Where clients reach it: a wildcard listen address is reached on loopback here.
        reach = LOOPBACK if host in _WILDCARDS else host
        self.host = f"[{reach}]:{self.port}" if ":" in reach else f"{reach}:{self.port}"
        self.notify_url = notify_url
        self.notify_token = notify_token
        self.htpasswd = htpasswd
        self.token = token
        self.tls = tls
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def config_path(self) -> Path:
        return self.dir / "config.yml"

    def _config(self) -> str:
        # YAML is a superset of JSON: the config is written as JSON, no YAML library needed.
        listen = f"[{self.listen}]:{self.port}" if ":" in self.listen else f"{self.listen}:{self.port}"
        http: dict[str, object] = {"addr": listen, "secret": "imagegolf-local-registry"}
        if self.tls is not None:
            certificate, key = self.tls
            http["tls"] = {"certificate": str(certificate), "key": str(key)}
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.dir / "data")}, "delete": {"enabled": True}},
            "http": http,
        }
        if self.htpasswd is not None:
            config["auth"] = {"htpasswd": {"realm": HTPASSWD_REALM, "path": str(self.htpasswd)}}
        elif self.token is not None:
            config["auth"] = {
                "token": {
                    "realm": self.token.realm,
                    "service": self.token.service,
                    "issuer": self.token.issuer,
                    "rootcertbundle": str(self.token.rootcertbundle),
                }
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
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir.chmod(0o700)  # the configuration holds the notification token
        if self.htpasswd is not None and not self.htpasswd.exists():
            # registry/auth/htpasswd/access.go createHtpasswdFile (v2.8.2): a missing file is made
            # with a user "docker" whose password goes to the log. An empty file: nobody.
            write_private(self.htpasswd, "")
        write_private(self.config_path, self._config())
        log_path = self.dir / "registry.log"
        with log_path.open("ab") as log:
            log_path.chmod(0o600)
            self.proc = subprocess.Popen(
                [self.binary, "serve", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        reach = self.host.rpartition(":")[0].strip("[]")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection((reach, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        tail = log_path.read_text(errors="replace")[-1500:]
        self.stop()
        raise EnvironmentProblem(
            f"docker-registry did not start on {self.host}: {tail.strip() or 'no output'}"
        )

    def restart(self, timeout_s: float = 30.0) -> LocalRegistry:
        """Stop the process and start it again: same port, same storage, the configuration and
        the files it names read anew.

        What distribution 2.8.2 reads only at start needs it: the configuration itself, the token
        ``rootcertbundle`` (registry/auth/token/accesscontroller.go newAccessController) and the
        TLS certificate and key (registry/registry.go ListenAndServe, tls.LoadX509KeyPair). The
        ``htpasswd`` file does not: its access controller re-reads it whenever the file's
        modification time changes (registry/auth/htpasswd/access.go Authorized: "Dynamically
        parsing the latest account list", v2.8.2 as in v2.7), so an added or changed account works
        at once, unless the file was rewritten within the same modification-time tick (a
        filesystem with coarse timestamps), which a restart also covers.
        """
        self._halt()
        return self.start(timeout_s)

    def _halt(self) -> None:
        proc, self.proc = self.proc, None
        stop_process(proc)

    def stop(self) -> None:
        self._halt()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


__all__ = ["HTPASSWD_REALM", "LocalRegistry", "TokenAuth", "write_private"]
