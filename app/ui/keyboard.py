"""On-screen text keyboard and numeric keypad for a gloved operator.

The cleanroom workstation has no physical keyboard, so every batch ID, password,
comment and set-point is entered through these widgets. They follow three rules:

- Every key is a real QPushButton of at least ``theme.MIN_TOUCH_PX`` square, with
  spacing between keys so a gloved finger does not hit two at once.
- Every key's accessibleName is what it types ("a", "A" when shifted, "7", "-") or
  what it does ("Shift", "Space", "Backspace", "Clear", "Enter", "Symbols", "OK"), so
  tests and assistive tools find keys the way an operator does: by their label.
- Keys never take keyboard focus: the target line edit keeps its cursor, and the
  text goes in through ``QLineEdit.insert`` so max length, validators and password
  echo behave exactly as with a hardware keyboard.

The modal dialogs built on these widgets (text entry, keypad, reason, confirm) live in
:mod:`app.ui.dialogs`, which imports this module; this one knows no dialog.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme

# A key a little above the 60 px minimum: at 1.5 m and in gloves the extra
# millimetres and the gap between keys are what prevent a wrong character.
KEY_PX = theme.MIN_TOUCH_PX + 4  # a gloved fingertip with room to spare
KEY_SPACING = 8
# Keyboard keys are a little wider than tall: QWERTY rows are dense sideways, and
# twelve of them still fit a 1280 px screen with the dialog's margins.
KEY_WIDTH = KEY_PX + 8
# Keys need no side padding (the stylesheet's 16 px would push twelve keys past
# 1280 px); sizes only, the colours stay the application stylesheet's.
KEY_STYLE = "QPushButton#Key { padding: 0 2px; }"

DIGITS = "1234567890"
LETTER_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# Same shape as LETTER_ROWS so the symbols layer reuses the letter keys in place.
# "-", "." and "_" are not here: batch and lot IDs use them so often that they sit
# on the letter layer permanently (one tap, no mode change).
SYMBOL_ROWS = ("@/#+():,;*", "!?&%='\"$^", "[]<>\\|~")
ALWAYS_SYMBOLS = "-._"
GRID_COLUMNS = 24  # half-key columns: 10 digits (20) + a 2-key-wide Backspace (4)


class TouchKey(QPushButton):
    """A QPushButton that is never smaller than ``min_px`` tall and its min width.

    Windows open at their minimum size on a 1280x800 panel (Qt caps a window's
    natural size at a fraction of the screen), so the minimum is what the operator
    gets. The application stylesheet's min-width/min-height overwrite a widget's
    minimum size whenever it is polished; the floor is re-applied after each polish.
    """

    def __init__(
        self, label: str, name: str, min_px: int = KEY_PX, parent: QWidget | None = None
    ) -> None:
        super().__init__(label, parent)
        self._min_px = max(min_px, theme.MIN_TOUCH_PX)
        self._min_width = self._min_px
        self.setAccessibleName(name)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the line edit keeps its cursor
        self.setAutoDefault(False)  # no hidden default button reacting to Enter
        self._apply_floor()

    def set_min_width(self, width: int) -> None:
        self._min_width = max(width, self._min_px)
        self._apply_floor()

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() in (QEvent.Type.Polish, QEvent.Type.StyleChange):
            self._apply_floor()
        return handled

    def _apply_floor(self) -> None:
        current = self.minimumSize()
        self.setMinimumSize(
            max(current.width(), self._min_width), max(current.height(), self._min_px)
        )


def make_key(label: str, name: str, parent: QWidget | None = None) -> TouchKey:
    """A keyboard key: objectName "Key", accessibleName ``name``."""
    key = TouchKey(label, name, KEY_PX, parent)
    key.set_min_width(KEY_WIDTH)
    key.setObjectName("Key")
    key.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return key


class ShiftState(Enum):
    OFF = "off"
    ONCE = "once"  # the next character only, as on a phone
    LOCKED = "locked"  # caps lock until tapped again


_SHIFT_LABELS = {ShiftState.OFF: "Shift", ShiftState.ONCE: "SHIFT", ShiftState.LOCKED: "CAPS"}


class OnScreenKeyboard(QWidget):
    """A full text keyboard typing into one QLineEdit (set with ``set_target``).

    Shift cycles off -> once -> caps lock -> off; the key's label says which. The
    Symbols key swaps the letter keys for punctuation; digits, "-", "." and "_" stay.
    """

    enter_pressed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._target: QLineEdit | None = None
        self._shift = ShiftState.OFF
        self._symbols = False
        self._slots: list[QPushButton] = []  # letter keys, relabelled per layer
        self.setStyleSheet(KEY_STYLE)

        self.backspace_key = make_key("⌫ Back", "Backspace", self)
        self.backspace_key.setAutoRepeat(True)  # hold to delete, no repeated tapping
        self.backspace_key.clicked.connect(self._backspace)
        self.clear_key = make_key("Clear", "Clear", self)
        self.clear_key.clicked.connect(self._clear)
        self.enter_key = make_key("Enter", "Enter", self)
        self.enter_key.clicked.connect(self.enter_pressed)
        self.shift_key = make_key("Shift", "Shift", self)
        self.shift_key.setCheckable(True)
        self.shift_key.clicked.connect(self._cycle_shift)
        self.symbols_key = make_key("#+=", "Symbols", self)
        self.symbols_key.setCheckable(True)
        self.symbols_key.clicked.connect(self._toggle_symbols)
        self.space_key = make_key("Space", "Space", self)
        self.space_key.clicked.connect(lambda: self._insert(" "))

        # A grid in half-key columns: keys span 2, wide keys more, and the second
        # letter row sits half a key in, as on the hardware keyboards operators know.
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(KEY_SPACING)
        for column in range(GRID_COLUMNS):
            grid.setColumnStretch(column, 1)
        place = _Placer(grid)
        place.row(0, 0, [self._char_key(ch) for ch in DIGITS], (self.backspace_key, 4))
        place.row(1, 0, [self._slot_key() for _ in LETTER_ROWS[0]], (self.clear_key, 4))
        place.row(2, 1, [self._slot_key() for _ in LETTER_ROWS[1]], (self.enter_key, 5))
        place.row(
            3,
            0,
            (self.shift_key, 4),
            [self._slot_key() for _ in LETTER_ROWS[2]],
            [self._char_key(ch) for ch in ALWAYS_SYMBOLS],
        )
        place.row(4, 0, (self.symbols_key, 4), (self.space_key, 20))
        self._relabel()

    # -- public -----------------------------------------------------------------

    def set_target(self, line_edit: QLineEdit | None) -> None:
        """The line edit the keys type into (None: keys do nothing)."""
        self._target = line_edit

    def target(self) -> QLineEdit | None:
        return self._target

    def shift_state(self) -> ShiftState:
        return self._shift

    def symbols_shown(self) -> bool:
        return self._symbols

    # -- building ---------------------------------------------------------------

    def _char_key(self, ch: str) -> TouchKey:
        key = make_key(_label(ch), ch, self)
        key.clicked.connect(lambda: self._insert(key.accessibleName()))
        return key

    def _slot_key(self) -> TouchKey:
        key = make_key("", "", self)
        key.clicked.connect(lambda: self._insert(key.accessibleName()))
        self._slots.append(key)
        return key

    # -- behaviour --------------------------------------------------------------

    def _relabel(self) -> None:
        """Put the current layer's characters on the letter keys."""
        chars = "".join(SYMBOL_ROWS if self._symbols else LETTER_ROWS)
        upper = self._shift is not ShiftState.OFF and not self._symbols
        for key, ch in zip(self._slots, chars, strict=True):
            ch = ch.upper() if upper else ch
            key.setText(_label(ch))
            key.setAccessibleName(ch)
        self.shift_key.setEnabled(not self._symbols)
        self.shift_key.setChecked(self._shift is not ShiftState.OFF)
        self.shift_key.setText(_SHIFT_LABELS[self._shift])
        self.symbols_key.setChecked(self._symbols)
        self.symbols_key.setText("abc" if self._symbols else "#+=")

    def _cycle_shift(self) -> None:
        order = [ShiftState.OFF, ShiftState.ONCE, ShiftState.LOCKED]
        self._shift = order[(order.index(self._shift) + 1) % len(order)]
        self._relabel()

    def _toggle_symbols(self) -> None:
        self._symbols = not self._symbols
        self._shift = ShiftState.OFF  # shift means nothing on symbols; do not show it lit
        self._relabel()

    def _insert(self, text: str) -> None:
        if self._target is not None and not self._target.isReadOnly():
            self._target.insert(text)
        if self._shift is ShiftState.ONCE:
            self._shift = ShiftState.OFF
            self._relabel()

    def _backspace(self) -> None:
        if self._target is not None and not self._target.isReadOnly():
            self._target.backspace()

    def _clear(self) -> None:
        if self._target is not None and not self._target.isReadOnly():
            self._target.clear()


