"""Firmware benchmarks in the simulator: figures printed, not asserted.

    python benchmarks/bench_firmware.py            # ~1 min
    python benchmarks/bench_firmware.py --quick    # fewer speeds

The reference firmware (firmware_bridge/firmware) runs in simavr at 16 MHz under the harness of
tests/firmware; every figure is in simulated time (CPU cycles), never the host's clock.

1. Highest bar speed with no lost edge, at 0.1 mm per count (10,000 counts/m): a 1.2 m pull up and
   back down whose speed peaks at v, for rising v. "No edge lost": the firmware saw no transition
   in which both quadrature pins had changed (its qe_errors counter), the count's extremes are
   exact (12,000 at the top, 0 back at the start), no sequence gap and no dropped sample.
2. Latency from an encoder edge to the frame that carries it leaving the UART (its last byte's
   stop bit): for every edge of the pull's rising half, the first SAMPLES frame whose count has
   reached the edge's count. Includes the wait for the next sample (uniform over the 1 ms period),
   building the frame and the bytes' time on the wire.

Reference, measured in the same run: the same firmware built for the protocol's classic link,
115200 baud with 8 samples per frame (BAUD=115200 FRAME_SAMPLES=8).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from firmware_bridge import native as nat  # noqa: E402
from tests.firmware import fil  # noqa: E402
from vbt.simulate import Timeline  # noqa: E402

CPM = 10000
TRAVEL_M = 1.2


def pull(peak_m_s: float) -> Timeline:
    tl = Timeline(x0_m=0.2)
    tl.hold(0.05)
    mean = peak_m_s / 1.5  # a = b = 2 beta profile: peak = 1.5 x mean
    tl.move(TRAVEL_M, TRAVEL_M / mean, 2.0, 2.0)
    tl.hold(0.1)
    tl.move(-TRAVEL_M, TRAVEL_M / mean, 2.0, 2.0)
    tl.hold(0.1)
    return tl


def run(harness, fw, peak, work):
    tl = pull(peak)
    times, counts = fil.motion_counts(tl.position, tl.t_s, CPM, dt_s=min(4e-6, 0.2 / (peak * CPM)))
    edges = os.path.join(work, "edges.bin")
    fil.write_edges(edges, times, counts)
    dec = nat.NativeDecoder()
    res = fil.run_batch(harness, fw, edges, dec.handshake(), work, run_ms=tl.t_s * 1000 + 100, lead_ms=20.0)
    frames = fil.decode_tx(res.tx)
    samples = [(f, c) for f, c in frames if isinstance(f, nat.Samples)]
    seqs = np.array([f.seq for f, _ in frames if f is not None])
    gaps = int(np.count_nonzero((np.diff(seqs) & 0xFFFF) != 1))
    bad = sum(f is None for f, _ in frames)
    dropped = sum(f.dropped_samples for f, _ in frames if isinstance(f, nat.Heartbeat))
    all_counts = np.concatenate([np.asarray(f.counts) for f, _ in samples])
    lost = res.watches["qe_errors"]
    exact = all_counts.max() == counts.max() and res.watches["enc_count"] == 0 and all_counts[-1] == 0
    ok = lost == 0 and exact and gaps == 0 and bad == 0 and dropped == 0

    # Latency of each rising edge: the first frame whose last sample has reached its count.
    top = int(np.argmax(counts))
    rise_t, rise_c = times[: top + 1], counts[: top + 1]
    first_up = np.flatnonzero(np.diff(np.concatenate([[0], rise_c])) > 0)
    frame_max = np.maximum.accumulate(np.array([np.asarray(f.counts)[-1] for f, _ in samples]))
    frame_end = np.array([c for _, c in samples])
    k = np.searchsorted(frame_max, rise_c[first_up], side="left")
    valid = k < len(samples)
    edge_cycle = res.start_cycle + np.round(rise_t[first_up][valid] * fil.F_CPU)
    latency_ms = (frame_end[k[valid]] - edge_cycle) / fil.F_CPU * 1e3
    return dict(peak=peak, ok=ok, qe_errors=lost, exact=exact, gaps=gaps, bad=bad, dropped=dropped,
                latency_ms=latency_ms, edges=len(times), bytes=len(res.tx),
                sim_s=(res.done_cycle - res.start_cycle) / fil.F_CPU)


def sweep(harness, fw, speeds, work):
    rows = []
    for v in speeds:
        r = run(harness, fw, v, work)
        rows.append(r)
        lat = r["latency_ms"]
        print(f"  {v:5.1f} m/s peak: {'no edge lost' if r['ok'] else 'LOST':12s} qe_errors={r['qe_errors']} "
              f"extremes exact={r['exact']} seq gaps={r['gaps']} bad frames={r['bad']} dropped samples={r['dropped']}; "
              f"edge->frame p50 {np.percentile(lat, 50):.2f} ms p99 {np.percentile(lat, 99):.2f} ms "
              f"max {lat.max():.2f} ms ({r['edges']} edges, {r['bytes'] / r['sim_s'] / 1000:.1f} kB/s on the wire)",
              flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    missing = fil.missing_tools()
    if missing:
        print("missing: " + ", ".join(missing))
        return 2
    full = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 14.0, 16.0, 20.0]
    speeds = [1.0, 4.0, 6.0, 8.0] if args.quick else full
    with tempfile.TemporaryDirectory() as work:
        harness = fil.build_harness(os.path.join(work, "harness"))
        fw = fil.build_firmware(os.path.join(work, "fw"))
        ref = fil.build_firmware(os.path.join(work, "ref"), BAUD=115200, FRAME_SAMPLES=8)
        print("firmware (default build: 500000 baud, 1 sample per frame, 1 kHz, 10000 counts/m):")
        use = [line.strip() for line in fw.size_report.splitlines() if line.strip().startswith(("Program", "Data"))]
        print("  " + " | ".join(use))
        rows = sweep(harness, fw, speeds, work)
        print("reference build (115200 baud, 8 samples per frame):")
        ref_rows = sweep(harness, ref, [1.0, 4.0], work)
    ok = [r["peak"] for r in rows if r["ok"]]
    first_bad = next((r["peak"] for r in rows if not r["ok"]), None)
    best = max((v for v in ok if first_bad is None or v < first_bad), default=None)
    print()
    print(f"highest peak speed with no edge lost at 0.1 mm/count: {best} m/s"
          + (f" (first loss at {first_bad} m/s)" if first_bad else " (highest tried)"))
    for name, rr in (("default", rows), ("reference 115200/8", ref_rows)):
        r4 = next(r for r in rr if r["peak"] == 4.0)
        lat = r4["latency_ms"]
        print(f"edge -> frame on the wire at 4 m/s, {name}: p50 {np.percentile(lat, 50):.2f} ms, "
              f"p99 {np.percentile(lat, 99):.2f} ms")
    d = np.percentile(next(r for r in rows if r["peak"] == 4.0)["latency_ms"], 99)
    rf = np.percentile(next(r for r in ref_rows if r["peak"] == 4.0)["latency_ms"], 99)
    print(f"p99 ratio default / reference: {d / rf:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
