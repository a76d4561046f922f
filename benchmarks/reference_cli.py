"""A plain NumPy/SciPy analyser run as a process, the way `vbt analyze FILE --json` runs:

    python benchmarks/reference_cli.py FILE [--method fitted|crude]

reads a Chronojump raw signal with NumPy's own parser (``np.fromstring``), analyses it with the
reference of the core's previous method (reference_fitted.py) or the crude one (reference_crude.py),
and prints one JSON line with each rep's MV. Imports nothing from this project.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--method", choices=("fitted", "crude"), default="fitted")
    args = ap.parse_args()
    with open(args.path, "rb") as fh:
        counts = np.fromstring(fh.read(), dtype=np.int64, sep=",")
    x = np.cumsum(counts) / 1000.0
    t = np.arange(counts.size) * 0.001
    if args.method == "fitted":
        from reference_fitted import analyze_reference

        mv = analyze_reference(t, x)[:, 0]
    else:
        from reference_crude import reference_pipeline

        mv = reference_pipeline(t, x)[0]
    print(json.dumps({"mean_velocity_m_s": [round(float(v), 4) for v in mv]}))


if __name__ == "__main__":
    main()
