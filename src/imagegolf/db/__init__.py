"""The contest's storage: one SQL schema with migrations, on SQLite (default) or PostgreSQL.

``open_database(url)`` connects and migrates; every read or write is a function of a
``Transaction`` run by ``Database.run``, which retries it on a fresh connection when the server
went away (a PostgreSQL restart) and on SQLite's "database is locked". The events table is
append-only: the schema refuses UPDATE and DELETE on it.
"""

from imagegolf.db.connection import Database, Transaction
from imagegolf.db.errors import DatabaseError, DatabaseUnavailable
from imagegolf.db.open import open_database
from imagegolf.db.url import DatabaseUrl, parse_database_url

__all__ = [
    "Database",
    "DatabaseError",
    "DatabaseUnavailable",
    "DatabaseUrl",
    "Transaction",
    "open_database",
    "parse_database_url",
]
