"""A real PostgreSQL server (Debian's) that the tests start themselves, and stop afterwards.

It lives in a fresh directory under /tmp (data directory, unix socket, log), listens on 127.0.0.1
only, on a free port, with trust authentication for the ``postgres`` role, and without fsync: it
is fast and throw-away. As root it runs as the ``postgres`` user (PostgreSQL refuses root).
Missing binaries raise (so the test fails, never skips): CI must have them.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from tests.registry_services import LOOPBACK, free_port
from tests.services import SETUP, stop_process

SERVICE_USER = "postgres"  # the OS user Debian's postgresql package creates
SUPERUSER = "postgres"  # the database role initdb creates
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# Throw-away settings: nothing is flushed to disk. synchronous_commit stays on: with fsync off it
# costs a write() per commit and no fsync, and it keeps every acknowledged commit across kill()
# (with it off, the last ~0.6 s of commits may vanish when the postmaster is SIGKILLed).
FAST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "on",
    "max_connections": "200",
    "log_min_messages": "warning",
    "log_line_prefix": "%m [%p] ",
}


def server_bindir() -> str:
    """The newest Debian server (/usr/lib/postgresql/N/bin), else ``postgres`` and ``initdb`` on PATH."""
    found = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(f"{d}/postgres", os.X_OK) and os.access(f"{d}/initdb", os.X_OK)
    ]
    if found:
        return max(found, key=lambda d: [int(p) for p in re.findall(r"\d+", Path(d).parent.name)] or [0])
    postgres, initdb = shutil.which("postgres"), shutil.which("initdb")
    if postgres and initdb and Path(postgres).parent == Path(initdb).parent:
        return str(Path(postgres).parent)
    raise RuntimeError(
        f"the PostgreSQL server (initdb, postgres in /usr/lib/postgresql/*/bin) is not installed: {SETUP}"
    )


def _children(ppid: int) -> list[int]:
    """The pids whose parent is ``ppid`` (postgres's children each make their own session)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            head, tail = Path(stat).read_text().rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if int(tail.split()[1]) == ppid:
            found.append(int(head.split(" (", 1)[0]))
    return found


def _set_child_subreaper(on: bool) -> None:
    """prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented to us, not to PID 1
    (which, in some containers, never reaps them: they would stay as zombies)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, int(on), 0, 0, 0)


class Postgres:
    """PostgreSQL on 127.0.0.1:``port`` with its data in ``dir``; ``url`` is the admin database.

    ``start()`` initialises the data directory the first time; ``shutdown()`` (fast shutdown),
    ``kill()`` (SIGKILL, a crash) and ``restart()`` keep the data and the port, so ``start()``
    brings the same server back; ``stop()`` shuts it down for good and removes every file.
    """

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.bindir = server_bindir()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self._user = pwd.getpwnam(SERVICE_USER)
            except KeyError:
                raise RuntimeError(
                    f"the {SERVICE_USER!r} user is missing (Debian's postgresql makes it): {SETUP}"
                ) from None
        self.settings = {**FAST_SETTINGS, **(settings or {})}
        self.dir = tempfile.mkdtemp(prefix="igpg-", dir="/tmp")  # short: it holds the unix socket
        self.data = os.path.join(self.dir, "data")
        self.log = Path(self.dir, "postgres.log")
        self.port = free_port()
        self.host = LOOPBACK
        self.url = self.url_for("postgres")
        self.proc: subprocess.Popen[bytes] | None = None
        if self.as_root:
            os.chown(self.dir, self._user.pw_uid, self._user.pw_gid)

    def url_for(self, dbname: str) -> str:
        """A libpq URL (psycopg 3, SQLAlchemy's postgresql+psycopg:// after the scheme) for ``dbname``."""
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    # -- lifecycle --

    def _child(self) -> dict[str, str]:
        """The environment of initdb and postgres (no PG* variables of ours leak in)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", TZ="UTC")
        if self.as_root:
            env.update(HOME=self._user.pw_dir, USER=SERVICE_USER, LOGNAME=SERVICE_USER)
        return env

    @property
    def _uid(self) -> int | None:
        return self._user.pw_uid if self.as_root else None

    @property
    def _gid(self) -> int | None:
        return self._user.pw_gid if self.as_root else None

    def _initdb(self) -> None:
        cmd = [
            f"{self.bindir}/initdb",
            "--pgdata", self.data,
            "--username", SUPERUSER,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-sync",
            "--no-instructions",
        ]  # fmt: skip
        done = subprocess.run(
            cmd, capture_output=True, timeout=120, cwd=self.dir, env=self._child(),
            user=self._uid, group=self._gid, extra_groups=[] if self.as_root else None,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(
                f"initdb failed: {(done.stdout + done.stderr).decode(errors='replace')[-2000:]}"
            )

    def start(self, timeout: float = 60) -> Postgres:
        """Start the server (initialising the data directory the first time) and wait until it answers."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            self._initdb()
        cmd = [
            f"{self.bindir}/postgres",
            "-D", self.data,
            "-p", str(self.port),
            "-c", f"listen_addresses={LOOPBACK}",
            "-c", f"unix_socket_directories={self.dir}",
        ]  # fmt: skip
        for name, value in self.settings.items():
            cmd += ["-c", f"{name}={value}"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir,
                env=self._child(), user=self._uid, group=self._gid,
                extra_groups=[] if self.as_root else None, start_new_session=True,
            )  # fmt: skip
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as e:
                error = e
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"postgres on {self.host}:{self.port} did not start ({error}): {tail}")
            time.sleep(0.05)

    def shutdown(self, timeout: float = 30) -> None:
        """Fast shutdown (SIGINT: clients are disconnected, a checkpoint is written); data is kept."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process(proc, timeout=5)

    def kill(self) -> None:
        """A crash: SIGKILL the postmaster and every backend at once. Data is kept, and ``start()``
        recovers it from the WAL (every acknowledged commit is there); connections break."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        _set_child_subreaper(True)  # the killed backends become our children, and we reap them
        try:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGSTOP)  # no new backend from here on
            backends = _children(proc.pid)
            for pid in [proc.pid, *backends]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait()
            for pid in backends:  # re-parented to us when the postmaster died
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
        finally:
            _set_child_subreaper(False)

    def restart(self, timeout: float = 60) -> Postgres:
        """Shut down and start again on the same data directory and port (existing connections break)."""
        self.shutdown()
        return self.start(timeout)

    def stop(self) -> None:
        """Shut down for good and remove the data directory, socket and log."""
        try:
            self.shutdown()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- databases --

    def new_database(self, name: str | None = None) -> str:
        """CREATE DATABASE (a unique name unless given) and return its URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"database name {name!r}: use lower-case letters, digits and _")
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def started(settings: dict[str, str] | None = None) -> Iterator[Postgres]:
    """A started :class:`Postgres`, always stopped (and its files removed) on exit."""
    server = Postgres(settings)
    try:
        yield server.start()
    finally:
        server.stop()
