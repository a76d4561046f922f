"""The `vbt` command line: one entry point above the three layers (vbt, firmware_bridge, gui).

``vbt_cli.main`` builds the parser lazily: `vbt --help` imports none of the layers, and a command
imports only the module that defines it (Qt loads only for `vbt gui`).
"""
