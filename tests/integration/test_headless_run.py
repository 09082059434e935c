"""celldeck run: a recipe end to end on the simulator, headless, audited."""

import pytest

from app.store.checks import verify_database
from tests.headless import RECIPES, celldeck


@pytest.mark.parametrize("name", ["media_exchange", "wash_concentrate"])
def test_every_shipped_recipe_runs_to_complete(tmp_path, name):
    result = celldeck(
        "run",
        str(RECIPES / f"{name}.toml"),
        "--batch",
        f"B-{name}",
        "--simulator",
        "--speed",
        "150",
        "--auto-confirm",
        "--data-dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "final state: Complete" in result.stdout and "OUTSIDE" not in result.stdout
    assert verify_database(tmp_path / "celldeck.db")[0].ok


def test_an_outcome_outside_the_recipe_range_fails_the_run(tmp_path):
    strict = tmp_path / "strict.toml"
    strict.write_text(
        (RECIPES / "demo.toml")
        .read_text()
        .replace('product_volume = ["43 mL", "47 mL"]', 'product_volume = ["90 mL", "100 mL"]')
    )
    result = celldeck(
        "run",
        str(strict),
        "--batch",
        "B-STRICT",
        "--simulator",
        "--speed",
        "150",
        "--auto-confirm",
        "--data-dir",
        str(tmp_path),
    )
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    assert "final state: Complete" in result.stdout
    assert "outcome product_volume" in result.stderr and "OUTSIDE 90..100" in result.stderr


def test_demo_recipe_runs_to_complete(tmp_path):
    result = celldeck(
        "run",
        str(RECIPES / "demo.toml"),
        "--batch",
        "B-TEST-1",
        "--simulator",
        "--speed",
        "60",
        "--auto-confirm",
        "--data-dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "final state: Complete" in result.stdout
    assert "step 8 Sign off: finished" in result.stdout
    product = float(result.stdout.split("product bag ")[1].split(" g")[0])
    assert 44.0 <= product <= 46.0  # the recipe's 45 mL harvest reached the product bag
    assert "outcome product_cells" in result.stdout and "OUTSIDE" not in result.stdout
    check, _ = verify_database(tmp_path / "celldeck.db")
    assert check.ok, check.message


def test_invalid_recipe_exits_with_the_validation_message(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text(
        (RECIPES / "demo.toml").read_text().replace('phase = "wait"', 'phase = "levitate"')
    )
    result = celldeck(
        "run", str(broken), "--batch", "B", "--simulator", "--data-dir", str(tmp_path), timeout=60
    )
    assert result.returncode == 2
    assert "broken.toml:" in result.stderr and "unknown phase" in result.stderr


def test_unapproved_recipe_does_not_run_without_auto_confirm(tmp_path):
    result = celldeck(
        "run",
        str(RECIPES / "demo.toml"),
        "--batch",
        "B",
        "--simulator",
        "--data-dir",
        str(tmp_path),
        timeout=60,
    )
    assert result.returncode == 1 and "only an approved version may run" in result.stderr


def test_car_t_10_day_recipe_completes_headless_in_minutes(tmp_path):
    import time

    start = time.monotonic()
    result = celldeck(
        "run",
        str(RECIPES / "cart_10day.toml"),
        "--batch",
        "CART-TEST",
        "--simulator",
        "--speed",
        "20000",
        "--auto-confirm",
        "--timeout",
        "280",
        "--data-dir",
        str(tmp_path),
        timeout=300,
    )
    wall = time.monotonic() - start
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "final state: Complete" in result.stdout and wall < 300
    assert "target dose reached" in result.stdout  # 2e9 cells grown before harvest
    product = float(result.stdout.split("product bag ")[1].split(" g")[0])
    assert 140.0 <= product <= 155.0  # 100 mL harvest + 50 mL formulation buffer
    # within the recipe's expected outcome (product volume and cells), checked by the engine
    assert "outcome product_volume" in result.stdout and "outcome product_cells" in result.stdout
    assert "OUTSIDE" not in result.stdout
    assert verify_database(tmp_path / "celldeck.db")[0].ok


def test_auto_confirm_never_signs_for_people_on_gmp_records(tmp_path):
    """A folder kept as GMP records: --auto-confirm refuses to approve the recipe (and
    so to run it), with --port or --simulator alike, and cannot relabel the folder."""
    import sqlite3

    from app.records import Records
    from app.store.purpose import Purpose, declare_purpose

    records = Records.open(tmp_path)
    assert declare_purpose(records.writer, Purpose.GMP) is Purpose.GMP
    records.close()
    for target in (["--port", "socket://127.0.0.1:9"], ["--simulator"]):
        result = celldeck(
            "run",
            str(RECIPES / "demo.toml"),
            "--batch",
            "B-GMP",
            *target,
            "--auto-confirm",
            "--data-dir",
            str(tmp_path),
            timeout=60,
        )
        assert result.returncode == 2, result.stdout + result.stderr
        assert "never approves on GMP records" in result.stderr
    relabel = celldeck(
        "run", "--resume", "--simulator", "--training-records", "--data-dir", str(tmp_path)
    )
    assert relabel.returncode == 2 and "are GMP records" in relabel.stderr
    with sqlite3.connect(tmp_path / "celldeck.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM signatures").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM recipes").fetchone()[0] == 0
        assert conn.execute("SELECT purpose FROM records_purpose").fetchone()[0] == "gmp"
