"""Seals: the audit chain's head signed with an installation key the database does not hold.

The hash chain alone shows an edit, but not a rewrite: whoever can write the file can
recompute every later hash. A seal is an Ed25519 signature over (head id, head hash,
UTC) made with a private key kept in a file beside (better: away from) the database,
readable only by the console's OS account. The public key is in the database
(``audit_keys``), so anyone can check the seals, also away from the workstation; no one
without the private key can make one. A rewritten chain no longer matches its seals.

Cadence: the writer seals in the same transaction as the entries, at every commit that
added any, so the newest entry is always sealed and anything after the newest seal was
not written by the console. To keep ``verify`` fast (an Ed25519 check costs ~0.1 ms),
the newest seal *moves forward* with the head (the row is re-signed) until it covers
SEAL_SPAN entries past the seal before it; then a new seal starts. A chain of N entries
has about N / SEAL_SPAN seals; every signed head also goes to the witness log.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from app.store.audit import Seal, canonical
from app.store.db import utc_now

KEY_ENV = "CELLDECK_SEAL_KEY"  # the key file, when it is not <data folder>/keys/seal.key
SEAL_SPAN = 500  # a seal moves with the head until it covers this many entries
ALGORITHM = "Ed25519"


class SealKeyError(RuntimeError):
    """The installation key is missing, unreadable, or not the key of this chain."""


def message(head_id: int, head_hash: str, utc: str) -> bytes:
    """What a seal signs (the audit trail's own canonical encoding)."""
    return canonical(("celldeck-seal-1", head_id, head_hash, utc))


def fingerprint(public_raw: bytes) -> str:
    """Short name of a public key: the first 128 bits of its SHA-256, in hex."""
    return hashlib.sha256(public_raw).hexdigest()[:32]


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_path(data_dir: str | Path) -> Path:
    """Where the installation key is: $CELLDECK_SEAL_KEY, else <data folder>/keys/seal.key."""
    override = os.environ.get(KEY_ENV)
    return Path(override).expanduser() if override else Path(data_dir) / "keys" / "seal.key"


def load_key(path: Path) -> Ed25519PrivateKey:
    """The private key from ``path``: PEM (PKCS#8) or the raw 32 bytes."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SealKeyError(f"seal key missing: {path}") from None
    except OSError as exc:
        raise SealKeyError(f"seal key {path} cannot be read: {exc}") from exc
    try:
        if len(data) == 32:
            return Ed25519PrivateKey.from_private_bytes(data)
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise SealKeyError(f"seal key {path} is not an Ed25519 key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SealKeyError(f"seal key {path} is not an Ed25519 key")
    return key


def create_key(path: Path) -> Ed25519PrivateKey:
    """A new key written to ``path`` (PEM, 0600, its folder 0700); never over a file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    return key


def db_keys(conn: sqlite3.Connection) -> dict[str, Ed25519PublicKey]:
    """The public keys this chain was sealed with, by fingerprint ({} before migration 10
    or before the first seal)."""
    try:
        rows = conn.execute("SELECT fingerprint, public_key FROM audit_keys").fetchall()
    except sqlite3.OperationalError:  # an older schema (verify-audit reads any file)
        return {}
    return {fp: Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw)) for fp, raw in rows}


