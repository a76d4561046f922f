"""What the status banner says about the transducer and the history: looking, connected, lost,
unavailable (and why), several found (the port picker), no transducer (the demo offer), the
stream's health, and the history not being written.

``DeviceStatusMixin`` is part of :class:`gui.main_window.MainWindow` (it uses the window's
``banner``, ``storage_banner``, ``session`` and dialogs).
"""

from __future__ import annotations

import logging

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtWidgets import QInputDialog, QMessageBox

from gui.session import DemoOptions
from gui.widgets import StatusBanner

log = logging.getLogger(__name__)

UNAVAILABLE_HEADLINES = {
    "busy": "PORT BUSY",
    "permission": "NO PERMISSION",
    "wrong_device": "WRONG DEVICE",
    "absent": "WAITING FOR THE TRANSDUCER",
    "no_answer": "NO ANSWER",
    "error": "PORT ERROR",
}


class DeviceStatusMixin:
    """The device's and the history's state in the banners (mixed into ``MainWindow``)."""

    def _on_status(self, ev) -> None:
        if not self._connected:
            self.banner.set_mode(StatusBanner.INFO, f"{ev.payload.text.capitalize()}…")

    def _on_demo_started(self, ev) -> None:
        self.demo_mode = True
        self.banner.set_right("DEMO transducer")

    def _on_device_connected(self, ev) -> None:
        e = ev.payload
        self._connected = True
        self._device_text = (f"demo transducer ({e.protocol} protocol, emulated on a pty)" if self.demo_mode
                             else f"{e.protocol} transducer on {e.port}")
        d = e.device or {}
        if "firmware_version" in d:  # a native device's HELLO: which unit, which firmware
            self._device_text += f" · device {d['device_id']} · firmware {d['firmware_version']}"
        self._lost = False
        again = "Reconnected" if e.reconnect else "Connected"
        self.banner.set_mode(StatusBanner.OK, f"● {again} · {self._device_text}")
        if self._demo_prompt is not None:
            self._demo_prompt.close()
        if self.port_picker is not None:
            self.port_picker.close()

    def _on_device_lost(self, ev) -> None:
        self._connected = False
        self._lost = True
        e = ev.payload
        self.banner.set_mode(StatusBanner.LOUD, "DEVICE LOST — check the cable",
                             f"{e.reason}. Reconnecting… the set in progress is kept.")
        log.warning("device lost on %s: %s", e.port, e.reason)

    def _on_device_unavailable(self, ev) -> None:
        e = ev.payload
        if self._connected:
            return  # a stale report about a port we are no longer using
        headline = UNAVAILABLE_HEADLINES.get(e.kind, "PORT PROBLEM")
        if getattr(self, "_lost", False):  # still lost: stay loud, say what the retries find
            self.banner.set_mode(StatusBanner.LOUD, "DEVICE LOST — check the cable",
                                 f"Reconnecting… ({e.reason}); the set in progress is kept.")
            return
        loud = e.kind in ("busy", "permission", "wrong_device", "error")
        self.banner.set_mode(StatusBanner.LOUD if loud else StatusBanner.INFO, headline, e.reason)

    def _on_no_device(self, ev) -> None:
        msg = ev.payload.reason
        first = msg.splitlines()[0] if msg else "no transducer found"
        self.banner.set_mode(StatusBanner.INFO, "No transducer found — plug it in (still looking)", first,
                             action="demo", action_text="Start the demo")
        if self.ask_demo and not self._demo_offered:
            self._demo_offered = True
            box = QMessageBox(QMessageBox.Question, "No transducer found",
                              "No transducer was found.\n\nRun the built-in demo transducer instead? "
                              "It goes through the same reader and analysis as real hardware.", parent=self)
            box.setDetailedText(msg)
            box.setStandardButtons(QMessageBox.Yes | QMessageBox.No)
            box.finished.connect(self._demo_answer)
            self._demo_prompt = box
            box.open()

    def _demo_answer(self, result: int) -> None:
        box, self._demo_prompt = self._demo_prompt, None
        if box is not None and box.standardButton(box.clickedButton()) == QMessageBox.Yes:
            self.start_demo()

    def start_demo(self) -> None:
        if self.session is not None:
            self.session.start_demo(DemoOptions())
            self.banner.set_mode(StatusBanner.INFO, "Starting the demo transducer…")

    def _on_choose_port(self, ev) -> None:
        """Several transducers answered: name each (port, protocol, device id, firmware) and let the
        person choose; nothing is opened until they do."""
        self._port_choices = list(ev.payload.reports)
        self.banner.set_mode(StatusBanner.INFO, f"{len(self._port_choices)} transducers found — choose one",
                             "; ".join(r.label() for r in self._port_choices), action="choose",
                             action_text="Choose…")
        self._open_port_picker()

    def _open_port_picker(self) -> None:
        if not self._port_choices or (self.port_picker is not None and self.port_picker.isVisible()):
            return
        box = QInputDialog(self)
        box.setWindowTitle("Choose the transducer")
        box.setLabelText("Several transducers answered. Which one is on the bar?")
        box.setComboBoxItems([r.label() for r in self._port_choices])
        box.setComboBoxEditable(False)
        box.setOkButtonText("Use this one")
        box.textValueSelected.connect(self._port_chosen)
        self.port_picker = box
        box.open()

    def _port_chosen(self, label: str) -> None:
        chosen = next((r for r in self._port_choices if r.label() == label), None)
        if chosen is None or self.session is None:
            return
        self.session.open_port(chosen.port.device, chosen.protocol or "auto")
        self.banner.set_mode(StatusBanner.INFO, f"Opening {chosen.port.device}…")

    def _banner_action(self, action: str) -> None:
        if action == "demo":
            self.start_demo()
        elif action == "choose":
            self._open_port_picker()

    def _on_health(self, ev) -> None:
        h = ev.payload.health
        errors = h.frames_lost + h.checksum_errors + h.bad_frames + h.implausible
        text = f"{h.sample_rate_hz:,.0f} Hz · {errors} errors"
        if h.losses:
            text += f" · {h.losses} drop-outs"
        if self.demo_mode:
            text += " · DEMO"
        self.banner.set_right(text)
        self.health = h


    def _on_storage_failed(self, ev) -> None:
        self.storage_banner.set_mode(StatusBanner.LOUD, "HISTORY NOT SAVING — reps are kept until it works again",
                                     ev.payload.message)
        self.storage_banner.show()
        log.warning("%s", ev.payload.message)

    def _on_storage_recovered(self, ev) -> None:
        self.storage_banner.hide()
        self.show_message(ev.payload.message, 15000)

    def _on_line_errors(self, ev) -> None:
        self.line_error_label.setText(f"line errors: {ev.payload.total}")

