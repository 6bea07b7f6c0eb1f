"""Connections: one per thread, transactions as functions, retried when the server goes away.

open.py opens a database and migrates it (schema.py); this module knows nothing of the schema.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from imagegolf.db.errors import DatabaseError, DatabaseUnavailable
from imagegolf.db.url import DatabaseUrl

T = TypeVar("T")
Row = dict[str, Any]
_log = logging.getLogger(__name__)
SQLITE_BUSY_MS = 30_000


class Transaction:
    """One open transaction. SQL is written once, with ``?`` placeholders, for both dialects."""

    def __init__(self, cursor: Any, dialect: str) -> None:
        self._cursor = cursor
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":  # psycopg's paramstyle is %s; a literal % must be doubled
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._cursor.execute(self._sql(sql), tuple(params))
        return int(self._cursor.rowcount)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        if rows:
            self._cursor.executemany(self._sql(sql), [tuple(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cursor.execute(self._sql(sql), tuple(params))
        columns = [c[0] for c in self._cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in self._cursor.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT … RETURNING id; None when ON CONFLICT DO NOTHING skipped it."""
        row = self.one(sql + " RETURNING id", params)
        return None if row is None else int(row["id"])


class Database:
    """A database URL and this thread's connection to it. Safe to share between threads."""

    def __init__(self, url: DatabaseUrl, *, retry_s: float = 60.0) -> None:
        self.url = url
        self.dialect = url.dialect
        self.retry_s = retry_s
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            for connection in self._all:
                with contextlib.suppress(Exception):  # closing a dead connection
                    connection.close()
            self._all.clear()
        self._local = threading.local()

    def close_thread(self) -> None:
        """Close the calling thread's connection: a short-lived thread calls it before it ends
        (its connection would otherwise stay open, listed in ``_all``, until :meth:`close`)."""
        self._drop_connection()

    def run(self, work: Callable[[Transaction], T], *, write: bool = True) -> T:
        """Run ``work`` in one transaction; on a lost connection, reconnect and run it again.

        ``work`` must be safe to run twice (a commit whose reply was lost): every write here is
        guarded by a unique key or a state check.
        """
        deadline = time.monotonic() + self.retry_s
        delay = 0.1
        while True:
            try:
                return self._run_once(work, write)
            except Exception as error:
                if not self._transient(error):
                    raise
                self._drop_connection()
                if time.monotonic() >= deadline:
                    raise DatabaseUnavailable(
                        f"the database {self.url} is unreachable: {error}",
                        hint=f"is the server running? imagegolf retried for {self.retry_s:.0f} s",
                    ) from error
                _log.warning("database: %s; retrying in %.1f s", error, delay)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _run_once(self, work: Callable[[Transaction], T], write: bool) -> T:
        connection = self._connection()
        if self.dialect == "sqlite":
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # IMMEDIATE: take the write lock now
            try:
                result = work(Transaction(cursor, "sqlite"))
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
            return result
        with connection.transaction(), connection.cursor() as cursor:
            return work(Transaction(cursor, "postgresql"))

    def _transient(self, error: Exception) -> bool:
        if isinstance(error, sqlite3.OperationalError):
            return "locked" in str(error) or "busy" in str(error)
        if self.dialect == "postgresql":
            import psycopg

            return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
        return False

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                if connection in self._all:
                    self._all.remove(connection)
            with contextlib.suppress(Exception):
                connection.close()

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            path = Path(self.url.target)
            if not path.parent.exists():
                raise DatabaseError(f"{path}: the directory {path.parent} does not exist")
            connection = sqlite3.connect(
                path, timeout=SQLITE_BUSY_MS / 1000, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")  # readers do not block the one writer
            connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA synchronous=NORMAL")
            return connection
        try:
            import psycopg
        except ImportError as error:  # pragma: no cover - a dependency of the package
            raise DatabaseError("PostgreSQL needs psycopg", hint="pip install 'psycopg[binary]'") from error
        return psycopg.connect(self.url.target, autocommit=True, connect_timeout=5)
