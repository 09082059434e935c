"""Every channel's current value, grouped the way an operator thinks about the kit."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from app.ui import theme
from hardware.protocol import (
    CHANNEL_BY_NAME,
    CHANNEL_INDEX,
    STATES,
    active_interlocks,
    open_valves,
)

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PROCESS", ("temp", "temp_sp", "heater", "ph", "do", "co2", "co2_sp", "vcd")),
    ("FLUIDICS", ("pressure", "p1_rate", "p1_vol", "p2_rate", "p2_vol", "valves", "bubble")),
    ("BAGS", ("w_source", "w_media", "w_buffer", "w_waste", "w_product", "w_chamber")),
    ("INSTRUMENT", ("rpm", "rpm_sp", "door", "ilk", "state")),
)


SHORT_LABELS: dict[str, str] = {
    "pressure": "Pressure",
    "p1_rate": "Pump 1",
    "p1_vol": "Pump 1 vol.",
    "p2_rate": "Pump 2",
    "p2_vol": "Pump 2 vol.",
    "w_source": "Source",
    "w_media": "Media",
    "w_buffer": "Buffer",
    "w_waste": "Waste",
    "w_product": "Product",
    "rpm": "Rotor",
    "rpm_sp": "Rotor set-point",
    "state": "State",
}


def _names(on: list[str], none: str) -> str:
    return " ".join(on) if on else none


def format_channel(name: str, value: float) -> tuple[str, bool]:
    """Display text for a channel value, and whether it is an abnormal condition."""
    if name == "valves":
        return _names(open_valves(value), "closed"), False
    if name == "ilk":
        return _names(active_interlocks(value), "none"), int(value) != 0
    if name == "state":
        index = int(value)
        state = STATES[index].value if 0 <= index < len(STATES) else f"? {index}"
        return state, index != 0
    if name == "door":
        return ("OPEN", True) if value else ("closed", False)
    if name == "bubble":
        return ("BUBBLE", True) if value else ("none", False)
    decimals = CHANNEL_BY_NAME[name].decimals
    return f"{round(value, decimals) + 0.0:.{decimals}f}", False  # + 0.0: never "-0.0"


class ChannelPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value_labels: dict[str, QLabel] = {}
        self._abnormal: dict[str, bool] = {}
        self.stale = False
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        for index, (title, names) in enumerate(GROUPS):
            layout.addWidget(self._group(title, names), index // 2, index % 2)

    def _group(self, title: str, names: tuple[str, ...]) -> QFrame:
        frame = QFrame()
        frame.setObjectName("Panel")
        outer = QVBoxLayout(frame)
        outer.setContentsMargins(14, 10, 14, 10)
        heading = QLabel(title)
        heading.setObjectName("PanelTitle")
        outer.addWidget(heading)
        grid = QGridLayout()
        grid.setVerticalSpacing(2)
        grid.setHorizontalSpacing(8)
        for row, name in enumerate(names):
            channel = CHANNEL_BY_NAME[name]
            label = QLabel(SHORT_LABELS.get(name, channel.label))
            label.setObjectName("ChannelName")
            value = QLabel("–")
            value.setObjectName("ChannelValue")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            unit = QLabel(channel.unit)
            unit.setObjectName("ChannelUnit")
            grid.addWidget(label, row, 0)
            grid.addWidget(value, row, 1)
            grid.addWidget(unit, row, 2)
            self.value_labels[name] = value
        grid.setColumnStretch(0, 1)
        outer.addLayout(grid)
        outer.addStretch(1)
        return frame

    def show_values(self, values) -> None:
        """Show one sample (a sequence in protocol channel order)."""
        for name, label in self.value_labels.items():
            text, abnormal = format_channel(name, float(values[CHANNEL_INDEX[name]]))
            label.setText(text)
            if self._abnormal.get(name) != abnormal:
                self._abnormal[name] = abnormal
                self._colour(name)

    def set_stale(self, stale: bool) -> None:
        """Grey every value while the link is down: they are last known, not current."""
        if stale != self.stale:
            self.stale = stale
            for name in self.value_labels:
                self._colour(name)

    def _colour(self, name: str) -> None:
        if self.stale:
            colour = theme.STALE
        else:
            colour = theme.BAD if self._abnormal.get(name) else theme.TEXT
        self.value_labels[name].setStyleSheet(f"color: {colour};")

    def value_text(self, name: str) -> str:
        return self.value_labels[name].text()
