"""Qt bridge of the worker: session events become queued signals on the GUI thread.

:class:`SessionBridge` lives on the GUI thread. The :class:`gui.session.DashboardBackend` thread calls
:meth:`SessionBridge.deliver` with each event; emitting a signal from another thread makes Qt queue
the call to the connected slots, which then run on the GUI thread. Slots receive the
:class:`gui.session.SessionEvent` (the event as ``payload``, set number, emission time); the signal is
the one named as the event's ``type``. A rack of the rack overview runs the same worker in a child
process (``gui.rack_process.ProcessBackend``, set as :attr:`SessionBridge.backend_factory`); its
events reach :meth:`SessionBridge.deliver` from the one thread that receives every rack's events.
"""

from __future__ import annotations

import logging

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QObject, Signal, SignalInstance

from gui.session import DashboardBackend, SessionEvent

log = logging.getLogger(__name__)


class SessionBridge(QObject):
    """One signal per event class, named as the event's ``type``; each carries the
    :class:`SessionEvent` whose ``payload`` is that event."""

    # the live session's (vbt.results, firmware_bridge.events)
    rep = Signal(object)
    rep_revised = Signal(object)
    warning = Signal(object)
    stop = Signal(object)
    set_end = Signal(object)
    day_done = Signal(object)
    tempo_miss = Signal(object)
    device_connected = Signal(object)
    device_lost = Signal(object)
    device_unavailable = Signal(object)
    health = Signal(object)
    line_errors = Signal(object)
    # the dashboard backend's own (gui.session)
    set_saved = Signal(object)
    no_device = Signal(object)
    choose_port = Signal(object)
    status = Signal(object)
    error = Signal(object)
    demo_started = Signal(object)
    history_changed = Signal(object)
    storage_failed = Signal(object)
    storage_recovered = Signal(object)
    plan_changed = Signal(object)
    # a rack's worker process ended without being asked to (gui.rack_process; racks only)
    worker_lost = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session: DashboardBackend | None = None
        self._closed = False
        # what :meth:`start` creates: the in-process worker, or (racks) ``gui.rack_process.ProcessBackend``,
        # the same worker in a child process with the same methods, events and trace
        self.backend_factory = DashboardBackend

    def deliver(self, event: SessionEvent) -> None:
        """Called on the worker thread (any thread): emit the matching signal."""
        if self._closed:
            return
        signal = getattr(self, event.type, None)
        if not isinstance(signal, SignalInstance):
            log.debug("unhandled session event %s", event.type)
            return
        signal.emit(event)

    def start(self, **session_kwargs) -> DashboardBackend:
        """Create and start the worker session (it calls :meth:`deliver`)."""
        if self.session is not None:
            raise RuntimeError("a session is already running")
        self._closed = False
        self.session = self.backend_factory(self.deliver, **session_kwargs)
        self.session.start()
        return self.session

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the session (its last set is recorded) and drop any signal still in flight."""
        session, self.session = self.session, None
        if session is not None:
            session.stop(timeout)
        self._closed = True
