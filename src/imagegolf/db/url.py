"""``--db`` values: a file path or ``sqlite:///PATH`` (SQLite), or ``postgresql://…`` (PostgreSQL)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from imagegolf.db.errors import DatabaseError
from imagegolf.errors import Setting

Dialect = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class DatabaseUrl:
    dialect: Dialect
    target: str  # SQLite: the file path; PostgreSQL: a libpq connection URI

    def __str__(self) -> str:
        if self.dialect == "sqlite":
            return self.target
        return re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", self.target)  # never print a password


def parse_database_url(text: str) -> DatabaseUrl:
    if not text:
        raise DatabaseError(
            "the database is not named",
            hint="give a file path or postgresql://user@host/dbname",
            settings=(Setting.DATABASE,),
        )
    if text.startswith(("postgresql://", "postgres://")):
        return DatabaseUrl("postgresql", text)
    if text.startswith("sqlite:"):
        path = re.sub(r"\Asqlite:(//)?", "", text)
        if not path or path == "/":
            raise DatabaseError(f"{text}: no file path", hint="sqlite:///abs/path.db or sqlite:rel/path.db")
        return DatabaseUrl("sqlite", path)
    if re.match(r"\A[a-z][a-z0-9+.-]*://", text):
        raise DatabaseError(
            f"{text.split('://')[0]}: unsupported database", hint="use SQLite (a path) or postgresql://"
        )
    return DatabaseUrl("sqlite", text)
