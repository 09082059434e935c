"""The anchored chain: seals signed with the installation key, witnesses outside the file,
and accounts and runs bound to the trail. Each test tampers as an insider would: with
the file, the source (the console's own entry_hash) and no key."""

from __future__ import annotations

import itertools
import sqlite3
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.records import Records
from app.store import checks, seal
from app.store.audit import AuditEntry, entry_hash
from app.store.bindings import NEXT_ENTRY
from app.store.checks import verify_database
from app.store.db import DB_NAME, connect
from app.store.witness import WitnessLog, check, witness_path
from app.store.writer import StoreWriter


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        "u1",
        "Ada Operator",
        "setpoint.change",
        "setpoint",
        "temp_sp",
        str(37 + i),
        str(38 + i),
        "test",
    )


def sealed_folder(folder, entries: int = 10):
    """A data folder as the console leaves it: sealed, witnessed, with ``entries`` more."""
    folder.mkdir(exist_ok=True)
    records = Records.open(folder, workstation="WS-01")
    assert records.startup_check.ok, records.startup_check.message
    for i in range(entries):
        records.writer.record(entry(i))
    records.close()
    return folder / DB_NAME


def raw(path) -> sqlite3.Connection:
    """The file as an insider opens it: plain sqlite3, triggers dropped."""
    conn = sqlite3.connect(path)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        if name != "audit_head_follows":
            conn.execute(f"DROP TRIGGER {name}")
    return conn


def rewrite(path, entry_id: int, new_value: str) -> None:
    """Edit one entry and recompute every later hash with the console's own function,
    then fix audit_head and audit_checkpoint: every check of the chain alone passes."""
    conn = raw(path)
    rows = [
        list(r) for r in conn.execute("SELECT * FROM audit WHERE id >= ? ORDER BY id", (entry_id,))
    ]
    prev = conn.execute("SELECT hash FROM audit WHERE id = ?", (entry_id - 1,)).fetchone()[0]
    conn.execute("UPDATE audit SET hash = 'x' || id WHERE id >= ?", (entry_id,))  # unique
    for row in rows:
        if row[0] == entry_id:
            row[9] = new_value
        row[13] = prev
        row[14] = prev = entry_hash(tuple(row[:14]))
        conn.execute(
            "UPDATE audit SET new_value = ?, prev_hash = ?, hash = ? WHERE id = ?",
            (row[9], row[13], row[14], row[0]),
        )
    conn.execute("UPDATE audit_head SET last_hash = ? WHERE id = 1", (prev,))
    conn.execute(
        "UPDATE audit_checkpoint SET last_hash = (SELECT hash FROM audit"
        " WHERE id = audit_checkpoint.last_id)"
    )
    conn.commit()
    conn.close()


def witness_problem(folder) -> str:
    with connect(folder / DB_NAME, readonly=True) as conn:
        data = witness_path(folder).read_bytes()
        return check(conn, data, "witness.log")[0]


def test_a_sealed_chain_verifies_and_is_witnessed(tmp_path):
    path = sealed_folder(tmp_path)
    result, _ = verify_database(path)
    assert result.ok and result.seal is not None and result.seal.head_id == result.head_id
    assert "sealed up to" in result.message
    lines = witness_path(tmp_path).read_text().splitlines()
    assert lines and all(line.startswith("celldeck-seal seal=") for line in lines)
    assert witness_problem(tmp_path) == ""


def test_key_and_records_are_readable_by_the_os_account_only(tmp_path):
    from app.paths import prepare_data_dir

    folder = prepare_data_dir(tmp_path / "records")
    sealed_folder(folder, 1)
    key = seal.key_path(folder)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / DB_NAME).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.parametrize("full", [True, False])
def test_full_rewrite_after_one_edit_is_caught_without_the_witness(tmp_path, full):
    path = sealed_folder(tmp_path)
    rewrite(path, 5, "99")
    result, _ = verify_database(path, full=full)  # the start-up check too
    assert not result.ok
    assert "do not match seal #1" in result.message and "entries after #0" in result.message


def test_full_rewrite_is_caught_by_the_witness_log_too(tmp_path):
    path = sealed_folder(tmp_path)
    rewrite(path, 5, "99")
    conn = raw(path)  # and the seals removed, so the file holds nothing to compare with
    conn.execute("DELETE FROM audit_seals")
    conn.execute("DELETE FROM audit_keys")
    conn.commit()
    conn.close()
    assert verify_database(path)[0].ok  # the file alone can no longer tell
    assert "does not match its witness" in witness_problem(tmp_path)
    records = Records.open(tmp_path)  # never sealed afresh over removed seals
    try:
        assert not records.startup_check.ok
        assert "the seals were removed" in records.startup_check.message
    finally:
        records.close()


