"""The dashboard: the only package of the tracker that imports Qt (PySide6, pyqtgraph).

Importing ``gui`` itself loads no Qt, so ``vbt analyze`` and the other commands never pay for it.
The Qt-free parts live beside the Qt ones and are tested without a display:

``gui.ringbuffer``  fixed-size buffers of the recent trace, written by the worker, read by the plots
``gui.state``       the display state machine of one set (best, threshold, loss, alert level)
``gui.session``     the worker thread that owns the reader, the live tracker and the history recorder
``gui.sound``       cue sounds written as WAV files and played without QtMultimedia
``gui.rack_process`` a rack's worker (``gui.session``) in a child process of its own, for the rack overview

The Qt parts: ``gui.worker`` (session events to queued signals), ``gui.live_view``,
``gui.history_view``, ``gui.main_window`` (with its parts ``gui.window_settings``, ``gui.set_flow``,
``gui.summary_saving``, ``gui.device_status``, ``gui.trace_frames``), ``gui.racks`` and
``gui.rack_tiles`` (the rack overview: several transducers, one tile each) and ``gui.app`` (the ``vbt gui``
command).
"""
