"""Opening a database: connect (connection.py), then bring the schema up to date (schema.py)."""

from __future__ import annotations

import sqlite3

from imagegolf.db.connection import Database
from imagegolf.db.errors import DatabaseError, DatabaseUnavailable
from imagegolf.db.schema import migrate as apply_migrations
from imagegolf.db.url import DatabaseUrl, parse_database_url


def open_database(url: str | DatabaseUrl, *, retry_s: float = 60.0, migrate: bool = True) -> Database:
    """Connect and bring the schema up to date (migrations are idempotent and serialised)."""
    parsed = url if isinstance(url, DatabaseUrl) else parse_database_url(url)
    database = Database(parsed, retry_s=retry_s)
    try:
        if migrate:
            apply_migrations(database)
    except sqlite3.DatabaseError as error:
        database.close()
        raise DatabaseError(f"{parsed}: not an imagegolf database ({error})") from error
    except DatabaseUnavailable:
        database.close()
        raise
    return database