def test_the_seal_names_the_span_that_was_rewritten(tmp_path, monkeypatch):
    monkeypatch.setattr(seal, "SEAL_SPAN", 4)
    path = sealed_folder(tmp_path, 20)
    conn = connect(path, readonly=True)
    seals = seal.read_seals(conn)
    conn.close()
    assert len(seals) > 3 and all(b.head_id > a.head_id for a, b in itertools.pairwise(seals))
    target = seals[2]
    rewrite(path, seals[1].head_id + 1, "99")
    result, _ = verify_database(path)
    assert result.message.startswith(
        f"entries after #{seals[1].head_id} do not match seal #{target.id}"
    )
    assert result.first_bad_id == seals[1].head_id + 1


def test_a_re_signed_seal_with_another_key_is_caught(tmp_path):
    path = sealed_folder(tmp_path)
    rewrite(path, 5, "99")
    conn = raw(path)
    row = conn.execute("SELECT id, head_id, utc FROM audit_seals").fetchone()
    head_hash = conn.execute("SELECT hash FROM audit WHERE id = ?", (row[1],)).fetchone()[0]
    forger = seal.Sealer(Ed25519PrivateKey.generate())
    conn.execute(
        "UPDATE audit_seals SET head_hash = ?, signature = ? WHERE id = ?",
        (head_hash, forger.sign(row[1], head_hash, row[2]), row[0]),
    )
    conn.commit()
    conn.close()
    result, _ = verify_database(path)
    assert not result.ok and "does not verify" in result.message


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("UPDATE audit SET new_value = '99' WHERE id = 4", "entry #4 altered"),
        ("DELETE FROM audit WHERE id = 6", "entry #6 removed"),
        ("UPDATE audit SET id = 0 WHERE id = 3", "entry #0 inserted out of sequence"),
    ],
)
def test_naive_edits_of_a_sealed_chain_are_still_named(tmp_path, statement, expected):
    path = sealed_folder(tmp_path)
    conn = raw(path)
    conn.execute(statement)
    conn.commit()
    conn.close()
    result, _ = verify_database(path)
    assert not result.ok and expected in result.message


def test_a_forged_entry_appended_after_the_seal_is_caught(tmp_path):
    path = sealed_folder(tmp_path)
    conn = sqlite3.connect(path)  # no trigger touched: INSERT is what the trail allows
    last = conn.execute("SELECT * FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    values = (
        last[0] + 1,
        last[1],
        last[2],
        "1",
        "Admin",
        "user.add",
        "user",
        "mallory",
        None,
        "Mallory; administrator",
        "forged",
        "WS-01",
        None,
        last[-1],
    )
    conn.execute(f"INSERT INTO audit VALUES ({','.join('?' * 15)})", (*values, entry_hash(values)))
    conn.commit()
    conn.close()
    result, _ = verify_database(path)
    assert not result.ok and result.first_bad_id == last[0] + 1
    assert f"entries after #{last[0]} are not sealed" in result.message


def test_a_tail_cut_with_the_head_fixed_is_caught(tmp_path):
    path = sealed_folder(tmp_path)
    conn = raw(path)
    conn.execute("DELETE FROM audit WHERE id > 8")
    conn.execute(
        "UPDATE audit_head SET count = 8, last_id = 8,"
        " last_hash = (SELECT hash FROM audit WHERE id = 8)"
    )
    conn.commit()
    conn.close()
    result, _ = verify_database(path)
    assert not result.ok and "entries after #8 removed" in result.message
    assert "is no longer in the chain" in witness_problem(tmp_path)


def test_role_escalation_is_refused_and_named(tmp_path):
    records = Records.open(tmp_path)
    records.users.create_first_administrator("alice", "Alice Admin", "Adm1nistrator!x")
    admin = records.users.login("alice", "Adm1nistrator!x")
    from app.store.security import Role

    records.users.add_user(admin, "bob", "Bob Operator", Role.OPERATOR, "Temp-pass-123x", "new")
    records.close()
    path = tmp_path / DB_NAME
    assert verify_database(path)[0].ok
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="only with its audit entry"):
        conn.execute("UPDATE users SET role = 'administrator' WHERE username = 'bob'")
    conn.execute(
        f"UPDATE users SET role = 'administrator', audit_id = {NEXT_ENTRY} WHERE username = 'bob'"
    )
    conn.commit()
    conn.close()
    result, _ = verify_database(path)
    assert not result.ok and "account bob does not match the audit trail" in result.message
    assert "role administrator" in result.message and "role operator" in result.message


