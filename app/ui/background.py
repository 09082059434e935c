"""Work that must not run on the GUI thread (password hashing, database round trips):
done on one background thread, the result handed back on the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

Done = Callable[[bool, Any], None]  # (ok, result or the exception)


class Background(QObject):
    """``submit(fn, done)``: fn runs on the worker thread; done(ok, value) on the GUI
    thread. One thread, so jobs run in the order they were asked for."""

    _finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ui-background")
        self._finished.connect(self._deliver)
        self.pending = 0
        self._closed = False

    def submit(self, fn: Callable[[], Any], done: Done | None = None) -> None:
        if self._closed:  # the window is closing: a late timer's request is dropped
            log.debug("background job after close dropped")
            return
        self.pending += 1

        def job() -> None:
            try:
                result: tuple[bool, Any] = (True, fn())
            except Exception as exc:  # handed to the screen that asked
                result = (False, exc)
            self._finished.emit((done, *result))

        self._pool.submit(job)

    def _deliver(self, item: tuple[Done | None, bool, Any]) -> None:
        done, ok, value = item
        self.pending -= 1
        if not ok and done is None:
            log.error("background job failed: %s", value)
        if done is not None:
            done(ok, value)

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
