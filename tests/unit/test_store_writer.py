"""The single writer thread: durable before acknowledged, failures heard, and
migrations that upgrade old files and refuse newer ones."""

import sqlite3

import pytest

from app.store.audit import AuditEntry
from app.store.db import DB_NAME, connect, open_database
from app.store.schema import LATEST, SchemaError, migrate
from app.store.writer import StoreError, StoreWriter


def entry(text: str = "x") -> AuditEntry:
    return AuditEntry("u1", "Ada", "test.action", "thing", "1", new_value=text, reason="r")


def test_recorded_entry_is_visible_to_another_connection_at_once(tmp_path):
    path = open_database(tmp_path)
    writer = StoreWriter(path, "WS").start()
    reader = connect(path, readonly=True)
    for _ in range(20):
        entry_id = writer.record(entry())
        assert reader.execute("SELECT id FROM audit WHERE id = ?", (entry_id,)).fetchone()
    writer.close()
    reader.close()


def test_a_failing_job_fails_alone(tmp_path):
    path = open_database(tmp_path)
    writer = StoreWriter(path, "WS").start()

    def bad(ctx):
        ctx.audit.append(entry("half"))
        raise ValueError("nope")

    good = writer.submit(lambda ctx: ctx.audit.append(entry("a")))
    failing = writer.submit(bad)
    after = writer.submit(lambda ctx: ctx.audit.append(entry("b")))
    assert good.result(5) == 1
    with pytest.raises(ValueError):
        failing.result(5)
    assert after.result(5) == 2  # the chain skipped the rolled-back entry
    writer.close()
    from app.store.checks import verify_database

    assert verify_database(path)[0].ok


def test_disk_full_is_reported_and_loses_nothing_acknowledged(tmp_path):
    path = open_database(tmp_path)
    failures: list[str] = []
    writer = StoreWriter(path, "WS", on_failure=failures.append).start()
    acknowledged = [writer.record(entry()) for _ in range(5)]
    pages = writer.call(lambda ctx: ctx.conn.execute("PRAGMA page_count").fetchone()[0])
    writer.call(lambda ctx: ctx.conn.execute(f"PRAGMA max_page_count = {pages}"))
    with pytest.raises(StoreError, match="full"):
        for _ in range(200):
            writer.record(entry("y" * 4000))
    assert failures and "full" in failures[-1]
    assert writer.health().last_error != ""
    writer.call(lambda ctx: ctx.conn.execute("PRAGMA max_page_count = 1073741823"))
    writer.record(entry("after"))
    writer.close()
    conn = connect(path, readonly=True)
    ids = {r[0] for r in conn.execute("SELECT id FROM audit")}
    conn.close()
    assert set(acknowledged) <= ids


def test_writer_reports_health_and_refuses_after_close(tmp_path):
    path = open_database(tmp_path)
    writer = StoreWriter(path, "WS").start()
    writer.record(entry())
    health = writer.health()
    assert health.alive and health.committed_jobs == 1 and health.backlog == 0
    writer.close()
    assert not writer.health().alive
    with pytest.raises(StoreError):
        writer.record(entry())


def test_version_1_file_is_upgraded_and_keeps_its_data(tmp_path):
    path = tmp_path / DB_NAME
    conn = connect(path)
    migrate(conn, target=1)
    conn.execute(
        "INSERT INTO users (username, full_name, role, password_hash, password_changed_utc, "
        "created_utc) VALUES ('ada', 'Ada', 'operator', 'h', 'now', 'now')"
    )
    conn.close()
    open_database(tmp_path)
    conn = connect(path, readonly=True)
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == LATEST
    assert conn.execute("SELECT username FROM users").fetchone()[0] == "ada"
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    conn.close()


def test_newer_file_is_refused_with_a_clear_message(tmp_path):
    path = open_database(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (?, 'future')", (LATEST + 5,))
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="newer CellDeck"):
        open_database(tmp_path)


def test_a_cancelled_job_does_not_run_and_does_not_kill_the_writer(tmp_path):
    import threading

    path = open_database(tmp_path)
    writer = StoreWriter(path, "WS").start()
    gate = threading.Event()
    blocker = writer.submit(lambda ctx: gate.wait(5))
    cancelled = writer.submit(lambda ctx: ctx.audit.append(entry("never")))
    assert cancelled.cancel()
    gate.set()
    blocker.result(5)
    assert writer.record(entry("after")) == 1  # the cancelled entry never took a place
    assert writer.health().alive
    writer.close()


def test_audit_values_must_keep_their_type():
    with pytest.raises(TypeError):
        AuditEntry("u1", "Ada", "a", "b", "c", run_id=7.0)


def test_a_thread_that_keeps_a_link_alive_beats_it_while_waiting_for_a_commit(tmp_path):
    """The connection's thread waits for its record in slices with the heartbeat between
    them; the answer comes only once the job is committed; other threads wait plainly."""
    import threading

    from app.store.writer import WAIT_SLICE_S, keep_alive_while_waiting

    writer = StoreWriter(open_database(tmp_path), "ws").start()
    disk = threading.Event()
    beats: list[float] = []
    try:
        writer.submit(lambda ctx: disk.wait(10))  # a stalled disk
        keep_alive_while_waiting(lambda: beats.append(1) or (len(beats) >= 8 and disk.set()))
        try:
            assert writer.record(entry("after the stall")) == 1
        finally:
            keep_alive_while_waiting(None)
        assert len(beats) >= 8  # one beat per slice (WAIT_SLICE_S) while it waited
        assert WAIT_SLICE_S <= 1.0  # well inside the instrument's 5 s watchdog
        elsewhere: list[int] = []
        worker = threading.Thread(target=lambda: elsewhere.append(writer.record(entry())))
        keep_alive_while_waiting(lambda: pytest.fail("only the registering thread beats"))
        try:
            worker.start()
            worker.join(10)
        finally:
            keep_alive_while_waiting(None)
        assert elsewhere == [2]
    finally:
        writer.close()
