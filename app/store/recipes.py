"""Recipe versions in the records: import, approve by signature, find what may run.

Importing a recipe file stores its exact text and content hash as a new draft version
(the same text again is the same version). Only a version a supervisor has approved
with an electronic signature (meaning "approved") may run; importing a changed recipe
makes a new draft and leaves the approved one as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from app.batch.recipe import Recipe, load_recipe
from app.store.audit import AuditEntry
from app.store.db import connect, utc_now
from app.store.security import Permission
from app.store.signatures import Meaning, Signature, SignatureService
from app.store.users import Session, UserService
from app.store.writer import WriterContext


@dataclass(frozen=True)
class RecipeVersion:
    id: int
    name: str
    version_no: int
    declared_version: str
    content_hash: str
    status: str  # draft, approved, superseded
    imported_utc: str
    imported_by: str
    approval_signature_id: int | None
    text: str

    def load(self) -> Recipe:
        """Parse the stored text again (it was valid when imported)."""
        return load_recipe(self.text, f"{self.name} v{self.version_no}")


class NotApproved(PermissionError):
    """A recipe version that has not been approved cannot run."""


class RecipeLibrary:
    def __init__(self, users: UserService, signatures: SignatureService, db_path: str | Path):
        self.users = users
        self.signatures = signatures
        self.db_path = Path(db_path)

    def _rows(self, where: str, args: list) -> list[RecipeVersion]:
        conn = connect(self.db_path, readonly=True)
        try:
            rows = list(Database(conn)["recipes"].rows_where(where, args, order_by="id"))
        finally:
            conn.close()
        return [RecipeVersion(**row) for row in rows]

    def get(self, version_id: int) -> RecipeVersion:
        found = self._rows("id = ?", [version_id])
        if not found:
            raise KeyError(f"no recipe version {version_id}")
        return found[0]

    def versions(self, name: str) -> list[RecipeVersion]:
        return self._rows("name = ?", [name])

    def approved(self) -> list[RecipeVersion]:
        return self._rows("status = 'approved'", [])

    def import_recipe(self, recipe: Recipe, actor_id: str, actor_name: str) -> RecipeVersion:
        """Store a validated recipe as a draft version (or find the identical one)."""
        existing = self._rows("name = ? AND content_hash = ?", [recipe.name, recipe.content_hash])
        if existing:
            return existing[0]

        def job(ctx: WriterContext) -> int:
            number = ctx.conn.execute(
                "SELECT COALESCE(MAX(version_no), 0) + 1 FROM recipes WHERE name = ?",
                (recipe.name,),
            ).fetchone()[0]
            version_id = ctx.conn.execute(
                "INSERT INTO recipes (name, version_no, declared_version, text, content_hash,"
                " status, imported_utc, imported_by) VALUES (?, ?, ?, ?, ?, 'draft', ?, ?)",
                (
                    recipe.name,
                    number,
                    recipe.version,
                    recipe.text,
                    recipe.content_hash,
                    utc_now(),
                    actor_name,
                ),
            ).lastrowid
            ctx.audit.append(
                AuditEntry(
                    actor_id,
                    actor_name,
                    "recipe.import",
                    "recipe",
                    f"{recipe.name} v{number}",
                    new_value=f"draft sha256:{recipe.content_hash}",
                )
            )
            return version_id

        return self.get(self.users.writer.call(job))

    def approve(
        self, session: Session, password: str, version_id: int, username: str | None = None
    ) -> RecipeVersion:
        """A supervisor's signature (meaning approved) makes a draft runnable; an earlier
        approved version of the same recipe is superseded."""
        self.users.require(session, Permission.RECIPE_APPROVE, "recipe", str(version_id))
        version = self.get(version_id)
        if version.status != "draft":
            raise ValueError(
                f"{version.name} v{version.version_no} is {version.status}, not a draft"
            )

        def approve_version(ctx: WriterContext, signature: Signature) -> None:
            ctx.conn.execute(
                "UPDATE recipes SET status = 'superseded' WHERE name = ? AND status = 'approved'",
                (version.name,),
            )
            ctx.conn.execute(
                "UPDATE recipes SET status = 'approved', approval_signature_id = ? WHERE id = ?",
                (signature.id, version_id),
            )
            ctx.audit.append(
                AuditEntry(
                    str(session.user_id),
                    session.full_name,
                    "recipe.approve",
                    "recipe",
                    f"{version.name} v{version.version_no}",
                    old_value="draft",
                    new_value="approved",
                )
            )

        # the signature and the status change commit together: never a signed draft
        self.signatures.sign(
            session,
            password,
            Meaning.APPROVED,
            "recipe",
            str(version_id),
            version.text,
            username,
            then=approve_version,
        )
        return self.get(version_id)

    def runnable(self, version_id: int) -> Recipe:
        """The recipe of an approved version whose signature still matches its text."""
        version = self.get(version_id)
        if version.status != "approved":
            raise NotApproved(
                f"{version.name} v{version.version_no} is {version.status}: "
                "only an approved version may run"
            )
        checks = self.signatures.verify("recipe", str(version_id), version.text)
        if not any(c.valid and c.signature.meaning is Meaning.APPROVED for c in checks):
            raise NotApproved(f"{version.name} v{version.version_no}: approval signature broken")
        return version.load()