def read_seals(conn: sqlite3.Connection) -> list[Seal]:
    try:
        rows = conn.execute(
            "SELECT id, head_id, head_hash, utc, signature, fingerprint FROM audit_seals"
            " ORDER BY id"
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    return [Seal(*row) for row in rows]


def signature_ok(keys: dict[str, Ed25519PublicKey], seal: Seal) -> bool:
    key = keys.get(seal.fingerprint)
    if key is None:
        return False
    try:
        key.verify(bytes.fromhex(seal.signature), message(seal.head_id, seal.head_hash, seal.utc))
    except (InvalidSignature, ValueError):
        return False
    return True


def check_seals(conn: sqlite3.Connection, seals: list[Seal]) -> tuple[str, int | None]:
    """Every seal signed by a key of this chain, numbered without gaps, each covering a
    newer head than the one before. Returns (problem, entry id it concerns) or ("", None)."""
    keys = db_keys(conn)
    previous = 0
    for number, seal in enumerate(seals, start=1):
        if seal.id != number:
            return f"seal #{number} removed", previous + 1
        if seal.fingerprint not in keys:
            return (
                f"seal #{seal.id} names key {seal.fingerprint}, which this database does not hold",
                seal.head_id,
            )
        if not signature_ok(keys, seal):
            return (
                f"seal #{seal.id} does not verify with key {seal.fingerprint}"
                " (the seal was altered or forged)",
                seal.head_id,
            )
        if seal.head_id <= previous:
            return f"seal #{seal.id} is out of order", seal.head_id
        previous = seal.head_id
    return "", None


def sealed_heads(seals: list[Seal]) -> dict[int, tuple[int, str, int]]:
    """head id -> (seal id, signed hash, head id of the seal before), for ``verify``."""
    heads, previous = {}, 0
    for seal in seals:
        heads[seal.head_id] = (seal.id, seal.head_hash, previous)
        previous = seal.head_id
    return heads


class Sealer:
    """Signs chain heads with the installation key; used on the writer's connection."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.public_raw = public_raw(key)
        self.fingerprint = fingerprint(self.public_raw)

    def sign(self, head_id: int, head_hash: str, utc: str) -> str:
        return self.key.sign(message(head_id, head_hash, utc)).hex()

    def seal(self, conn: sqlite3.Connection) -> Seal | None:
        """Seal the chain's head inside the caller's write transaction; None when it is
        sealed already. The newest seal moves forward unless it is full, made with
        another key, or no longer matches the chain (its evidence is then kept)."""
        head = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        if head is None:
            return None
        newest = conn.execute(
            "SELECT id, head_id, head_hash, fingerprint FROM audit_seals ORDER BY id DESC LIMIT 2"
        ).fetchall()
        if newest and newest[0][1] >= head[0]:
            return None
        conn.execute(
            "INSERT OR IGNORE INTO audit_keys (fingerprint, algorithm, public_key, added_utc)"
            " VALUES (?, ?, ?, ?)",
            (self.fingerprint, ALGORITHM, self.public_raw.hex(), utc_now()),
        )
        utc = utc_now()
        signature = self.sign(head[0], head[1], utc)
        if newest and self._moves(conn, newest):
            conn.execute(
                "UPDATE audit_seals SET head_id = ?, head_hash = ?, utc = ?, signature = ?"
                " WHERE id = ?",
                (head[0], head[1], utc, signature, newest[0][0]),
            )
            seal_id = newest[0][0]
        else:
            seal_id = conn.execute(
                "INSERT INTO audit_seals (head_id, head_hash, utc, signature, fingerprint)"
                " VALUES (?, ?, ?, ?, ?)",
                (head[0], head[1], utc, signature, self.fingerprint),
            ).lastrowid
        return Seal(seal_id, head[0], head[1], utc, signature, self.fingerprint)

    def _moves(self, conn: sqlite3.Connection, newest: list[tuple]) -> bool:
        _, head_id, head_hash, key = newest[0]
        before = newest[1][1] if len(newest) > 1 else 0
        if key != self.fingerprint or head_id - before >= SEAL_SPAN:
            return False
        row = conn.execute("SELECT hash FROM audit WHERE id = ?", (head_id,)).fetchone()
        return row is not None and row[0] == head_hash


def open_sealer(path: Path, keys: set[str]) -> Sealer:
    """The installation key for a chain sealed with ``keys`` (fingerprints): it must be
    one of them. A chain never sealed gets the key at ``path``, created when missing.
    Never creates a key over a sealed chain."""
    if keys:
        sealer = Sealer(load_key(path))  # SealKeyError("seal key missing: ...")
        if sealer.fingerprint not in keys:
            raise SealKeyError(
                "seal key does not match the key this chain was sealed with (fingerprint "
                f"{', '.join(sorted(keys))}; the key file {path} has {sealer.fingerprint})"
            )
        return sealer
    return Sealer(load_key(path) if path.exists() else create_key(path))
