"""Qt bridge of the worker: session events become queued signals on the GUI thread.

:class:`SessionBridge` lives on the GUI thread. The :class:`gui.session.DashboardBackend` thread calls
:meth:`SessionBridge.deliver` with each event; emitting a signal from another thread makes Qt queue
the call to the connected slots, which then run on the GUI thread. Slots receive the
:class:`gui.session.SessionEvent` (payload, set number, emission time).
"""

from __future__ import annotations

import logging

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QObject, Signal

from gui.session import DashboardBackend, SessionEvent

log = logging.getLogger(__name__)


class SessionBridge(QObject):
    """Signals named for what happened; each carries a :class:`SessionEvent`."""

    rep_completed = Signal(object)
    warning = Signal(object)
    stop = Signal(object)
    set_ended = Signal(object)
    set_saved = Signal(object)
    device_connected = Signal(object)
    device_lost = Signal(object)
    device_unavailable = Signal(object)
    no_device = Signal(object)
    choose_port = Signal(object)
    health = Signal(object)
    status = Signal(object)
    error = Signal(object)
    demo_started = Signal(object)
    history_changed = Signal(object)
    storage_failed = Signal(object)
    storage_recovered = Signal(object)
    line_errors = Signal(object)
    day_done = Signal(object)
    tempo_miss = Signal(object)
    plan_changed = Signal(object)  # payload (vbt.plan.PlanWeek or None, vbt.plan.ZoneTarget or None)

    _SIGNALS = {
        "rep": "rep_completed",
        "warning": "warning",
        "stop": "stop",
        "set_ended": "set_ended",
        "set_saved": "set_saved",
        "device_connected": "device_connected",
        "device_lost": "device_lost",
        "device_unavailable": "device_unavailable",
        "no_device": "no_device",
        "choose_port": "choose_port",
        "health": "health",
        "status": "status",
        "error": "error",
        "demo_started": "demo_started",
        "history_changed": "history_changed",
        "storage_failed": "storage_failed",
        "storage_recovered": "storage_recovered",
        "line_errors": "line_errors",
        "day_done": "day_done",
        "tempo_miss": "tempo_miss",
        "plan": "plan_changed",
    }

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session: DashboardBackend | None = None
        self._closed = False

    def deliver(self, event: SessionEvent) -> None:
        """Called on the worker thread (any thread): emit the matching signal."""
        if self._closed:
            return
        name = self._SIGNALS.get(event.kind)
        if name is None:
            log.debug("unhandled session event %s", event.kind)
            return
        getattr(self, name).emit(event)

    def start(self, **session_kwargs) -> DashboardBackend:
        """Create and start the worker session (it calls :meth:`deliver`)."""
        if self.session is not None:
            raise RuntimeError("a session is already running")
        self._closed = False
        self.session = DashboardBackend(self.deliver, **session_kwargs)
        self.session.start()
        return self.session

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the session (its last set is recorded) and drop any signal still in flight."""
        session, self.session = self.session, None
        if session is not None:
            session.stop(timeout)
        self._closed = True
