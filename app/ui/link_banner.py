"""Top bar: link state as a coloured pill, the instrument's identity, link counters
and the clock."""

from __future__ import annotations

from PySide6.QtCore import QDateTime, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.ui import theme
from hardware.driver import Identity


class LinkBanner(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state_label = QLabel("CONNECTING")
        self.state_label.setObjectName("LinkState")
        self.state_label.setMinimumHeight(theme.MIN_TOUCH_PX)
        self.state_label.setMinimumWidth(260)
        self.identity_label = QLabel("Instrument: not identified")
        self.identity_label.setObjectName("Identity")
        self.stats_label = QLabel("")
        self.stats_label.setObjectName("LinkStats")
        self.clock = QLabel()
        self.clock.setObjectName("Clock")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(20)
        layout.addWidget(self.state_label)
        details = QVBoxLayout()
        details.setSpacing(0)
        details.addWidget(self.identity_label)
        details.addWidget(self.stats_label)
        layout.addLayout(details, 1)
        layout.addWidget(self.clock)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(1000)
        self._tick()
        self.problem = ""
        self.set_state("CONNECTING", "")

    def _tick(self) -> None:
        self.clock.setText(QDateTime.currentDateTime().toString("yyyy-MM-dd  HH:mm:ss"))

    def set_state(self, state: str, detail: str) -> None:
        colour = theme.LINK_COLOURS.get(state, theme.MUTED)
        self.state_label.setText(f"  ● {state}  ")
        self.state_label.setToolTip(detail)
        self.problem = "" if state == "CONNECTED" else detail
        if self.problem:  # say why, in words, where the operator looks
            self.stats_label.setText(self.problem)
        self.state_label.setStyleSheet(
            f"background: {colour}; color: white; border-radius: 10px;"
            " font-size: 24px; font-weight: 700; padding: 4px 14px;"
        )
        self.state = state

    def set_identity(self, identity: Identity) -> None:
        self.identity_label.setText(
            f"{identity.model}  ·  S/N {identity.serial}  ·  firmware {identity.firmware}"
            f"  ·  kit {identity.kit}"
        )

    def set_stats(self, stats: dict) -> None:
        if self.problem:
            return
        latency = stats.get("latency_ms_median")
        lat = f"{latency:.1f} ms" if latency is not None else "–"
        self.stats_label.setText(
            f"frames {stats.get('frames_in', 0)}   CRC errors {stats.get('crc_errors', 0)}"
            f"   reconnects {stats.get('reconnects', 0)}   round trip {lat}"
        )