def add_run(writer: StoreWriter, batch: str) -> int:
    """A run created and started as app/batch/run_record.py writes it."""

    def job(ctx) -> int:
        run_id = ctx.conn.execute(
            "INSERT INTO runs (batch_id, started_utc, state, audit_id)"
            f" VALUES (?, 'now', 'Idle', {NEXT_ENTRY})",
            (batch,),
        ).lastrowid
        ctx.audit.append(
            AuditEntry(
                "1",
                "Ada",
                "run.create",
                "run",
                str(run_id),
                new_value=f"batch {batch}; parameters {{}}",
                run_id=run_id,
            )
        )
        ctx.conn.execute(
            f"UPDATE runs SET state = 'Running', audit_id = {NEXT_ENTRY} WHERE id = ?", (run_id,)
        )
        ctx.audit.append(
            AuditEntry(
                "1",
                "Ada",
                "run.state",
                "run",
                str(run_id),
                "Idle",
                "Running",
                "Start (operator)",
                run_id=run_id,
            )
        )
        return run_id

    return writer.call(job)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("UPDATE runs SET state = 'Complete'", "run 1 does not match the audit trail"),
        ("UPDATE runs SET batch_id = 'B-CLEAN'", "batch B-CLEAN, state Running"),
        ("DELETE FROM runs WHERE id = 2", "run 2 removed"),
    ],
)
def test_a_run_header_rewritten_by_hand_is_named(tmp_path, statement, expected):
    records = Records.open(tmp_path)
    add_run(records.writer, "B-1")
    add_run(records.writer, "B-2")
    records.close()
    path = tmp_path / DB_NAME
    assert verify_database(path)[0].ok
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match=r"audit entry|DELETE refused"):
        conn.execute(statement)
    conn.close()
    conn = raw(path)
    conn.execute(statement)
    conn.commit()
    conn.close()
    result, _ = verify_database(path)
    assert not result.ok and expected in result.message


def test_a_missing_key_is_reported_and_never_replaced(tmp_path):
    path = sealed_folder(tmp_path)
    key = seal.key_path(tmp_path)
    key.unlink()
    records = Records.open(tmp_path)
    try:
        assert not records.startup_check.ok
        assert records.startup_check.message == f"seal key missing: {key}"
    finally:
        records.close()
    assert not key.exists()
    result, _ = verify_database(path)  # what was written meanwhile is not sealed
    assert not result.ok and "are not sealed" in result.message


def test_another_key_is_reported(tmp_path, monkeypatch):
    sealed_folder(tmp_path)
    other = tmp_path / "other.key"
    seal.create_key(other)
    monkeypatch.setenv(seal.KEY_ENV, str(other))
    records = Records.open(tmp_path)
    try:
        assert not records.startup_check.ok
        assert "seal key does not match the key this chain was sealed with" in (
            records.startup_check.message
        )
    finally:
        records.close()


def test_a_witness_from_another_installation_is_named(tmp_path):
    sealed_folder(tmp_path / "a")
    sealed_folder(tmp_path / "b")
    with connect(tmp_path / "b" / DB_NAME, readonly=True) as conn:
        problem, _ = check(conn, witness_path(tmp_path / "a").read_bytes(), "a/witness.log")
    assert "was sealed by another installation" in problem


def test_an_entry_altered_before_the_checkpoint_is_caught_at_start_up(tmp_path, monkeypatch):
    path = sealed_folder(tmp_path)
    for _ in range(2):  # the checkpoint moves past the entries
        Records.open(tmp_path).close()
    monkeypatch.setattr(checks, "STARTUP_FULL_MAX", 0)  # as for a long trail
    rewrite(path, 3, "99")
    result, _ = verify_database(path, full=False)
    assert not result.ok and "do not match seal" in result.message
    records = Records.open(tmp_path)
    try:
        assert not records.startup_check.ok
    finally:
        records.close()


def test_a_short_trail_is_walked_in_full_at_start_up(tmp_path):
    path = sealed_folder(tmp_path)
    Records.open(tmp_path).close()
    conn = raw(path)
    conn.execute("UPDATE audit SET reason = 'edited' WHERE id = 4")  # not a sealed entry
    conn.commit()
    conn.close()
    result, _ = verify_database(path, full=False)
    assert not result.ok and result.message == "entry #4 altered"


def test_an_upgraded_chain_is_sealed_at_its_first_start(tmp_path):
    path = tmp_path / DB_NAME
    from app.store.db import open_database

    open_database(tmp_path)
    writer = StoreWriter(path, "WS-01").start()  # a release without seals wrote these
    for i in range(3):
        writer.record(entry(i))
    writer.call(
        lambda ctx: ctx.conn.execute(
            "INSERT INTO runs (batch_id, started_utc, state) VALUES ('B-OLD', 'now', 'Complete')"
        )
    )
    writer.close()
    assert verify_database(path)[0].seal is None
    records = Records.open(tmp_path)
    records.close()
    result, _ = verify_database(path)
    assert result.ok and result.seal is not None, result.message
    with connect(path, readonly=True) as conn:
        assert (
            conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'run.baseline'").fetchone()[0]
            == 1
        )


