"""The audit trail for the people who may read it (supervisors, administrators:
Permission.AUDIT_READ), checked here in the service layer whatever the screens show.
Every method takes the signed-in Session, then reads on a reader connection; a
refusal is audited when the reader has the account service (as on the console)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from app.review.audit_export import AuditExport, export_audit_selection
from app.store.audit import VerifyResult
from app.store.audit_query import (
    LIMIT,
    AuditFilter,
    AuditSelection,
    distinct_actions,
    distinct_object_types,
    distinct_users,
    query_audit,
)
from app.store.checks import verify_database
from app.store.security import Permission, allowed
from app.store.users import AuthError, PermissionDenied, Session, UserService


class AuditReader:
    def __init__(self, db_path: str | Path, users: UserService | None = None) -> None:
        self.db_path = Path(db_path)
        self.accounts = users  # UserService.require audits refusals through the writer

    def _require(self, session: Session, what: str) -> None:
        if self.accounts is not None:
            self.accounts.require(session, Permission.AUDIT_READ, "audit", what)
            return
        # no account service (a reader beside the console): the same rule, unaudited
        if session.locked or session.check_inactivity():
            raise AuthError("the session is locked: enter your password to continue")
        if session.must_change_password:
            raise AuthError("change your password before going on")
        if not allowed(session.role, Permission.AUDIT_READ):
            raise PermissionDenied(
                f"{session.full_name} ({session.role.value}) may not {Permission.AUDIT_READ.value}"
            )
        session.touch()

    def query(
        self, session: Session, where: AuditFilter | None = None, limit: int = LIMIT
    ) -> AuditSelection:
        """The newest ``limit`` entries matching ``where`` and how many match."""
        self._require(session, "trail")
        return query_audit(self.db_path, where, limit)

    def actions(self, session: Session) -> list[str]:
        self._require(session, "trail")
        return distinct_actions(self.db_path)

    def users(self, session: Session) -> list[tuple[str, str]]:
        """(user id, printed name) of everyone in the trail."""
        self._require(session, "trail")
        return distinct_users(self.db_path)

    def object_types(self, session: Session) -> list[str]:
        self._require(session, "trail")
        return distinct_object_types(self.db_path)

    def chain(self, session: Session) -> VerifyResult:
        """The whole hash chain verified from the first entry."""
        self._require(session, "trail")
        result, _ = verify_database(self.db_path)
        return result

    def export_csv(self, session: Session, where: AuditFilter, folder: Path) -> AuditExport:
        """Every entry matching ``where`` into folder/audit-<UTC time>.csv (a new file)."""
        self._require(session, "export")
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = folder / f"audit-{stamp}.csv"
        n = 2
        while path.exists():  # two exports in one second: never overwrite a copy
            path = folder / f"audit-{stamp}-{n}.csv"
            n += 1
        who = f"{session.full_name} ({session.username}, {session.role.value})"
        return export_audit_selection(self.db_path, where, path, who)
