"""The console's records at run time: database opened (and upgraded), the audit chain
checked from its last checkpoint, the writer thread started, accounts and signatures
ready under the site's account rules (the settings table). Demo mode seeds one account
per role into its own data folder.

The chain is sealed with the installation key (app/store/seal.py): a sealed chain only
with its own key (a missing or different key is reported, never replaced); a chain
never sealed (new, or upgraded from a release without seals) gets its first seal once
it has verified in full, with its accounts and runs bound as found."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from app.store import bindings
from app.store.audit import AuditEntry, VerifyResult
from app.store.checks import save_checkpoint, verify_database
from app.store.db import connect, open_database
from app.store.purpose import Purpose, declare_purpose
from app.store.seal import Sealer, SealKeyError, db_keys, key_path, load_key, open_sealer
from app.store.settings import SettingsService
from app.store.signatures import SignatureService
from app.store.users import SYSTEM_ID, SYSTEM_NAME, UserService
from app.store.witness import WitnessLog, check_newest, sealed_before, witness_path
from app.store.writer import StoreWriter

log = logging.getLogger(__name__)

DEMO_PASSWORD = "celldeck-demo"  # demo folder only; shown on the DEMO banner


@dataclass
class Records:
    path: Path
    writer: StoreWriter
    users: UserService
    signatures: SignatureService
    startup_check: VerifyResult
    workstation: str

    @classmethod
    def open(
        cls,
        data_dir: Path,
        demo: bool = False,
        on_failure: Callable[[str], None] | None = None,
        workstation: str | None = None,
    ) -> Records:
        workstation = workstation or socket.gethostname()
        path = open_database(data_dir)
        keys = _keys(path)
        check, reached = verify_database(path, full=not keys)  # before a first seal: all
        witness = WitnessLog(witness_path(data_dir))
        sealer, problem = _installation_key(Path(data_dir), keys, witness)
        if check.ok and not problem and keys:
            with closing(connect(path, readonly=True)) as conn:
                problem = check_newest(conn, witness)
        if check.ok and problem:
            check = VerifyResult(False, check.count, None, problem)
        log.info("audit trail check at start-up: %s", check.message)
        # never sign a chain that did not verify: its entries stay unsealed, and the
        # verification keeps failing until QA has looked into it
        sealing = sealer if keys and check.ok else None
        writer = StoreWriter(path, workstation, on_failure, sealing, witness).start()
        if check.ok and reached[0] > 0:
            writer.call(lambda ctx: save_checkpoint(ctx.conn, *reached))
        # the site's account rules (inactivity lock, password length and age, failed
        # log-ins before a lock) apply from start-up, not only after an administrator
        # changes one; settings never changed keep SecurityPolicy's defaults
        users = UserService(writer, path, SettingsService(writer, path).policy())
        if demo:  # the demo folder holds training records, whatever it holds
            declare_purpose(writer, Purpose.TRAINING, demo=True)
        if demo and not users.has_users():
            users.create_demo_accounts(DEMO_PASSWORD)
        status = "audit trail OK" if check.ok else f"AUDIT TRAIL CHECK FAILED: {check.message}"
        writer.record(
            AuditEntry(
                SYSTEM_ID,
                SYSTEM_NAME,
                "console.start",
                "workstation",
                workstation,
                new_value=status,
            )
        )
        if sealer is not None and not keys and check.ok:
            writer.begin_sealing(sealer, lambda ctx: bindings.baseline(ctx.conn, ctx.audit))
        return cls(path, writer, users, SignatureService(users, path), check, workstation)

    def close(self) -> None:
        try:
            self.writer.record(
                AuditEntry(SYSTEM_ID, SYSTEM_NAME, "console.stop", "workstation", self.workstation)
            )
        except Exception as exc:  # the writer may be the thing that failed
            log.error("could not record console stop: %s", exc)
        self.writer.close()


def _keys(path: Path) -> set[str]:
    with closing(connect(path, readonly=True)) as conn:
        return set(db_keys(conn))


def _installation_key(
    data_dir: Path, keys: set[str], witness: WitnessLog
) -> tuple[Sealer | None, str]:
    """The installation key for this chain, or why there is none. A chain without
    seals whose key already sealed heads in the witness log had its seals removed: it
    is not sealed afresh (that would bless whatever was done to it)."""
    path = key_path(data_dir)
    try:
        if not keys and path.exists():
            fingerprint = Sealer(load_key(path)).fingerprint
            if sealed_before(witness, fingerprint):
                return None, (
                    f"this database has no seals, but its key ({fingerprint}) sealed it before"
                    f" (witness log {witness.path}): the seals were removed"
                )
        return open_sealer(path, keys), ""
    except (SealKeyError, OSError) as exc:
        log.error("audit seal key: %s", exc)
        return None, str(exc)