class _Placer:
    """Puts keys on a half-key grid: a plain key spans 2 columns, (key, n) spans n."""

    def __init__(self, grid: QGridLayout) -> None:
        self.grid = grid

    def row(self, row: int, column: int, *groups: list[TouchKey] | tuple[TouchKey, int]) -> None:
        for group in groups:
            items = [group] if isinstance(group, tuple) else [(key, 2) for key in group]
            for key, span in items:
                self.grid.addWidget(key, row, column, 1, span)
                if span > 2:
                    key.set_min_width(span // 2 * (KEY_WIDTH + KEY_SPACING) - KEY_SPACING)
                column += span


def _label(ch: str) -> str:
    """Key face text; "&" must be doubled or Qt makes it a mnemonic and hides it."""
    return "&&" if ch == "&" else ch


# -- numeric keypad -------------------------------------------------------------


def format_number(value: float, decimals: int = 6) -> str:
    """A number as an operator reads it: 30, 36.5, −2.25 (no trailing zeros, and a
    true minus sign, which stays legible at 1.5 m where a hyphen does not)."""
    return _minus(_plain(value, decimals))


def _plain(value: float, decimals: int) -> str:
    """ASCII form of format_number: what the keypad edits and float() parses."""
    text = f"{value:.{max(decimals, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _minus(text: str) -> str:
    return text.replace("-", "−")


def with_unit(text: str, unit: str) -> str:
    """Number and unit with a space (SI style); pH reads before the number."""
    if not unit:
        return text
    return f"{unit} {text}" if unit == "pH" else f"{text} {unit}"


class NumericKeypad(QWidget):
    """Number entry with its limits in view: the operator sees what is allowed
    before typing, and an out-of-range or malformed value is refused with a message
    saying why; nothing is emitted, so nothing downstream can act on it.

    When an initial value is given it is shown, and the first digit replaces it,
    as on a calculator, so the operator never has to clear it first.
    """

    accepted = Signal(float)
    MAX_CHARS = 12

    def __init__(
        self,
        title: str,
        unit: str,
        low: float,
        high: float,
        initial: float | None = None,
        decimals: int = 2,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise ValueError(f"bad keypad range {low} .. {high}")
        self.unit, self.low, self.high, self.decimals = unit, low, high, max(decimals, 0)
        self._text = "" if initial is None else _plain(initial, self.decimals)
        self._fresh = initial is not None

        self.title_label = QLabel(title)
        self.title_label.setObjectName("PageTitle")
        self.range_label = QLabel(f"Allowed {self.range_text()}")
        self.range_label.setObjectName("Hint")
        # The limits decide what the operator types: larger than an ordinary hint.
        self.range_label.setStyleSheet("font-size: 24px; font-weight: bold;")
        self.display = QLabel()
        self.display.setObjectName("Big")
        self.display.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.display.setMinimumHeight(KEY_PX)
        self.display.setAccessibleName("Value")
        display_card = QFrame()  # a surface of its own: reads as "the value", not a caption
        display_card.setObjectName("Card")
        card_layout = QHBoxLayout(display_card)
        card_layout.setContentsMargins(16, 4, 16, 4)
        card_layout.addWidget(self.display)
        self.error_label = QLabel()
        self.error_label.setObjectName("Error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("font-size: 22px;")
        self.error_label.setMinimumHeight(56)  # room kept, so keys do not jump on error

        self.keys: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(KEY_SPACING)
        for index, ch in enumerate("789456123"):
            grid.addWidget(self._key(ch, ch, self._type), index // 3, index % 3)
        # Bottom row: sign and point only where they can give a valid value (a sign
        # key on a range without negatives only invites errors); "0" widens instead.
        negative, point = low < 0, self.decimals > 0
        if negative:
            grid.addWidget(self._key("+/−", "-", self._toggle_sign), 3, 0)
        zero_column = 1 if negative else 0
        zero_span = 3 - int(negative) - int(point)
        grid.addWidget(self._key("0", "0", self._type), 3, zero_column, 1, zero_span)
        if point:
            grid.addWidget(self._key(".", ".", self._type), 3, 2)
        grid.addWidget(self._key("⌫ Back", "Backspace", self._backspace), 0, 3)
        grid.addWidget(self._key("Clear", "Clear", self._clear), 1, 3)
        self.ok_key = self._key("OK", "OK", self._ok)
        self.ok_key.setObjectName("Primary")
        self.ok_key.setStyleSheet("font-size: 28px;")
        self.ok_key.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        grid.addWidget(self.ok_key, 2, 3, 2, 1)
        self.keys["Backspace"].setAutoRepeat(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(KEY_SPACING)
        layout.addWidget(self.title_label)
        layout.addWidget(self.range_label)
        layout.addWidget(display_card)
        layout.addWidget(self.error_label)
        layout.addLayout(grid)
        self._refresh()

    # -- public -----------------------------------------------------------------

    def range_text(self) -> str:
        """'30 – 38 °C': the limits as the operator sees them; 'to' when the low
        limit is negative, because "−50 – 50" reads as a subtraction."""
        low, high = (format_number(v, self.decimals) for v in (self.low, self.high))
        between = " to " if self.low < 0 else " – "
        return with_unit(f"{low}{between}{high}", self.unit)

    def text(self) -> str:
        """What has been typed, as shown."""
        return self._text

    def value(self) -> float | None:
        """The typed number, or None when it is empty or not a number."""
        try:
            number = float(self._text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None

    def error(self) -> str:
        return self.error_label.text()

    # -- keys -------------------------------------------------------------------

    def _key(self, label: str, name: str, slot: Any) -> QPushButton:
        key = make_key(label, name, self)
        key.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        key.clicked.connect(lambda: slot(name))
        self.keys[name] = key
        return key

    def _type(self, ch: str) -> None:
        if self._fresh:  # first key after an initial value replaces it
            self._text, self._fresh = "", False
        text = self._text
        if ch == ".":
            if "." in text:
                return
            text = ("-0" if text == "-" else text or "0") + "."
        elif "." in text and len(text.split(".")[1]) >= self.decimals:
            return  # more decimals than the value can hold: ignore, do not round silently
        else:
            text = (text[:-1] if text in ("0", "-0") else text) + ch
        if len(text.lstrip("-")) <= self.MAX_CHARS:
            self._text = text
        self._refresh()

    def _toggle_sign(self, _name: str = "-") -> None:
        self._fresh = False
        self._text = self._text[1:] if self._text.startswith("-") else "-" + self._text
        self._refresh()

    def _backspace(self, _name: str = "Backspace") -> None:
        self._fresh = False
        self._text = self._text[:-1]
        self._refresh()

    def _clear(self, _name: str = "Clear") -> None:
        self._fresh = False
        self._text = ""
        self._refresh()

    def _ok(self, _name: str = "OK") -> None:
        number = self.value()
        if number is None:
            if self._text:
                message = f"“{_minus(self._text)}” is not a number: enter {self.range_text()}"
            else:
                message = f"Enter a value: {self.range_text()}"
            self.error_label.setText(message)
            return
        if not self.low <= number <= self.high:
            shown = format_number(number, self.decimals)
            self.error_label.setText(f"{shown} is outside {self.range_text()}")
            return
        self.error_label.clear()
        self.accepted.emit(round(number, self.decimals))

    def _refresh(self) -> None:
        # Empty shows nothing: a dash placeholder would read as a minus sign.
        self.display.setText(with_unit(_minus(self._text), self.unit) if self._text else "")
        self.error_label.clear()