def test_verify_audit_cli_checks_seals_and_witnesses(tmp_path):
    sealed_folder(tmp_path / "a")
    sealed_folder(tmp_path / "b")
    cli = [sys.executable, "-m", "app", "verify-audit", "--data-dir", str(tmp_path / "a")]
    ok = subprocess.run(
        [*cli, "--witness", str(witness_path(tmp_path / "a"))], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "sealed up to" in ok.stdout, ok.stdout + ok.stderr
    other = subprocess.run(
        [*cli, "--witness", str(witness_path(tmp_path / "b"))], capture_output=True, text=True
    )
    assert other.returncode == 1 and "another installation" in other.stdout
    rewrite(tmp_path / "a" / DB_NAME, 5, "99")
    bad = subprocess.run(cli, capture_output=True, text=True)
    assert bad.returncode == 1 and "do not match seal #1" in bad.stdout


def test_a_witness_log_that_cannot_be_written_never_costs_a_record(tmp_path, monkeypatch):
    blocked = tmp_path / "no-such-dir" / "witness.log"
    monkeypatch.setenv("CELLDECK_WITNESS_LOG", str(blocked))
    path = sealed_folder(tmp_path, 3)
    result, _ = verify_database(path)
    assert result.ok, result.message
    with connect(path, readonly=True) as conn:
        actions = [a for (a,) in conn.execute("SELECT action FROM audit")]
    assert actions.count("witness.failed") == 1 and actions.count("setpoint.change") == 3
    assert WitnessLog(blocked).newest() is None


def test_exported_records_carry_the_head_and_verify_audit_reads_them(tmp_path, qapp):
    """The CSV manifest and the PDF (its XMP metadata, read from the raw bytes) both
    name the chain head; a rewrite after the export fails against them."""
    from app.reports.pdf import write_html_pdf
    from app.store.witness import head_line

    path = sealed_folder(tmp_path / "records")
    chain, _ = verify_database(path)
    pdf = tmp_path / "record.pdf"
    write_html_pdf("<p>record</p>", pdf, "Batch record B", "footer", None,
                   head=f"Audit chain head #{chain.head_id}", witness=head_line(chain))  # fmt: skip
    assert head_line(chain).encode() in pdf.read_bytes()
    with connect(path, readonly=True) as conn:
        assert check(conn, pdf.read_bytes(), "record.pdf") == ("", 1)
    rewrite(path, 5, "99")
    with connect(path, readonly=True) as conn:
        problem, _ = check(conn, pdf.read_bytes(), "record.pdf")
    assert f"entry #{chain.head_id} does not match its witness in record.pdf" in problem


def test_a_run_export_has_a_manifest_with_the_sealed_head(tmp_path):
    from app.reports.csv_export import export_audit
    from app.review.record import load_run_record

    records = Records.open(tmp_path)
    run_id = add_run(records.writer, "B-9")
    records.close()
    record = load_run_record(records.path, run_id)
    export_audit(record, tmp_path / "audit.csv")
    manifest = (tmp_path / "manifest.csv").read_text()
    assert f"head_id,{record.chain.head_id}" in manifest
    assert f"key_fingerprint,{record.chain.seal.fingerprint}" in manifest
    with connect(records.path, readonly=True) as conn:
        assert check(conn, manifest.encode(), "manifest.csv") == ("", 1)


def test_a_file_put_back_to_an_earlier_sealed_state_is_caught_by_the_witness_log(
    tmp_path, monkeypatch
):
    """The tail cut back exactly to an earlier seal's head and the newer seals deleted:
    consistent in itself (as an older copy of the file would be); the witness log's
    newest line is checked at every start."""
    monkeypatch.setattr(seal, "SEAL_SPAN", 4)
    path = sealed_folder(tmp_path, 20)
    with connect(path, readonly=True) as conn:
        keep = seal.read_seals(conn)[1]
    conn = raw(path)
    conn.execute("DELETE FROM audit WHERE id > ?", (keep.head_id,))
    conn.execute("DELETE FROM audit_seals WHERE id > ?", (keep.id,))
    conn.execute(
        "UPDATE audit_head SET count = ?, last_id = ?, last_hash = ?",
        (keep.head_id, keep.head_id, keep.head_hash),
    )
    conn.commit()
    conn.close()
    assert verify_database(path)[0].ok  # the file alone cannot tell
    records = Records.open(tmp_path)
    try:
        assert not records.startup_check.ok
        assert "is no longer in the chain" in records.startup_check.message
    finally:
        records.close()
