"""Where the console keeps its data: ``--data-dir`` or Qt's per-user AppDataLocation."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QStandardPaths

APP_NAME = "CellDeck"
ORG_NAME = "CellDeck"


def resources_dir() -> Path:
    """The shipped resources (recipes, styles, fonts, icons): beside the packages in a
    source tree, or wherever the installer's bundle put them (``CELLDECK_RESOURCES``)."""
    import os

    override = os.environ.get("CELLDECK_RESOURCES")
    return Path(override) if override else Path(__file__).resolve().parents[1] / "resources"


def default_data_dir() -> Path:
    """Qt's AppDataLocation for CellDeck (e.g. ~/.local/share/CellDeck/CellDeck)."""
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(location) if location else Path.home() / ".celldeck"


def prepare_data_dir(path: str | Path | None) -> Path:
    """Create the data folder if needed (0700: the records hold password hashes) and
    check that we may write there."""
    folder = Path(path).expanduser() if path else default_data_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    probe = folder / ".write-test"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise OSError(f"data folder {folder} is not writable: {exc}") from exc
    return folder


def resolve_data_dir(path: str | Path | None) -> Path:
    """The data folder named on the command line, or the default; not created."""
    return Path(path).expanduser() if path else default_data_dir()
