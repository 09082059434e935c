"""Numbered migrations of the records database and the code that applies them.

Each migration is a list of SQL statements applied in one transaction; the version
reached is kept in ``schema_version``. A file written by a newer CellDeck is refused.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE schema_version (
            version INTEGER NOT NULL,
            applied_utc TEXT NOT NULL
        )""",
        # The GMP audit trail: append-only, hash-chained (see app/store/audit.py).
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            ts_utc TEXT NOT NULL,
            tz TEXT NOT NULL,
            user_id TEXT NOT NULL,
            user_name TEXT NOT NULL,
            action TEXT NOT NULL,
            object_type TEXT NOT NULL,
            object_id TEXT NOT NULL,
            old_value TEXT,
            new_value TEXT,
            reason TEXT,
            workstation TEXT NOT NULL,
            run_id INTEGER,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        )""",
        """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
           BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: UPDATE refused'); END""",
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
           BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: DELETE refused'); END""",
        # The newest entry, kept by the database itself: a tail cut off shows here.
        """CREATE TABLE audit_head (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            count INTEGER NOT NULL,
            last_id INTEGER NOT NULL,
            last_hash TEXT NOT NULL
        )""",
        "INSERT INTO audit_head (id, count, last_id, last_hash) VALUES (1, 0, 0, '"
        + "0" * 64
        + "')",
        """CREATE TRIGGER audit_head_follows AFTER INSERT ON audit
           BEGIN UPDATE audit_head SET count = count + 1, last_id = NEW.id,
                 last_hash = NEW.hash WHERE id = 1; END""",
        # Where the last full verification got to, so start-up checks only what is new.
        """CREATE TABLE audit_checkpoint (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_id INTEGER NOT NULL,
            last_hash TEXT NOT NULL,
            verified_utc TEXT NOT NULL
        )""",
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            full_name TEXT NOT NULL,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            password_changed_utc TEXT NOT NULL,
            must_change INTEGER NOT NULL DEFAULT 1,
            failed_attempts INTEGER NOT NULL DEFAULT 0,
            locked INTEGER NOT NULL DEFAULT 0,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_utc TEXT NOT NULL
        )""",
        """CREATE TABLE password_history (
            user_id INTEGER NOT NULL REFERENCES users(id),
            password_hash TEXT NOT NULL,
            set_utc TEXT NOT NULL
        )""",
        "CREATE TRIGGER users_no_delete BEFORE DELETE ON users "
        "BEGIN SELECT RAISE(ABORT, 'accounts are disabled, never deleted'); END",
    ],
    2: [
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            batch_id TEXT NOT NULL,
            started_utc TEXT NOT NULL,
            ended_utc TEXT,
            state TEXT NOT NULL,
            instrument_serial TEXT,
            firmware TEXT,
            kit_id TEXT
        )""",
        # One row per telemetry sample: t_ms is process time since the run started
        # (continuous across firmware resets); vals holds every channel as float64.
        """CREATE TABLE samples (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            t_ms INTEGER NOT NULL,
            boot INTEGER NOT NULL,
            t_inst INTEGER NOT NULL,
            utc REAL NOT NULL,
            vals BLOB NOT NULL,
            PRIMARY KEY (run_id, t_ms)
        ) WITHOUT ROWID""",
        """CREATE TABLE rollups (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            level INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            n INTEGER NOT NULL,
            t_first INTEGER NOT NULL,
            t_last INTEGER NOT NULL,
            mins BLOB NOT NULL,
            maxs BLOB NOT NULL,
            sums BLOB NOT NULL,
            PRIMARY KEY (run_id, level, bucket)
        ) WITHOUT ROWID""",
        """CREATE TABLE signatures (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            user_name TEXT NOT NULL,
            ts_utc TEXT NOT NULL,
            meaning TEXT NOT NULL,
            record_type TEXT NOT NULL,
            record_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            audit_id INTEGER NOT NULL REFERENCES audit(id)
        )""",
        "CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures "
        "BEGIN SELECT RAISE(ABORT, 'signatures cannot be changed'); END",
        "CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures "
        "BEGIN SELECT RAISE(ABORT, 'signatures cannot be deleted'); END",
    ],
    3: [
        # Recipe versions: the exact text and its hash; only an approved one may run.
        """CREATE TABLE recipes (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version_no INTEGER NOT NULL,
            declared_version TEXT NOT NULL,
            text TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'superseded')),
            imported_utc TEXT NOT NULL,
            imported_by TEXT NOT NULL,
            approval_signature_id INTEGER REFERENCES signatures(id),
            UNIQUE (name, version_no),
            UNIQUE (name, content_hash)
        )""",
        "CREATE TRIGGER recipes_text_fixed BEFORE UPDATE OF text, content_hash, name, version_no"
        " ON recipes BEGIN SELECT RAISE(ABORT, 'a recipe version never changes:"
        " import a new one'); END",
        "CREATE TRIGGER recipes_no_delete BEFORE DELETE ON recipes "
        "BEGIN SELECT RAISE(ABORT, 'recipe versions are kept'); END",
        "ALTER TABLE runs ADD COLUMN recipe_id INTEGER REFERENCES recipes(id)",
        "ALTER TABLE runs ADD COLUMN recipe_hash TEXT",
    ],
    4: [
        # The parameters changed at run start (JSON, base units), needed to resume it.
        "ALTER TABLE runs ADD COLUMN parameters TEXT",
        # The step journal (app/batch/journal.py): what each step's phase read, sent and
        # was answered, written before it acted, so a restarted console can resume.
        """CREATE TABLE run_journal (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            seq INTEGER NOT NULL,
            step INTEGER NOT NULL,
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID""",
        "CREATE TRIGGER run_journal_no_update BEFORE UPDATE ON run_journal "
        "BEGIN SELECT RAISE(ABORT, 'the step journal is append-only'); END",
        "CREATE TRIGGER run_journal_no_delete BEFORE DELETE ON run_journal "
        "BEGIN SELECT RAISE(ABORT, 'the step journal is append-only'); END",
    ],
    5: [
        # Site settings (app/store/settings.py): the current value of each key. Every
        # change is audited with its old and new value and a reason; rows stay.
        """CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            changed_utc TEXT NOT NULL,
            changed_by TEXT NOT NULL
        )""",
        "CREATE TRIGGER settings_no_delete BEFORE DELETE ON settings "
        "BEGIN SELECT RAISE(ABORT, 'settings are changed, never deleted'); END",
        # Retiring a recipe version (app/store/recipes.py): a supervisor's signature
        # that takes the version out of use for good. The CHECK on recipes.status
        # cannot change without rebuilding a table that runs refer to, so a retired
        # version keeps the status it had and is marked by its retirement signature;
        # RecipeStore reports it as "retired". Once set, nothing about it changes.
        "ALTER TABLE recipes ADD COLUMN retired_signature_id INTEGER REFERENCES signatures(id)",
        "ALTER TABLE recipes ADD COLUMN retired_reason TEXT",
        "CREATE TRIGGER recipes_retired_final BEFORE UPDATE OF status, approval_signature_id,"
        " retired_signature_id, retired_reason ON recipes"
        " WHEN OLD.retired_signature_id IS NOT NULL"
        " BEGIN SELECT RAISE(ABORT, 'a retired recipe version stays retired'); END",
    ],
    6: [
        # Review at 10 000 runs: a run's audit entries, and the history's filters.
        "CREATE INDEX audit_by_run ON audit (run_id, action)",
        "CREATE INDEX runs_by_start ON runs (started_utc)",
        "CREATE INDEX runs_by_batch ON runs (batch_id)",
    ],
    7: [
        # The audit trail viewer's date ranges (short ones; see app/store/audit_query.py).
        "CREATE INDEX audit_by_time ON audit (ts_utc)",
    ],
    8: [
        # Calibrations (app/store/calibrations.py): each one the coefficients written to
        # an instrument's channel, the old ones, the points behind them, when it falls
        # due, and the signature of who performed it. Append-only like the audit trail:
        # a new calibration is a new row, the latest per channel is the one in force.
        """CREATE TABLE calibrations (
            id INTEGER PRIMARY KEY,
            instrument_serial TEXT NOT NULL,
            channel TEXT NOT NULL,
            method TEXT NOT NULL,
            gain REAL NOT NULL,
            offset REAL NOT NULL,
            old_gain REAL NOT NULL,
            old_offset REAL NOT NULL,
            figure REAL NOT NULL,
            figure_text TEXT NOT NULL,
            details TEXT NOT NULL,
            performed_utc TEXT NOT NULL,
            due_utc TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id),
            user_name TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            signature_id INTEGER NOT NULL REFERENCES signatures(id),
            audit_id INTEGER NOT NULL REFERENCES audit(id)
        )""",
        "CREATE INDEX calibrations_by_channel ON calibrations (instrument_serial, channel, id)",
        "CREATE TRIGGER calibrations_no_update BEFORE UPDATE ON calibrations "
        "BEGIN SELECT RAISE(ABORT, 'calibrations are append-only: UPDATE refused'); END",
        "CREATE TRIGGER calibrations_no_delete BEFORE DELETE ON calibrations "
        "BEGIN SELECT RAISE(ABORT, 'calibrations are append-only: DELETE refused'); END",
    ],
    9: [
        # Golden batches (app/store/golden.py): the reference band a supervisor built
        # from completed, approved runs of one recipe version, signed "approved".
        # Append-only; the newest row per recipe version is the band in force.
        """CREATE TABLE golden_batches (
            id INTEGER PRIMARY KEY,
            recipe_id INTEGER NOT NULL REFERENCES recipes(id),
            run_ids TEXT NOT NULL,
            band TEXT NOT NULL,
            created_utc TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id),
            user_name TEXT NOT NULL,
            reason TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            signature_id INTEGER NOT NULL REFERENCES signatures(id),
            audit_id INTEGER NOT NULL REFERENCES audit(id)
        )""",
        "CREATE INDEX golden_by_recipe ON golden_batches (recipe_id, id)",
        "CREATE TRIGGER golden_no_update BEFORE UPDATE ON golden_batches "
        "BEGIN SELECT RAISE(ABORT, 'golden batches are append-only: UPDATE refused'); END",
        "CREATE TRIGGER golden_no_delete BEFORE DELETE ON golden_batches "
        "BEGIN SELECT RAISE(ABORT, 'golden batches are append-only: DELETE refused'); END",
        # The live growth kinetics and harvest prediction of a run, one row per estimate
        # (every 10 min of culture): what the run screen showed, kept with the run;
        # append-only (a resumed run's estimate of a time already kept is not written).
        """CREATE TABLE run_kinetics (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            t_s REAL NOT NULL,
            mu_h REAL,
            mu_se_h REAL,
            doubling_h REAL,
            doubling_low_h REAL,
            doubling_high_h REAL,
            total_cells REAL,
            total_rse REAL,
            fold_expansion REAL,
            fold_rse REAL,
            points INTEGER,
            span_h REAL,
            harvest_target_cells REAL,
            harvest_eta_s REAL,
            harvest_early_s REAL,
            harvest_late_s REAL,
            PRIMARY KEY (run_id, t_s)
        )""",
        "CREATE TRIGGER run_kinetics_no_update BEFORE UPDATE ON run_kinetics "
        "BEGIN SELECT RAISE(ABORT, 'run kinetics are append-only: UPDATE refused'); END",
        "CREATE TRIGGER run_kinetics_no_delete BEFORE DELETE ON run_kinetics "
        "BEGIN SELECT RAISE(ABORT, 'run kinetics are append-only: DELETE refused'); END",
    ],
    10: [  # the anchored chain: seals of the chain head, accounts and runs bound to the trail
        # The public half of each installation key that sealed this chain
        # (app/store/seal.py); the private half is never in the database.
        """CREATE TABLE audit_keys (
            fingerprint TEXT PRIMARY KEY,
            algorithm TEXT NOT NULL,
            public_key TEXT NOT NULL,
            added_utc TEXT NOT NULL
        )""",
        "CREATE TRIGGER audit_keys_fixed BEFORE UPDATE ON audit_keys "
        "BEGIN SELECT RAISE(ABORT, 'seal keys are kept as they are'); END",
        "CREATE TRIGGER audit_keys_no_delete BEFORE DELETE ON audit_keys "
        "BEGIN SELECT RAISE(ABORT, 'seal keys are kept as they are'); END",
        # Signed chain heads. The newest seal moves forward with the head at every
        # commit until it covers SEAL_SPAN entries; then a new one starts.
        """CREATE TABLE audit_seals (
            id INTEGER PRIMARY KEY,
            head_id INTEGER NOT NULL,
            head_hash TEXT NOT NULL,
            utc TEXT NOT NULL,
            signature TEXT NOT NULL,
            fingerprint TEXT NOT NULL REFERENCES audit_keys(fingerprint)
        )""",
        "CREATE TRIGGER audit_seals_no_delete BEFORE DELETE ON audit_seals "
        "BEGIN SELECT RAISE(ABORT, 'audit seals are kept: DELETE refused'); END",
        """CREATE TRIGGER audit_seals_forward BEFORE UPDATE ON audit_seals
           WHEN OLD.id IS NOT (SELECT MAX(id) FROM audit_seals) OR NEW.id IS NOT OLD.id
                OR NEW.head_id <= OLD.head_id
           BEGIN SELECT RAISE(ABORT, 'only the newest audit seal moves, and only forward');
           END""",
        """CREATE TRIGGER audit_seals_in_order BEFORE INSERT ON audit_seals
           WHEN NEW.head_id <= COALESCE((SELECT MAX(head_id) FROM audit_seals), 0)
           BEGIN SELECT RAISE(ABORT, 'an audit seal covers a newer head than the one before');
           END""",
        # Accounts and runs name the audit entry that created or last changed them
        # (the entry appended right after the write, in the same transaction).
        "ALTER TABLE users ADD COLUMN audit_id INTEGER",
        "ALTER TABLE runs ADD COLUMN audit_id INTEGER",
        """CREATE TRIGGER users_change_audited BEFORE UPDATE OF username, full_name, role,
               password_hash, password_changed_utc, must_change, locked, disabled,
               created_utc, audit_id ON users
           WHEN NEW.audit_id IS NOT (SELECT COALESCE(MAX(id), 0) + 1 FROM audit)
           BEGIN
               SELECT RAISE(ABORT, 'an account changes only with its audit entry: UPDATE refused');
           END""",
        """CREATE TRIGGER runs_change_audited BEFORE UPDATE OF batch_id, started_utc, ended_utc,
               state, parameters, audit_id ON runs
           WHEN NEW.audit_id IS NOT (SELECT COALESCE(MAX(id), 0) + 1 FROM audit)
           BEGIN SELECT RAISE(ABORT, 'a run changes only with its audit entry: UPDATE refused');
           END""",
        "CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs "
        "BEGIN SELECT RAISE(ABORT, 'runs are kept: DELETE refused'); END",
    ],
    11: [  # signatures that manifest (the statement signed) and duties kept apart
        # What the signer was shown and signed, in words (app/store/signing.py); NULL
        # for older signatures, which are shown with a statement derived from the
        # record's type and id.
        "ALTER TABLE signatures ADD COLUMN statement TEXT",
        # The duty rules look up who signed a record and who imported a recipe version.
        "CREATE INDEX signatures_by_record ON signatures (record_type, record_id)",
        "CREATE INDEX audit_by_object ON audit (object_type, object_id, action)",
    ],
    12: [
        # What the records are for (app/store/purpose.py): GMP batch records, or demo and
        # training records that the headless runner's automation may act on. One row,
        # declared once when the folder is first used, never changed.
        """CREATE TABLE records_purpose (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            purpose TEXT NOT NULL CHECK (purpose IN ('gmp', 'training')),
            declared_utc TEXT NOT NULL,
            audit_id INTEGER NOT NULL REFERENCES audit(id)
        )""",
        "CREATE TRIGGER records_purpose_no_update BEFORE UPDATE ON records_purpose "
        "BEGIN SELECT RAISE(ABORT, 'the purpose of the records never changes'); END",
        "CREATE TRIGGER records_purpose_no_delete BEFORE DELETE ON records_purpose "
        "BEGIN SELECT RAISE(ABORT, 'the purpose of the records never changes'); END",
        # The run's operator of record (who started it: app/store/actor.py), in its
        # header; the steps that follow are the system's or whoever acted in them.
        "ALTER TABLE runs ADD COLUMN operator_id TEXT",
        "ALTER TABLE runs ADD COLUMN operator_name TEXT",
        # (runs started before have NULL: review reads their run.create entry instead)
        "CREATE TRIGGER runs_operator_fixed BEFORE UPDATE OF operator_id, operator_name ON runs "
        "BEGIN SELECT RAISE(ABORT, 'the operator of record of a run never changes'); END",
    ],
}
LATEST = max(MIGRATIONS)


class SchemaError(RuntimeError):
    """The database cannot be used by this version of CellDeck."""


def current_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, target: int = LATEST, now_utc: str = "") -> int:
    """Bring the file up to ``target``; returns the version it was at. Each migration
    commits on its own, so an interrupted upgrade resumes where it stopped."""
    found = current_version(conn)
    if found > LATEST:
        raise SchemaError(
            f"this database was written by a newer CellDeck (schema version {found}; "
            f"this program knows up to {LATEST}). Install the newer version to open it; "
            "nothing was changed."
        )
    for version in range(found + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")  # one transaction per migration, DDL included
        try:
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_utc) VALUES (?, ?)",
                (version, now_utc),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return found
