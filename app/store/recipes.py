"""Recipe versions in the records: store a draft, approve or retire by signature,
compare, find what may run.

Importing a recipe file stores its exact text and content hash as a new draft version
(the same text again is the same version). Only a version a supervisor has approved
with an electronic signature (meaning "approved") may run; importing a changed recipe
makes a new draft and leaves the approved one as it was. A supervisor retires a version
with a signature (meaning "rejected") and a reason: it can then never run or be
approved again.

The store keeps rows and text; it does not parse recipes. Parsing and validating a file
on import, the permission to import and the parsed recipe of a runnable version are
app/batch/library.py's ``RecipeLibrary`` (built on ``RecipeStore``).
"""

from __future__ import annotations

import difflib
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from app.store.actor import Actor
from app.store.audit import AuditEntry
from app.store.db import connect, utc_now
from app.store.run_states import FINAL_STATES
from app.store.security import Permission
from app.store.signatures import Meaning, Signature, SignatureService
from app.store.signing import Duties, SigningRequest, recipe_request
from app.store.users import Session, UserService
from app.store.writer import WriterContext


@dataclass(frozen=True)
class RecipeVersion:
    id: int
    name: str
    version_no: int
    declared_version: str
    content_hash: str
    status: str  # draft, approved, superseded, retired
    imported_utc: str
    imported_by: str
    approval_signature_id: int | None
    text: str
    retired_signature_id: int | None = None  # migration 5
    retired_reason: str | None = None

    @property
    def label(self) -> str:
        """How people name a version: "Demo v2"."""
        return f"{self.name} v{self.version_no}"


RETIRED = "retired"
# What retiring signs: the supervisor rejects the version for any further use. (The
# signature meanings are fixed in app/store/signatures.py; "rejected" is the one that
# says "not to be used".)
RETIRE_MEANING = Meaning.REJECTED

Comparison = list[tuple[str, str, str]]  # (same/changed/added/removed, left, right)


def side_by_side(left: list[str], right: list[str]) -> Comparison:
    """A line diff for two columns: each row is (kind, left line, right line). Lines
    only on the left are "removed" (right ""), only on the right "added" (left "");
    a block replaced by another is paired line by line as "changed", its overhang
    removed or added."""
    rows: Comparison = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [("same", a, b) for a, b in zip(left[i1:i2], right[j1:j2], strict=True)]
        elif tag == "delete":
            rows += [("removed", a, "") for a in left[i1:i2]]
        elif tag == "insert":
            rows += [("added", "", b) for b in right[j1:j2]]
        else:  # replace
            old, new = left[i1:i2], right[j1:j2]
            for k in range(max(len(old), len(new))):
                if k < len(old) and k < len(new):
                    rows.append(("changed", old[k], new[k]))
                elif k < len(old):
                    rows.append(("removed", old[k], ""))
                else:
                    rows.append(("added", "", new[k]))
    return rows


def _version(row: dict) -> RecipeVersion:
    if row.get("retired_signature_id") is not None:
        row = {**row, "status": RETIRED}  # the column keeps the status it had (schema 5)
    return RecipeVersion(**row)


class NotApproved(PermissionError):
    """A recipe version that has not been approved cannot run."""


def count_versions(db_path: str | Path) -> int:
    """How many recipe versions the records hold (the installation check's)."""
    with closing(connect(db_path, readonly=True)) as conn:
        return conn.execute("SELECT COUNT(*) FROM recipes").fetchone()[0]


