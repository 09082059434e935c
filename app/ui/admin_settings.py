"""The administrators' settings panel: every site setting with its value and who set
it, changed by keypad, tiles or (the serial port) the workstation's ports, always with
a reason.

A part of ``AdminPage`` (app/ui/admin_page.py), mixed into it: it uses the page's
``call``, ``hint``, ``_session``, ``_panel``, ``_reload_after`` and the dialog methods
``_ask_text``, ``_ask_reason``, ``_ask_number`` and ``_choose`` (which tests answer),
and the page's ``users``, ``settings`` and ``setting_values``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.store.settings import SETTINGS, Setting
from app.store.users import Session
from app.ui import dialogs
from app.ui.page_kit import plain_sentence, short_utc, text_label, touch_button

SIMULATOR = "simulator"
TYPE_PORT = "type"
SETTING_REASONS = [
    "Site SOP / change control",
    "QA instruction",
    "Instrument installed or moved",
    "Correction of an entry error",
    "Other",
]


def list_serial_ports() -> list[tuple[str, str]]:
    """(device, description) of the workstation's serial ports (pyserial)."""
    from serial.tools import list_ports

    return [(port.device, port.description or "") for port in sorted(list_ports.comports())]


class AdminSettings:
    """The settings panel of ``AdminPage`` (right)."""

    def _settings_panel(self) -> QFrame:
        frame, column = self._panel("SETTINGS")
        body = QWidget()
        rows = QVBoxLayout(body)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(10)
        self.value_labels: dict[str, QLabel] = {}
        self.changed_labels: dict[str, QLabel] = {}
        self.change_buttons: dict[str, QPushButton] = {}
        for key, setting in SETTINGS.items():
            name = QLabel(setting.label)
            name.setStyleSheet("font-weight: bold; background: transparent;")
            name.setWordWrap(True)
            value = QLabel("–")
            value.setStyleSheet("font-size: 22px; background: transparent;")
            value.setAccessibleName(f"value {key}")
            value.setWordWrap(True)
            changed = text_label()
            button = touch_button("Change…", f"change {key}")
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _=False, k=key: self.change_setting(k))
            text = QVBoxLayout()
            text.setSpacing(0)
            text.addWidget(name)
            text.addWidget(value)
            text.addWidget(changed)
            line = QHBoxLayout()
            line.addLayout(text, 1)
            line.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            rows.addLayout(line)
            self.value_labels[key] = value
            self.changed_labels[key] = changed
            self.change_buttons[key] = button
        rows.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        body.setStyleSheet("background: transparent;")
        scroll.setStyleSheet("QScrollArea { background: transparent; }")
        column.addWidget(scroll, 1)
        return frame

    def _show_settings(self) -> None:
        """Show the values of ``setting_values`` (just read)."""
        for key, item in self.setting_values.items():
            self.value_labels[key].setText(item.setting.show(item.value))
            self.changed_labels[key].setText(
                f"set by {item.changed_by}, {short_utc(item.changed_utc)}"
                if item.changed_by
                else f"default · {item.setting.allowed()}"
            )

    def _ask_number(self, setting: Setting, initial: int) -> float | None:
        assert setting.low is not None and setting.high is not None
        return dialogs.ask_number(
            self, setting.label, setting.unit, setting.low, setting.high, initial, decimals=0
        )

    def change_setting(self, key: str) -> None:
        session = self._session()
        if session is None:
            return
        setting = SETTINGS[key]
        item = self.setting_values.get(key)
        current = item.value if item else setting.default
        if setting.key == "serial_port":
            self.call(
                list_serial_ports,
                lambda ports: self._ports_found(True, ports, str(current)),
                "",
                "Looking for serial ports…",
                on_error=lambda exc: self._ports_found(False, exc, str(current)),
            )
            return
        if setting.choices:
            options = [(choice, choice) for choice in setting.choices]
            picked = self._choose(setting.label, f"Now: {setting.show(current)}.", options)
            if picked is None:
                return self.hint(f"{setting.label} not changed: cancelled.")
            return self._confirm_setting(session, setting, current, picked)
        if setting.kind is bool:  # a duty rule: switched on or off, always with a reason
            return self._confirm_setting(session, setting, current, not current)
        answer = self._ask_number(setting, int(current))
        if answer is None:
            return self.hint(f"{setting.label} not changed: cancelled.")
        self._confirm_setting(session, setting, current, int(answer))

    def _ports_found(self, ok: bool, ports, current: str) -> None:
        session = self._session()
        if session is None:
            return
        setting = SETTINGS["serial_port"]
        options = [(SIMULATOR, "Simulator (demo)\nno instrument")]
        if ok:
            options += [(device, f"{device}\n{description}") for device, description in ports]
        options.append((TYPE_PORT, "Type a port name…\ne.g. /dev/ttyUSB0, COM3"))
        prompt = f"Now: {setting.show(current)}."
        if not ok:
            prompt += f" The ports could not be listed ({plain_sentence(ports)})"
        elif len(options) == 2:
            prompt += " No serial ports were found on this workstation."
        choice = self._choose("Instrument serial port", prompt, options)
        if choice is None:
            return self.hint(f"{setting.label} not changed: cancelled.")
        if choice == SIMULATOR:
            value = ""
        elif choice == TYPE_PORT:
            typed = self._ask_text(
                "Instrument serial port", "Port name or pyserial URL", initial=current
            )
            if typed is None:
                return self.hint(f"{setting.label} not changed: cancelled.")
            value = typed.strip()
        else:
            value = choice
        self._confirm_setting(session, setting, current, value)

    def _confirm_setting(
        self, session: Session, setting: Setting, old: int | str, new: int | str
    ) -> None:
        if new == old:
            return self.hint(f"{setting.label} stays {setting.show(old)}: nothing changed.")
        reason = self._ask_reason(
            f"Why change {setting.label} from {setting.show(old)} to {setting.show(new)}?",
            SETTING_REASONS,
        )
        if not reason:
            return self.hint(f"{setting.label} not changed: cancelled.")
        users, settings = self.users, self.settings

        def job() -> int | str:
            stored = settings.set(session, setting.key, new, reason)
            users.policy = settings.policy()  # account rules apply from now on
            return stored

        self.call(
            job,
            lambda value: self._reload_after(
                f"{setting.label} is now {setting.show(value)} (was {setting.show(old)})."
            ),
            f"{setting.label} not changed.",
            f"Saving {setting.label}…",
        )
