"""The schema as numbered migrations, written once for SQLite and PostgreSQL.

Times are ISO-8601 UTC text with microseconds (``2026-11-28T13:42:29.123456Z``): they sort as
strings and mean the same on both databases. ``{pk}`` is each dialect's auto-increment key.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagegolf.db.clock import now
from imagegolf.db.connection import Database, Transaction
from imagegolf.db.errors import DatabaseError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    common: tuple[str, ...]
    sqlite: tuple[str, ...] = ()
    postgresql: tuple[str, ...] = ()

    def statements(self, dialect: str) -> tuple[str, ...]:
        pk = "INTEGER PRIMARY KEY AUTOINCREMENT" if dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"
        own = self.sqlite if dialect == "sqlite" else self.postgresql
        return tuple(s.replace("{pk}", pk) for s in self.common) + own


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "contests, submissions, jobs, append-only events",
        (
            """CREATE TABLE contests (
                id {pk},
                name TEXT NOT NULL UNIQUE,
                phrase TEXT NOT NULL,
                match TEXT NOT NULL,
                metric TEXT NOT NULL,
                registry TEXT NOT NULL,
                repository TEXT NOT NULL,
                platform TEXT,
                entrant_pattern TEXT NOT NULL,
                entrant_map TEXT NOT NULL,
                starts_at TEXT,
                ends_at TEXT,
                limits TEXT NOT NULL,
                created_at TEXT NOT NULL)""",
            """CREATE TABLE submissions (
                id {pk},
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                entrant TEXT NOT NULL,
                tag TEXT NOT NULL,
                digest TEXT NOT NULL,
                first_seen TEXT NOT NULL,
                via TEXT NOT NULL,
                UNIQUE (contest_id, tag, digest))""",
            "CREATE INDEX submissions_by_digest ON submissions (contest_id, digest)",
            "CREATE INDEX submissions_by_entrant ON submissions (contest_id, entrant, first_seen)",
            """CREATE TABLE jobs (
                id {pk},
                submission_id INTEGER NOT NULL REFERENCES submissions(id),
                kind TEXT NOT NULL DEFAULT 'judge',
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                not_before TEXT NOT NULL,
                lease_owner TEXT,
                lease_expires TEXT,
                created_at TEXT NOT NULL,
                finished_at TEXT)""",
            "CREATE INDEX jobs_claimable ON jobs (state, not_before, id)",
            """CREATE TABLE tag_heads (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                tag TEXT NOT NULL,
                digest TEXT NOT NULL,
                seen_at TEXT NOT NULL,
                PRIMARY KEY (contest_id, tag))""",
            """CREATE TABLE events (
                id {pk},
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                at TEXT NOT NULL,
                kind TEXT NOT NULL,
                submission_id INTEGER REFERENCES submissions(id),
                digest TEXT,
                actor TEXT NOT NULL,
                data TEXT NOT NULL)""",
            "CREATE INDEX events_by_submission ON events (submission_id, id)",
            "CREATE INDEX events_by_contest ON events (contest_id, id)",
            "CREATE INDEX events_by_digest ON events (contest_id, digest)",
        ),
        sqlite=(
            """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
               BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
            """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
               BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
        ),
        postgresql=(
            """CREATE FUNCTION imagegolf_events_append_only() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$""",
            """CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
               FOR EACH ROW EXECUTE FUNCTION imagegolf_events_append_only()""",
        ),
    ),
    Migration(
        2,
        "derived standings, kept in step with the events (built from them on first open)",
        (
            # One row per contest: the last event the derived tables reflect, and running counts.
            """CREATE TABLE standings_meta (
                contest_id INTEGER PRIMARY KEY REFERENCES contests(id),
                applied_event BIGINT NOT NULL,
                submissions BIGINT NOT NULL,
                pending BIGINT NOT NULL,
                ranked BIGINT NOT NULL,
                entrants BIGINT NOT NULL)""",
            # Each submission's effective state, with what a table row shows (one table, no join).
            """CREATE TABLE submission_states (
                submission_id INTEGER PRIMARY KEY REFERENCES submissions(id),
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                entrant TEXT NOT NULL,
                tag TEXT NOT NULL,
                digest TEXT NOT NULL,
                first_seen TEXT NOT NULL,
                via TEXT NOT NULL,
                status TEXT NOT NULL,
                reason TEXT NOT NULL,
                verdict TEXT,
                size BIGINT,
                metrics TEXT,
                judged_at TEXT,
                judged_event BIGINT,
                duplicate_of INTEGER,
                ranked INTEGER NOT NULL)""",
            "CREATE INDEX states_in_order ON submission_states (contest_id, first_seen, submission_id)",
            "CREATE INDEX states_by_entrant ON submission_states "
            "(contest_id, entrant, first_seen, submission_id)",
            "CREATE INDEX states_best ON submission_states "
            "(contest_id, entrant, ranked, size, first_seen, submission_id)",
            "CREATE INDEX states_ranked ON submission_states (contest_id, ranked, first_seen, submission_id)",
            "CREATE INDEX states_by_digest ON submission_states (contest_id, digest)",
            # The manifest and layer digests of each accepted submission (the duplicate rule).
            """CREATE TABLE fingerprints (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                fingerprint TEXT NOT NULL,
                submission_id INTEGER NOT NULL REFERENCES submissions(id),
                position INTEGER NOT NULL,
                PRIMARY KEY (contest_id, fingerprint, submission_id))""",
            "CREATE INDEX fingerprints_of ON fingerprints (submission_id, position)",
            # Each entrant: counts, latest submission, best and place on the board.
            """CREATE TABLE entrant_best (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                entrant TEXT NOT NULL,
                joined TEXT NOT NULL,
                first_submission INTEGER NOT NULL,
                latest INTEGER NOT NULL,
                latest_seen TEXT NOT NULL,
                submissions BIGINT NOT NULL,
                accepted BIGINT NOT NULL,
                best INTEGER,
                size BIGINT,
                reached TEXT,
                place INTEGER,
                PRIMARY KEY (contest_id, entrant))""",
            "CREATE INDEX entrants_by_place ON entrant_best (contest_id, place)",
            "CREATE INDEX entrants_by_best ON entrant_best (contest_id, size, reached, best)",
            "CREATE INDEX entrants_by_joining ON entrant_best (contest_id, joined, first_submission)",
            # The record timeline: the accepted submissions smaller than every one before them.
            """CREATE TABLE records (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                submission_id INTEGER NOT NULL REFERENCES submissions(id),
                first_seen TEXT NOT NULL,
                size BIGINT NOT NULL,
                PRIMARY KEY (contest_id, submission_id))""",
            "CREATE INDEX records_in_order ON records (contest_id, first_seen, submission_id)",
            # Jobs by submission (a submission's latest job).
            "CREATE INDEX jobs_by_submission ON jobs (submission_id, id)",
            # The queue's counts per contest (what every poll of the live page reads), kept by
            # the triggers below in the transaction that moves a job: counting the jobs instead
            # costs as much as the queue is long (100,000 after a re-judge of everything).
            """CREATE TABLE job_counts (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                state TEXT NOT NULL,
                n BIGINT NOT NULL,
                PRIMARY KEY (contest_id, state))""",
            """INSERT INTO job_counts (contest_id, state, n)
               SELECT s.contest_id, j.state, COUNT(*) FROM jobs j JOIN submissions s ON s.id = j.submission_id
               WHERE j.state IN ('queued', 'running') GROUP BY s.contest_id, j.state""",
        ),
        sqlite=(
            """CREATE TRIGGER jobs_counted_in AFTER INSERT ON jobs
               WHEN NEW.state IN ('queued', 'running') BEGIN
               INSERT INTO job_counts (contest_id, state, n)
               VALUES ((SELECT contest_id FROM submissions WHERE id = NEW.submission_id), NEW.state, 1)
               ON CONFLICT (contest_id, state) DO UPDATE SET n = n + 1; END""",
            """CREATE TRIGGER jobs_counted_leave AFTER UPDATE OF state ON jobs
               WHEN OLD.state <> NEW.state AND OLD.state IN ('queued', 'running') BEGIN
               UPDATE job_counts SET n = n - 1 WHERE state = OLD.state
               AND contest_id = (SELECT contest_id FROM submissions WHERE id = OLD.submission_id); END""",
            """CREATE TRIGGER jobs_counted_enter AFTER UPDATE OF state ON jobs
               WHEN OLD.state <> NEW.state AND NEW.state IN ('queued', 'running') BEGIN
               INSERT INTO job_counts (contest_id, state, n)
               VALUES ((SELECT contest_id FROM submissions WHERE id = NEW.submission_id), NEW.state, 1)
               ON CONFLICT (contest_id, state) DO UPDATE SET n = n + 1; END""",
            """CREATE TRIGGER jobs_counted_out AFTER DELETE ON jobs
               WHEN OLD.state IN ('queued', 'running') BEGIN
               UPDATE job_counts SET n = n - 1 WHERE state = OLD.state
               AND contest_id = (SELECT contest_id FROM submissions WHERE id = OLD.submission_id); END""",
        ),
        postgresql=(
            # The two counter rows of a contest are always locked in the same order (queued,
            # then running), so two transactions moving jobs opposite ways never deadlock.
            """CREATE FUNCTION imagegolf_count_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
               DECLARE
                 was TEXT := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.state END;
                 now_ TEXT := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.state END;
                 contest BIGINT;
                 counted TEXT;
               BEGIN
                 IF was IS NOT DISTINCT FROM now_ THEN RETURN NULL; END IF;
                 SELECT contest_id INTO contest FROM submissions
                   WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.submission_id ELSE NEW.submission_id END;
                 FOREACH counted IN ARRAY ARRAY['queued', 'running'] LOOP
                   IF counted = was OR counted = now_ THEN
                     INSERT INTO job_counts (contest_id, state, n)
                     VALUES (contest, counted, CASE WHEN counted = now_ THEN 1 ELSE -1 END)
                     ON CONFLICT (contest_id, state) DO UPDATE SET n = job_counts.n + EXCLUDED.n;
                   END IF;
                 END LOOP;
                 RETURN NULL;
               END $$""",
            """CREATE TRIGGER jobs_counted AFTER INSERT OR DELETE OR UPDATE OF state ON jobs
               FOR EACH ROW EXECUTE FUNCTION imagegolf_count_jobs()""",
        ),
    ),
    Migration(
        3,
        "who entrants are (identity, accounts, a token-signing key) and settings that change",
        (
            # tag: the tag names the entrant (anyone who can push is trusted); registry-user: the
            # registry account that pushed does, the tag is a label.
            "ALTER TABLE contests ADD COLUMN identity TEXT NOT NULL DEFAULT 'tag'",
            # shared: one repository; per-entrant: REPOSITORY/ENTRANT, each writable by its entrant only.
            "ALTER TABLE contests ADD COLUMN repositories TEXT NOT NULL DEFAULT 'shared'",
            "ALTER TABLE contests ADD COLUMN freeze_at TEXT",
            "ALTER TABLE contests ADD COLUMN unfrozen_at TEXT",
            # The registry accounts of a registry imagegolf runs (htpasswd's bcrypt hashes).
            """CREATE TABLE accounts (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                name TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (contest_id, name))""",
            # The token server's key (PEM, ECDSA P-256) and its self-signed certificate, which the
            # registry is given as its ``rootcertbundle``.
            """CREATE TABLE signing_keys (
                contest_id INTEGER PRIMARY KEY REFERENCES contests(id),
                private_key TEXT NOT NULL,
                certificate TEXT NOT NULL,
                created_at TEXT NOT NULL)""",
        ),
    ),
    Migration(
        4,
        "boards: several rankings of one contest's judgements; the derived tables per board",
        (
            # A board is a metric plus filters (judge/boards.py); the first by position is the
            # contest's main board (contests.metric is its metric).
            """CREATE TABLE boards (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                name TEXT NOT NULL,
                title TEXT NOT NULL,
                metric TEXT NOT NULL,
                message TEXT NOT NULL,
                exit TEXT NOT NULL,
                platforms TEXT NOT NULL,
                position INTEGER NOT NULL,
                PRIMARY KEY (contest_id, name))""",
            # Every contest so far had one board: today's rules (anywhere, exit 0, every platform).
            """INSERT INTO boards (contest_id, name, title, metric, message, exit, platforms, position)
               SELECT id, 'main', '', metric, 'anywhere', 'zero', '', 0 FROM contests""",
            # The derived tables gain the board in their keys. They are a cache of the events:
            # dropped here, rebuilt from the events on first use (derived.rebuild_if_stale).
            "DROP TABLE records",
            "DROP TABLE entrant_best",
            "DROP TABLE fingerprints",
            "DROP TABLE submission_states",
            "DROP TABLE standings_meta",
            """CREATE TABLE standings_meta (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                board TEXT NOT NULL,
                applied_event BIGINT NOT NULL,
                submissions BIGINT NOT NULL,
                pending BIGINT NOT NULL,
                ranked BIGINT NOT NULL,
                entrants BIGINT NOT NULL,
                PRIMARY KEY (contest_id, board))""",
            """CREATE TABLE submission_states (
                submission_id INTEGER NOT NULL REFERENCES submissions(id),
                board TEXT NOT NULL,
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                entrant TEXT NOT NULL,
                tag TEXT NOT NULL,
                digest TEXT NOT NULL,
                first_seen TEXT NOT NULL,
                via TEXT NOT NULL,
                status TEXT NOT NULL,
                reason TEXT NOT NULL,
                verdict TEXT,
                size BIGINT,
                metrics TEXT,
                judged_at TEXT,
                judged_event BIGINT,
                duplicate_of INTEGER,
                ranked INTEGER NOT NULL,
                PRIMARY KEY (submission_id, board))""",
            "CREATE INDEX states_in_order ON submission_states "
            "(contest_id, board, first_seen, submission_id)",
            "CREATE INDEX states_by_entrant ON submission_states "
            "(contest_id, board, entrant, first_seen, submission_id)",
            "CREATE INDEX states_best ON submission_states "
            "(contest_id, board, entrant, ranked, size, first_seen, submission_id)",
            "CREATE INDEX states_ranked ON submission_states "
            "(contest_id, board, ranked, first_seen, submission_id)",
            "CREATE INDEX states_by_digest ON submission_states (contest_id, board, digest)",
            """CREATE TABLE fingerprints (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                board TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                submission_id INTEGER NOT NULL REFERENCES submissions(id),
                position INTEGER NOT NULL,
                PRIMARY KEY (contest_id, board, fingerprint, submission_id))""",
            "CREATE INDEX fingerprints_of ON fingerprints (submission_id, board, position)",
            """CREATE TABLE entrant_best (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                board TEXT NOT NULL,
                entrant TEXT NOT NULL,
                joined TEXT NOT NULL,
                first_submission INTEGER NOT NULL,
                latest INTEGER NOT NULL,
                latest_seen TEXT NOT NULL,
                submissions BIGINT NOT NULL,
                accepted BIGINT NOT NULL,
                best INTEGER,
                size BIGINT,
                reached TEXT,
                place INTEGER,
                PRIMARY KEY (contest_id, board, entrant))""",
            "CREATE INDEX entrants_by_place ON entrant_best (contest_id, board, place)",
            "CREATE INDEX entrants_by_best ON entrant_best (contest_id, board, size, reached, best)",
            "CREATE INDEX entrants_by_joining ON entrant_best (contest_id, board, joined, first_submission)",
            """CREATE TABLE records (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                board TEXT NOT NULL,
                submission_id INTEGER NOT NULL REFERENCES submissions(id),
                first_seen TEXT NOT NULL,
                size BIGINT NOT NULL,
                PRIMARY KEY (contest_id, board, submission_id))""",
            "CREATE INDEX records_in_order ON records (contest_id, board, first_seen, submission_id)",
        ),
    ),
    Migration(
        5,
        "outgoing notifications: webhooks and a durable outbox written with the events",
        (
            # Where to POST (the URL is a secret: Slack's and Discord's are credentials), in which
            # format, on which kinds (record, first, verdict) and, for records, which boards
            # (comma-separated; empty: every board); removed ones stay for the record.
            """CREATE TABLE webhooks (
                id {pk},
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                url TEXT NOT NULL,
                format TEXT NOT NULL,
                kinds TEXT NOT NULL,
                boards TEXT NOT NULL,
                site TEXT,
                created_at TEXT NOT NULL,
                removed_at TEXT,
                retry_at TEXT)""",
            "CREATE INDEX webhooks_of ON webhooks (contest_id, removed_at)",
            # One row per (webhook, cause), written in the event's transaction; claimed with a
            # lease as jobs are (db/notify.py).
            """CREATE TABLE notify_outbox (
                id {pk},
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                webhook_id INTEGER NOT NULL REFERENCES webhooks(id),
                event_id BIGINT NOT NULL REFERENCES events(id),
                kind TEXT NOT NULL,
                idempotency_key TEXT NOT NULL UNIQUE,
                entrant TEXT,
                board TEXT,
                submission_id INTEGER REFERENCES submissions(id),
                payload TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_at TEXT NOT NULL,
                lease_owner TEXT,
                lease_expires TEXT,
                last_status INTEGER,
                last_error TEXT,
                created_at TEXT NOT NULL,
                delivered_at TEXT)""",
            "CREATE INDEX notify_due ON notify_outbox (state, next_at, id)",
            "CREATE INDEX notify_of_webhook ON notify_outbox (webhook_id, kind, entrant)",
            "CREATE INDEX notify_of_contest ON notify_outbox (contest_id, id)",
            # Each board's record as the outbox last saw it: a new record is one smaller than this.
            """CREATE TABLE notify_marks (
                contest_id INTEGER NOT NULL REFERENCES contests(id),
                board TEXT NOT NULL,
                metric TEXT NOT NULL,
                submission_id INTEGER,
                size BIGINT,
                PRIMARY KEY (contest_id, board))""",
        ),
    ),
)
LATEST = max(migration.version for migration in MIGRATIONS)


def migrate(database: Database) -> int:
    """Apply the missing migrations, each in its own transaction; return the schema version."""

    def step(tx: Transaction) -> int:
        if tx.dialect == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(7301)")  # one migrator at a time
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = {int(r["version"]) for r in tx.query("SELECT version FROM schema_migrations")}
        current = max(applied, default=0)
        if current > LATEST:
            raise DatabaseError(
                f"{database.url}: schema version {current} is newer than this imagegolf ({LATEST})",
                hint="upgrade imagegolf",
            )
        # Each migration not applied yet, in order (one numbered below another already applied,
        # as when two branches each added one, is applied too).
        for migration in sorted(MIGRATIONS, key=lambda m: m.version):
            if migration.version not in applied:
                for statement in migration.statements(tx.dialect):
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, now()),
                )
        return LATEST

    return database.run(step)
