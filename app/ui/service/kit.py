"""What the Service page's tools share: the tab base classes, what a tab may ask of its
page (``ServicePageApi``, so no tab imports the page: the page imports the tabs), and
the small widgets of a tool (titled panels, live values, refusal lines, labels).

Buttons are app/ui/page_kit.touch_button, the one touch-button helper; a tool's
buttons are taller for gloves and share their row (``touch_button(..., **TOOL_BUTTON)``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.store.users import Session
from app.ui.hardware_calls import ServiceCalls
from hardware.driver import Identity

BUTTON_PX = 64  # a tool's buttons: a little above the 60 px minimum, for gloves
TOOL_BUTTON: dict[str, Any] = {"height": BUTTON_PX, "expanding": True}  # touch_button(**)
LIVE_STYLE = "font-size: 22px; font-weight: bold; background: transparent;"

Request = Callable[..., None]  # a ServiceCalls method, e.g. ``ServiceCalls.raw``


class ServicePageApi(Protocol):
    """What a tab uses of the Service page (app/ui/service/page.py)."""

    calls: ServiceCalls | None
    records: Any  # app.records.Records, set by the shell
    background: Any  # app.ui.background.Background
    identity: Identity | None  # the instrument, set at each connection
    active: bool  # in service mode
    message: QLabel

    def session(self) -> Session | None: ...

    def call(
        self,
        request: Request,
        *args: Any,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
    ) -> bool: ...

    def say(self, text: str, error: bool = False) -> None: ...

    def open_dialog(self, dialog: QDialog, on_accept: Callable[[], None] | None = None) -> None: ...


class ServiceTab(QWidget):
    """A tool on the Service page. ``needs_service``: enabled only in service mode."""

    title = "?"
    needs_service = True

    def __init__(self, page: ServicePageApi) -> None:
        super().__init__()
        self.page = page

    def service_changed(self, active: bool) -> None:
        """Service mode was entered or left."""

    def shown(self) -> None:
        """The tab came to the front."""


class ToolTab(ServiceTab):
    """A service tool with what the Calibration, Self-test and Serial console tabs
    share: calls that report failure to the tool as well as on the page's message line,
    the instrument's identity, the data and exports folders, and the page's Background
    and Records."""

    @property
    def identity(self) -> Identity | None:
        return self.page.identity  # set by the shell at every (re)connection

    @property
    def records(self):
        return self.page.records  # app.records.Records: set by the shell

    @property
    def background(self):
        return self.page.background  # app.ui.background.Background: set by the shell

    @property
    def data_dir(self) -> Path:
        return Path(self.records.path).parent

    @property
    def exports(self) -> Path:
        return self.data_dir / "exports"

    def call(
        self,
        request: Request,
        *args: Any,
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """``page.call``; when nothing could be sent, ``failed`` hears it too."""
        if not self.page.call(request, *args, done=done, failed=failed) and failed is not None:
            failed(RuntimeError("nobody is signed in"))


# ------------------------------------------------------------------ small widgets
def utc_stamp() -> str:
    """'20250301T123456Z': for export file names."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def repolish(widget: QWidget, object_name: str) -> None:
    widget.setObjectName(object_name)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def big_label(text: str = "", size: int = 24, bold: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(
        f"font-size: {size}px; {'font-weight: bold;' if bold else ''} background: transparent;"
    )
    return label


def coloured(label: QLabel, colour: str, size: int = 24) -> None:
    label.setStyleSheet(
        f"font-size: {size}px; font-weight: bold; color: {colour}; background: transparent;"
    )


def live_label(text: str = "–") -> QLabel:
    label = QLabel(text)
    label.setStyleSheet(LIVE_STYLE)
    return label


def refusal_label(name: str) -> QLabel:
    label = QLabel("")
    label.setObjectName("Error")
    label.setAccessibleName(name)
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def scrolled(body: QWidget) -> QScrollArea:
    """``body`` in a frameless scroll area: a tool never makes the page taller than a
    1280 x 800 panel, and on that panel it fits without scrolling."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(body)
    return scroll


def panel(title: str) -> tuple[QFrame, QVBoxLayout, QHBoxLayout]:
    """A titled surface: (frame, its column, the title row to add live values to)."""
    frame = QFrame()
    frame.setObjectName("Panel")
    column = QVBoxLayout(frame)
    column.setContentsMargins(14, 8, 14, 10)
    column.setSpacing(8)
    heading = QHBoxLayout()
    heading.setSpacing(12)
    label = QLabel(title)
    label.setObjectName("PanelTitle")
    label.setStyleSheet("font-size: 20px;")
    heading.addWidget(label)
    column.addLayout(heading)
    return frame, column, heading


def number(value: float, decimals: int) -> str:
    return f"{round(value, decimals) + 0.0:.{decimals}f}"  # + 0.0: never "-0.0"
