"""Which CellDeck this is: version, git commit and build date, for About, ``--version``
and every exported record (a PDF's footer, a CSV's first lines).

Where the facts come from, first found wins:

1. a bundle built by ``make package``: ``build-info.json`` beside the bundled packages
   (``sys._MEIPASS``), written by packaging/celldeck.spec at build time;
2. ``CELLDECK_BUILD_INFO``: the path of such a file (tests, odd installs);
3. a source checkout: the version from the installed package's metadata
   (``importlib.metadata``), the commit from ``git rev-parse`` (with ``+dirty`` when the
   work tree has changes), and no build date (it was not built).

Nothing here raises: an unknown fact reads "unknown".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

DIST_NAME = "celldeck"
BUILD_INFO_NAME = "build-info.json"
UNKNOWN = "unknown"
FALLBACK_VERSION = "0.1.0"  # kept equal to pyproject.toml's; used when no metadata exists


def _package_version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version(DIST_NAME)
    except (ImportError, PackageNotFoundError):
        return FALLBACK_VERSION


__version__ = _package_version()


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str  # short hash, "+dirty" appended when built from a changed work tree
    build_date: str  # UTC, ISO 8601; "" when running from source (never built)
    source: str  # "bundle", "checkout" or "package" (pip-installed, no git)

    def summary(self) -> str:
        """One line for footers and CSV preambles: ``CellDeck 0.1.0 · commit 1a2b3c4 ·
        built 2026-11-30T10:12:00Z`` (``· from source`` when not built)."""
        built = f"built {self.build_date}" if self.build_date else "from source"
        return f"CellDeck {self.version} · commit {self.commit} · {built}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def bundle_dir() -> Path | None:
    """The frozen bundle's folder of packages and data (PyInstaller), else None."""
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return None


def read_build_file(path: Path) -> BuildInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return BuildInfo(
            version=str(data.get("version") or __version__),
            commit=str(data.get("commit") or UNKNOWN),
            build_date=str(data.get("build_date") or ""),
            source=str(data.get("source") or "bundle"),
        )
    except (OSError, ValueError, AttributeError):
        return None


def git_commit(repo: Path, timeout_s: float = 3.0) -> str:
    """The short commit of the checkout at ``repo``, ``+dirty`` with uncommitted changes
    to tracked files; "unknown" without git or outside a checkout."""
    if not (repo / ".git").exists():
        return UNKNOWN
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return f"{commit}+dirty" if commit and dirty else commit or UNKNOWN


@cache
def build_info() -> BuildInfo:
    """This program's version and build facts (computed once)."""
    bundle = bundle_dir()
    candidates = []
    if bundle is not None:
        candidates.append(bundle / BUILD_INFO_NAME)
    if os.environ.get("CELLDECK_BUILD_INFO"):
        candidates.append(Path(os.environ["CELLDECK_BUILD_INFO"]))
    for path in candidates:
        info = read_build_file(path)
        if info is not None:
            return info
    repo = Path(__file__).resolve().parents[1]
    if (repo / ".git").exists():
        return BuildInfo(__version__, git_commit(repo), "", "checkout")
    return BuildInfo(__version__, UNKNOWN, "", "package")


def version_text() -> str:
    """What ``celldeck --version`` prints."""
    info = build_info()
    built = f"built {info.build_date}" if info.build_date else "not built (running from source)"
    return f"celldeck {info.version} (commit {info.commit}, {built})"
