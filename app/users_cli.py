"""``celldeck users ...``: account administration from the command line.

Every subcommand but ``init`` needs an administrator's user name and password; each
change is audited like the same change made on screen. Passwords are asked for on the
terminal, or read one per line from standard input with ``--password-stdin``
(administrator's first, then the new account's).
"""

from __future__ import annotations

import argparse
import getpass
import socket
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from app.store.db import DB_NAME, open_database
from app.store.schema import SchemaError
from app.store.security import PasswordRejected, Role
from app.store.settings import SettingsService
from app.store.users import AuthError, PermissionDenied, UserService
from app.store.writer import StoreError, StoreWriter


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", parents=parents, help="manage user accounts")
    actions = users.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False, parents=parents)
    common.add_argument(
        "--password-stdin",
        action="store_true",
        help="read passwords from standard input, one per line",
    )
    admin = argparse.ArgumentParser(add_help=False, parents=[common])
    admin.add_argument("--admin", required=True, metavar="USER", help="administrator signing in")
    reason = argparse.ArgumentParser(add_help=False)
    reason.add_argument("--reason", required=True, help="why (recorded in the audit trail)")

    init = actions.add_parser("init", parents=[common], help="create the first administrator")
    init.add_argument("--username", required=True)
    init.add_argument("--full-name", required=True, help="printed name")
    add = actions.add_parser("add", parents=[admin, reason], help="add an account")
    add.add_argument("username")
    add.add_argument("--full-name", required=True, help="printed name (shown on signatures)")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    actions.add_parser("list", parents=[admin], help="list accounts")
    for name, text in (
        ("disable", "disable an account"),
        ("unlock", "unlock a locked account"),
        ("reset-password", "give an account a temporary password"),
    ):
        action = actions.add_parser(name, parents=[admin, reason], help=text)
        action.add_argument("username")


class Passwords:
    """Passwords asked on the terminal (hidden), or one per line from standard input."""

    def __init__(self, from_stdin: bool) -> None:
        self.lines = sys.stdin.read().splitlines() if from_stdin else None

    def ask(self, prompt: str, confirm: bool = False) -> str:
        if self.lines is not None:
            if not self.lines:
                raise AuthError(f"no password on standard input for: {prompt}")
            return self.lines.pop(0)
        first = getpass.getpass(f"{prompt}: ")
        if confirm and getpass.getpass(f"{prompt} (again): ") != first:
            raise AuthError("the two passwords differ")
        return first


def run(args: argparse.Namespace, data_dir: Path) -> int:
    if args.action != "init" and not (data_dir / DB_NAME).exists():
        print(
            f"no records database in {data_dir} (start with 'celldeck users init')", file=sys.stderr
        )
        return 2
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = open_database(data_dir)
    except (SchemaError, OSError, sqlite3.DatabaseError) as exc:
        print(f"cannot open the records in {data_dir}: {exc}", file=sys.stderr)
        return 2
    writer = StoreWriter(path, socket.gethostname()).start()
    users = UserService(writer, path)
    users.policy = SettingsService(writer, path, users).policy()  # the site's account rules
    passwords = Passwords(args.password_stdin)
    try:
        return _dispatch(args, users, passwords)
    except (AuthError, PermissionDenied, PasswordRejected, ValueError, StoreError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    finally:
        writer.close()


def _dispatch(args: argparse.Namespace, users: UserService, passwords: Passwords) -> int:
    if args.action == "init":
        new = passwords.ask(f"password for {args.username}", confirm=True)
        users.create_first_administrator(args.username, args.full_name, new)
        print(f"administrator {args.username} created")
        return 0
    session = users.login(args.admin, passwords.ask(f"password of administrator {args.admin}"))
    if session.must_change_password:
        raise AuthError("the administrator must change their password first (sign in on screen)")
    handlers: dict[str, Callable[[], str]] = {
        "add": lambda: (
            users.add_user(
                session,
                args.username,
                args.full_name,
                Role(args.role),
                passwords.ask(f"temporary password for {args.username}", True),
                args.reason,
            )
            or f"added {args.username} ({args.role}); password to change at first sign-in"
        ),
        "disable": lambda: (
            users.disable(session, args.username, args.reason) or f"disabled {args.username}"
        ),
        "unlock": lambda: (
            users.unlock(session, args.username, args.reason) or f"unlocked {args.username}"
        ),
        "reset-password": lambda: (
            users.reset_password(
                session,
                args.username,
                passwords.ask(f"temporary password for {args.username}", True),
                args.reason,
            )
            or f"reset the password of {args.username}"
        ),
        "list": lambda: "\n".join(
            f"{u.username:<16} {u.role.value:<14} {u.full_name:<28} "
            f"{'disabled' if u.disabled else 'locked' if u.locked else 'active'}"
            for u in users.list_users(session)
        ),
    }
    print(handlers[args.action]())
    return 0
