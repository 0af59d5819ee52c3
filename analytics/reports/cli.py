"""Command line: `python -m analytics report FILE [FILE ...] [--period D|W|M]
[--calibration-end YYYY-MM-DD] [--json PATH|-]`.

FILE is a CSV/Excel/Parquet path, or `demo:subscription`, `demo:cdnow`, `demo:cdnow_sample`.
Exit codes: 0 success (also when a section is null with a reason); 2 input that cannot be used
(one line on stderr). With `--json -` stdout carries the JSON alone; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from analytics.data.datasets import load_demo
from analytics.data.ingest import load_files
from analytics.data.schema import DataError
from analytics.reports.report import ReportSettings, build_report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analytics", description="Customer analytics, headless.")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="analyse files and print or write the report")
    report.add_argument("files", nargs="+", metavar="FILE", help="CSV, .xlsx or .parquet; or demo:NAME")
    report.add_argument("--period", choices=["D", "W", "M"], default="W", help="model time unit (default W)")
    report.add_argument("--calibration-end", metavar="YYYY-MM-DD", help="last day of the fitting window")
    report.add_argument("--json", metavar="PATH|-", help="write JSON to PATH, or to stdout with -")
    return parser


def _load(paths: list[str]):
    if len(paths) == 1 and paths[0].startswith("demo:"):
        return load_demo(paths[0].split(":", 1)[1])
    files = []
    for path in paths:
        file = Path(path)
        if not file.is_file():
            raise DataError(f"File not found: {path}")
        files.append((file.name, file.read_bytes()))
    return load_files(files)


def _summary(report: dict) -> str:
    data = report["data"]
    lines = [
        f"{data['name']}: {data['customers']:,} customers; {data['rows_used']:,} of {data['rows_read']:,} rows used",
    ]
    lines += [f"  excluded {e['rows']:,} ({e['table']}): {e['reason']}" for e in data["excluded"]]
    for name, value in report.items():
        if name in ("version", "settings", "data", "reasons"):
            continue
        status = "ok" if value is not None else f"not available: {report['reasons'].get(name, '')}"
        lines.append(f"{name}: {status}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        calibration_end = pd.Timestamp(args.calibration_end) if args.calibration_end else None
    except ValueError:
        print(f"error: --calibration-end '{args.calibration_end}' is not a date (use YYYY-MM-DD)", file=sys.stderr)
        return 2
    try:
        settings = ReportSettings(period=args.period, calibration_end=calibration_end)
        print(f"reading {', '.join(args.files)} ...", file=sys.stderr)
        data = _load(args.files)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = build_report(data, settings, progress=lambda name: print(f"computing {name} ...", file=sys.stderr))
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.json == "-":
        sys.stdout.write(text + "\n")
    elif args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
        print(_summary(report))
    else:
        print(_summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
