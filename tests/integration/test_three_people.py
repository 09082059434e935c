"""Three people, one batch, on the simulator over a pty: an operator runs it, a
supervisor acknowledges its alarm and reviews it, a second supervisor approves it. The
audit trail carries each person's own account id at each act (the system's for what
nobody did by hand), and the exported batch record names each of them with the meaning
of what they signed."""

import sqlite3
import unicodedata

from pypdf import PdfReader

from app.batch.host import RunHost
from app.batch.library import RecipeLibrary
from app.demo import seed_demo_recipes
from app.records import DEMO_PASSWORD, Records
from app.review.signoff import SignOff
from app.store.security import Role
from hardware.commands import InjectFault
from hardware.connection import Connection, LinkState
from hardware.simulator.launcher import SimulatorProcess
from tests.headless import celldeck, drive

SECOND = ("supervisor2", "Sam Second-Supervisor", "Velvet-Harbour-Lantern-42")


def _add_second_supervisor(records: Records) -> None:
    users = records.users
    admin = users.login("admin", DEMO_PASSWORD)
    users.add_user(admin, SECOND[0], SECOND[1], Role.SUPERVISOR, "Temp-Kestrel-7781", "QA")
    first = users.login(SECOND[0], "Temp-Kestrel-7781")
    users.change_password(first, "Temp-Kestrel-7781", SECOND[2])


def test_three_people_each_named_at_each_act_in_the_trail_and_the_pdf(tmp_path):
    records = Records.open(tmp_path, demo=True)
    seed_demo_recipes(records)
    _add_second_supervisor(records)
    users = records.users
    operator = users.login("operator", DEMO_PASSWORD)
    supervisor = users.login("supervisor", DEMO_PASSWORD)
    library = RecipeLibrary(users, records.signatures, records.path)
    version = next(v for v in library.approved() if v.name == "Demo")
    fills = ["--fill", "source=100", "--fill", "media=1000", "--fill", "buffer=500"]
    with SimulatorProcess(["--speed", "150", "--kit", "CART-STD-SIM-0001", *fills]) as sim:
        connection: Connection | None = None

        def send(command):
            return connection.execute(command)

        host = RunHost(records, send)
        connection = Connection(sim.url, host, telemetry_hz=20.0)
        connection.start()
        drive(connection, lambda: host.link is LinkState.CONNECTED and host.samples_seen > 0)
        run_id = host.start(operator, version.id, "B-3P", "B-3P")
        engine = host.engine
        drive(connection, lambda: engine.pending_prompt is not None)
        host.answer(operator, "confirmed")
        send(InjectFault("stuck-temp=39"))  # the chamber reads hot: CHAMBER_OVERTEMP
        hot = lambda: any(t == "CHAMBER_OVERTEMP" for t, _, _ in engine.alarms.active())  # noqa: E731
        drive(connection, hot)
        host.acknowledge(supervisor, "CHAMBER_OVERTEMP")
        send(InjectFault("stuck-temp", clear=True))
        while not engine.finished:
            drive(connection, lambda: engine.pending_prompt is not None or engine.finished)
            prompt = engine.pending_prompt
            if prompt is None:
                break
            if prompt.response == "data":
                host.answer(operator, 1.5)
            elif prompt.response == "signature":
                host.answer(operator, "signed", DEMO_PASSWORD, username="operator")
            else:
                host.answer(operator, "confirmed")
        assert engine.state.value == "Complete", engine.state
        host.close()
        connection.close()
    signoff = SignOff(records)
    signoff.review(supervisor, DEMO_PASSWORD, run_id, username="supervisor")
    second = users.login(SECOND[0], SECOND[2])
    signoff.approve(second, SECOND[2], run_id, username=SECOND[0])
    ids = {"op": str(operator.user_id), "sup": str(supervisor.user_id)}
    with sqlite3.connect(records.path) as conn:
        rows = conn.execute(
            "SELECT action, user_id FROM audit WHERE run_id = ? ORDER BY id", (run_id,)
        ).fetchall()
        operator_of_record = conn.execute(
            "SELECT operator_id, operator_name FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
    records.close()
    assert operator_of_record == (ids["op"], "Demo Operator")
    acted = {(action, user) for action, user in rows}
    assert ("run.create", ids["op"]) in acted and ("step.answer", ids["op"]) in acted
    assert ("alarm.acknowledged", ids["sup"]) in acted
    assert {u for a, u in rows if a in ("step.start", "step.end")} == {"system"}
    assert {u for a, u in rows if a == "alarm.unacknowledged"} == {"system"}
    # the exported batch record, read as a QA reviewer would
    pdf = tmp_path / "B-3P.pdf"
    result = celldeck(
        "export", "--run", str(run_id), "--pdf", str(pdf), "--data-dir", str(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pages = (page.extract_text() for page in PdfReader(pdf).pages)
    text = unicodedata.normalize("NFKC", " ".join(" ".join(p.split()) for p in pages))
    assert "Demo Operator" in text and "Demo Supervisor" in text and SECOND[1] in text
    for meaning in ("performed", "reviewed", "approved"):
        assert meaning in text.lower(), meaning
    assert 'step 8 "Sign off"' in text  # the signed step in words, not "run-step 1/step/8"
    assert "CHAMBER_OVERTEMP" in text and "acknowledged by Demo Supervisor" in text
    assert "run-step" not in text
