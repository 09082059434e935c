"""The console's records at run time: database opened (and upgraded), the audit chain
checked from its last checkpoint, the writer thread started, accounts and signatures
ready under the site's account rules (the settings table). Demo mode seeds one account
per role into its own data folder."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.store.audit import AuditEntry, VerifyResult
from app.store.checks import save_checkpoint, verify_database
from app.store.db import open_database
from app.store.settings import SettingsService
from app.store.signatures import SignatureService
from app.store.users import SYSTEM_ID, SYSTEM_NAME, UserService
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
        check, reached = verify_database(path, full=False)
        log.info("audit trail check at start-up: %s", check.message)
        writer = StoreWriter(path, workstation, on_failure).start()
        if check.ok and reached[0] > 0:
            writer.call(lambda ctx: save_checkpoint(ctx.conn, *reached))
        # the site's account rules (inactivity lock, password length and age, failed
        # log-ins before a lock) apply from start-up, not only after an administrator
        # changes one; settings never changed keep SecurityPolicy's defaults
        users = UserService(writer, path, SettingsService(writer, path).policy())
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
        return cls(path, writer, users, SignatureService(users, path), check, workstation)

    def close(self) -> None:
        try:
            self.writer.record(
                AuditEntry(SYSTEM_ID, SYSTEM_NAME, "console.stop", "workstation", self.workstation)
            )
        except Exception as exc:  # the writer may be the thing that failed
            log.error("could not record console stop: %s", exc)
        self.writer.close()
