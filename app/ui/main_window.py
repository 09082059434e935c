"""The console's main window for now: link state, every channel, live trends.

Reads state only from the hardware thread's signals; never touches the serial port.
"""

from __future__ import annotations

import logging

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QVBoxLayout, QWidget

from app.ui import theme
from app.ui.channel_panel import ChannelPanel
from app.ui.link_banner import LinkBanner
from app.ui.records_bar import RecordsBar
from app.ui.trends import TrendPanel
from hardware.driver import Identity
from hardware.protocol import Event
from hardware.worker import InstrumentController, TelemetryBatch

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(self, controller: InstrumentController) -> None:
        super().__init__()
        self.controller = controller
        self.setWindowTitle("CellDeck")
        self.setStyleSheet(theme.STYLESHEET)
        self.banner = LinkBanner()
        self.records_bar = RecordsBar()
        self.channels = ChannelPanel()
        self.trends = TrendPanel()
        body = QHBoxLayout()
        body.setSpacing(12)
        self.channels.setFixedWidth(620)
        body.addWidget(self.channels)
        body.addWidget(self.trends, 1)
        root = QVBoxLayout()
        root.setContentsMargins(12, 6, 12, 12)
        root.addWidget(self.banner)
        root.addWidget(self.records_bar)
        root.addLayout(body, 1)
        central = QWidget()
        central.setLayout(root)
        self.setCentralWidget(central)
        self.samples_seen = 0
        worker = controller.worker
        worker.telemetry.connect(self.on_telemetry)
        worker.link_state.connect(self.on_link_state)
        worker.identity.connect(self.on_identity)
        worker.stats.connect(self.banner.set_stats)
        worker.events.connect(self.on_events)

    def on_telemetry(self, batch: TelemetryBatch) -> None:
        self.samples_seen += len(batch)
        self.channels.show_values(batch.values[-1])
        self.trends.add_batch(batch.boot, batch.t_ms, batch.values)

    def on_link_state(self, state: str, detail: str) -> None:
        log.info("link %s: %s", state, detail)
        self.banner.set_state(state, detail)
        self.channels.set_stale(state != "CONNECTED")

    def on_identity(self, identity: Identity) -> None:
        log.info("instrument %s", identity)
        self.banner.set_identity(identity)

    def on_events(self, events: list[Event]) -> None:
        for event in events:
            log.info("instrument event %s %s %s", event.t_ms, event.code, event.data)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.controller.shutdown()
        super().closeEvent(event)
