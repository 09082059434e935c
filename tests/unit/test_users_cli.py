"""celldeck users ...: administration from the command line, audited, admin-only."""

import subprocess
import sys


def celldeck(data_dir, *args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "app", *args, "--data-dir", str(data_dir), "--password-stdin"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_users_cli_round_trip(tmp_path):
    init = celldeck(
        tmp_path,
        "users",
        "init",
        "--username",
        "root",
        "--full-name",
        "Grace",
        stdin="admin-pass-123\nadmin-pass-123\n",
    )
    assert init.returncode == 0, init.stderr
    again = celldeck(
        tmp_path,
        "users",
        "init",
        "--username",
        "root2",
        "--full-name",
        "X",
        stdin="admin-pass-456\nadmin-pass-456\n",
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    add = celldeck(
        tmp_path,
        "users",
        "add",
        "ada",
        "--full-name",
        "Ada",
        "--role",
        "operator",
        "--reason",
        "new hire",
        "--admin",
        "root",
        stdin="admin-pass-123\ntemp-pass-999\ntemp-pass-999\n",
    )
    assert add.returncode == 0, add.stderr
    listing = celldeck(tmp_path, "users", "list", "--admin", "root", stdin="admin-pass-123\n")
    assert "ada" in listing.stdout and "operator" in listing.stdout
    wrong = celldeck(
        tmp_path,
        "users",
        "disable",
        "ada",
        "--reason",
        "x",
        "--admin",
        "root",
        stdin="not-the-password\n",
    )
    assert wrong.returncode == 1 and "not recognised" in wrong.stderr
    not_admin = celldeck(tmp_path, "users", "list", "--admin", "ada", stdin="temp-pass-999\n")
    assert not_admin.returncode == 1
    verify = subprocess.run(
        [sys.executable, "-m", "app", "verify-audit", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0 and "OK" in verify.stdout


def test_users_cli_without_a_database_says_so(tmp_path):
    result = celldeck(tmp_path / "nowhere", "users", "list", "--admin", "root", stdin="x\n")
    assert result.returncode == 2 and "no records database" in result.stderr
    fresh = celldeck(
        tmp_path / "fresh" / "folder",
        "users",
        "init",
        "--username",
        "root",
        "--full-name",
        "Grace",
        stdin="admin-pass-123\nadmin-pass-123\n",
    )
    assert fresh.returncode == 0, fresh.stderr


def test_users_init_works_after_a_headless_run_made_the_automation_accounts(tmp_path):
    from app.store.db import open_database
    from app.store.users import UserService
    from app.store.writer import StoreWriter

    path = open_database(tmp_path)
    writer = StoreWriter(path, "WS-T").start()
    users = UserService(writer, path)
    users.automation_session("automation", "Automation (headless runner)")
    users.automation_session("automation-verifier", "Automation verifier (headless runner)")
    writer.close()
    init = ("users", "init", "--username", "root", "--full-name", "Grace")
    weak = celldeck(tmp_path, *init, stdin="password12\n")
    assert weak.returncode == 1
    assert "refused: a password may not be a common password" in weak.stderr
    made = celldeck(tmp_path, *init, stdin="admin-pass-123\n")
    assert made.returncode == 0 and "administrator root created" in made.stdout, made.stderr
    again = celldeck(tmp_path, "users", "init", "--username", "b", "--full-name", "B", stdin="x\n")
    assert again.returncode == 1 and "an administrator already exists" in again.stderr
