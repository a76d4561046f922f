"""Analysis core of the VBT tracker: rep segmentation, velocities, the stop rule, history.

Nothing in this package imports serial or Qt (checked by ``tests/test_layering.py``).
"""

__version__ = "0.1.0"
