"""`vbt analyze`: reps, velocities and the stop rule of a recorded set."""

from __future__ import annotations

import argparse
import json
import sys

from vbt.config import METRIC_LABELS, METRICS, AnalysisConfig, SegmentationConfig, StopRuleConfig
from vbt.io import FORMATS, RecordingError, read_recording


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse a recorded set (CSV t_s,position_m or a Chronojump raw signal)",
        description="Segment a recording into reps and report MV, MPV, PV, ROM and the velocity-loss stop rep.",
    )
    p.add_argument("path", help="recording file")
    p.add_argument("--format", choices=FORMATS, default="auto", help="file format (default: detect)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.add_argument("--load-kg", type=float, default=None, help="moving mass for force and power")
    p.add_argument("--velocity-loss", type=float, default=10.0, metavar="PCT",
                   help="stop when a rep loses more than PCT %% of the best rep's velocity (default 10)")
    p.add_argument("--metric", choices=METRICS, default="mean", help="velocity used by the stop rule (default mean)")
    p.add_argument("--min-rom", type=float, default=SegmentationConfig.min_rom_m, metavar="M",
                   help="smallest concentric range of motion counted as a rep, metres (default 0.15)")
    p.set_defaults(func=run)


def _fmt(v, spec):
    return "—" if v is None else format(v, spec)


def run(args) -> int:
    from vbt.analysis import analyze  # numba kernels load only when needed

    config = AnalysisConfig(
        segmentation=SegmentationConfig(min_rom_m=args.min_rom),
        stop_rule=StopRuleConfig(velocity_loss_pct=args.velocity_loss, metric=args.metric),
        load_kg=args.load_kg,
    )
    problems = config.validate()
    if problems:
        for p in problems:
            print(f"vbt analyze: {p}", file=sys.stderr)
        return 2
    try:
        rec = read_recording(args.path, args.format)
    except RecordingError as exc:
        print(f"vbt analyze: {exc}", file=sys.stderr)
        return 1
    result = analyze(rec.t_s, rec.position_m, config)
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    label = METRIC_LABELS[args.metric]
    print(f"{args.path}: {len(result.reps)} reps ({rec.source_format}, {rec.t_s[-1] - rec.t_s[0]:.1f} s)")
    if not result.reps:
        print("no rep found (is the transducer under the bar, and the range of motion above "
              f"{config.segmentation.min_rom_m * 100:.0f} cm?)")
        return 0
    header = f"{'rep':>3} {'start s':>8} {'MV m/s':>7} {'MPV m/s':>8} {'PV m/s':>7} {'ROM cm':>7} {'conc s':>7} {'ecc s':>6} {'loss %':>7}"  # noqa: E501
    if args.load_kg:
        header += f" {'P mean W':>9} {'P peak W':>9}"
    print(header)
    for r in result.reps:
        line = (f"{r.index:>3} {r.concentric_start_s:>8.2f} {r.mean_velocity_m_s:>7.3f} "
                f"{r.mean_propulsive_velocity_m_s:>8.3f} {r.peak_velocity_m_s:>7.3f} {r.rom_m * 100:>7.1f} "
                f"{r.concentric_duration_s:>7.2f} {_fmt(r.eccentric_duration_s, '6.2f'):>6} "
                f"{_fmt(r.velocity_loss_pct, '7.1f'):>7}")
        if args.load_kg:
            line += f" {_fmt(r.mean_power_w, '9.0f'):>9} {_fmt(r.peak_power_w, '9.0f'):>9}"
        if r.index == result.stop_rep:
            line += "  <- STOP"
        print(line)
    stop = (f"stop at rep {result.stop_rep}" if result.stop_rep
            else "no rep crossed the limit")
    print(f"best rep {result.best_rep}; {label} loss limit {result.velocity_loss_threshold_pct:g} %: {stop}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="vbt")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
