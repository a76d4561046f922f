"""Device layer of the VBT tracker: transducer protocols, serial reader, discovery, emulator.

Knows pyserial, never Qt. Modules:

- ``protocol``   shared decoded types and ``ProtocolError`` (the one error type of the codecs)
- ``chronojump`` Chronojump linear encoder codec (sans-IO) with the byte-rate estimator
- ``native``     our own framed protocol, version 1 (``PROTOCOL.md``), sans-IO
- ``reader``     ``DeviceReader``: one thread per port, reconnects, one event path
- ``events``     what the reader reports
- ``discovery``  list ports, probe them, pick the only transducer
- ``emulator``   ``Emulator``: a scripted transducer on a pty
- ``motion``     motion scripts for the emulator (simulated lifter, recordings)
- ``live``       ``LiveSession``: reader + ``vbt`` live tracker, and the history hook
- ``cli``        ``emulate``, ``devices``, ``live`` commands
"""