class RecipeStore:
    """The ``recipes`` table: versions, approval and retirement by signature."""

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
        return [_version(row) for row in rows]

    def get(self, version_id: int) -> RecipeVersion:
        found = self._rows("id = ?", [version_id])
        if not found:
            raise KeyError(f"no recipe version {version_id}")
        return found[0]

    def versions(self, name: str) -> list[RecipeVersion]:
        return self._rows("name = ?", [name])

    def all_versions(self) -> list[RecipeVersion]:
        """Every version of every recipe, oldest import first."""
        return self._rows("1 = 1", [])

    def approved(self) -> list[RecipeVersion]:
        return self._rows("status = 'approved' AND retired_signature_id IS NULL", [])

    def add_draft(
        self, name: str, declared_version: str, text: str, content_hash: str, actor: Actor
    ) -> RecipeVersion:
        """Store a recipe text (already validated, its permission already checked: see
        app/batch/library.py) as a draft version, or find the identical one."""
        existing = self._rows("name = ? AND content_hash = ?", [name, content_hash])
        if existing:
            return existing[0]

        def job(ctx: WriterContext) -> int:
            number = ctx.conn.execute(
                "SELECT COALESCE(MAX(version_no), 0) + 1 FROM recipes WHERE name = ?",
                (name,),
            ).fetchone()[0]
            version_id = ctx.conn.execute(
                "INSERT INTO recipes (name, version_no, declared_version, text, content_hash,"
                " status, imported_utc, imported_by) VALUES (?, ?, ?, ?, ?, 'draft', ?, ?)",
                (name, number, declared_version, text, content_hash, utc_now(), actor.name),
            ).lastrowid
            ctx.audit.append(
                AuditEntry(
                    actor.id,
                    actor.name,
                    "recipe.import",
                    "recipe",
                    f"{name} v{number}",
                    new_value=f"draft sha256:{content_hash}",
                )
            )
            return version_id

        return self.get(self.users.writer.call(job))

    @staticmethod
    def request(meaning: Meaning, version: RecipeVersion) -> SigningRequest:
        """What approving (or retiring: ``RETIRE_MEANING``) ``version`` says."""
        return recipe_request(meaning, version.name, version.version_no, version.id)

    def approval_refusal(self, session: Session, version: RecipeVersion) -> str | None:
        """Why the duty rules refuse this person's approval of ``version`` (its author
        does not approve it), or None; the Recipes page shows Approve disabled with it."""
        duties = Duties(self.users, self.db_path)
        found = duties.refusal(self.request(Meaning.APPROVED, version), Actor.of(session))
        return found.reason if found else None

    def approve(
        self, session: Session, password: str, version_id: int, username: str | None = None
    ) -> RecipeVersion:
        """A supervisor's signature (meaning approved) makes a draft runnable; an earlier
        approved version of the same recipe is superseded. Whoever imported the version
        does not approve it (a duty rule, refused before the password is checked)."""
        self.users.require(session, Permission.RECIPE_APPROVE, "recipe", str(version_id))
        version = self.get(version_id)
        if version.status != "draft":
            raise ValueError(
                f"{version.name} v{version.version_no} is {version.status}, not a draft"
            )
        request = self.request(Meaning.APPROVED, version)
        Duties(self.users, self.db_path).enforce(request, Actor.of(session))

        def approve_version(ctx: WriterContext, signature: Signature) -> None:
            ctx.conn.execute(
                "UPDATE recipes SET status = 'superseded' WHERE name = ? AND status = 'approved'"
                " AND retired_signature_id IS NULL",  # a retired one stays as it was retired
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
            statement=request.statement,
        )
        return self.get(version_id)

    def retire(
        self,
        session: Session,
        password: str,
        version_id: int,
        reason: str,
        username: str | None = None,
    ) -> RecipeVersion:
        """A supervisor's signature (meaning rejected) over the version's text takes it
        out of use for good: it can no longer run or be approved. Refused while a run
        that has not finished uses it (it may need to resume)."""
        self.users.require(session, Permission.RECIPE_APPROVE, "recipe", str(version_id))
        if not reason or not reason.strip():
            raise ValueError("retiring a recipe version needs a reason")
        version = self.get(version_id)
        self._check_retirable(version, self._unfinished_runs(version_id))

        def retire_version(ctx: WriterContext, signature: Signature) -> None:
            # checked again inside the transaction: someone may have been quicker
            status, retired = ctx.conn.execute(
                "SELECT status, retired_signature_id FROM recipes WHERE id = ?", (version_id,)
            ).fetchone()
            runs = ctx.conn.execute(self._UNFINISHED_SQL, (version_id, *FINAL_STATES)).fetchall()
            self._check_retirable(version, runs, retired is not None)
            ctx.conn.execute(
                "UPDATE recipes SET retired_signature_id = ?, retired_reason = ? WHERE id = ?",
                (signature.id, reason.strip(), version_id),
            )
            ctx.audit.append(
                AuditEntry(
                    str(session.user_id),
                    session.full_name,
                    "recipe.retire",
                    "recipe",
                    version.label,
                    old_value=status,
                    new_value=RETIRED,
                    reason=reason.strip(),
                    reason_required=True,
                )
            )

        # the signature and the retirement commit together, or neither does
        self.signatures.sign(
            session,
            password,
            RETIRE_MEANING,
            "recipe",
            str(version_id),
            version.text,
            username,
            then=retire_version,
            statement=self.request(RETIRE_MEANING, version).statement,
        )
        return self.get(version_id)

    _UNFINISHED_SQL = (
        "SELECT batch_id, state FROM runs WHERE recipe_id = ? AND state NOT IN ("
        + ", ".join("?" * len(FINAL_STATES))
        + ") ORDER BY id"
    )

    def _unfinished_runs(self, version_id: int) -> list[tuple[str, str]]:
        conn = connect(self.db_path, readonly=True)
        try:
            return conn.execute(self._UNFINISHED_SQL, (version_id, *FINAL_STATES)).fetchall()
        finally:
            conn.close()

    @staticmethod
    def _check_retirable(
        version: RecipeVersion, runs: list[tuple[str, str]], retired: bool = False
    ) -> None:
        if retired or version.status == RETIRED:
            raise ValueError(f"{version.label} is already retired")
        if runs:
            batches = ", ".join(f"{batch} ({state})" for batch, state in runs)
            raise ValueError(
                f"{version.label} is used by a run that has not finished: {batches}. "
                "Finish or abort that run first."
            )

    def compare(self, version_a_id: int, version_b_id: int) -> Comparison:
        """Two versions' texts side by side, line by line (see ``side_by_side``)."""
        left, right = self.get(version_a_id), self.get(version_b_id)
        return side_by_side(left.text.splitlines(), right.text.splitlines())

    def approved_version(self, version_id: int) -> RecipeVersion:
        """An approved, not retired version whose approval signature still matches its
        text; NotApproved otherwise."""
        version = self.get(version_id)
        if version.status == RETIRED:
            raise NotApproved(
                f"{version.label} was retired ({version.retired_reason}): it can no longer run"
            )
        if version.status != "approved":
            raise NotApproved(
                f"{version.name} v{version.version_no} is {version.status}: "
                "only an approved version may run"
            )
        checks = self.signatures.verify("recipe", str(version_id), version.text)
        if not any(c.valid and c.signature.meaning is Meaning.APPROVED for c in checks):
            raise NotApproved(f"{version.name} v{version.version_no}: approval signature broken")
        return version
