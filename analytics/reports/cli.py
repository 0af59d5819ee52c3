"""Command line: `python -m analytics report FILE [FILE ...] [--period D|W|M]
[--calibration-end YYYY-MM-DD] [--json PATH|-] [--readout-list FILE --readout-outcome FILE [FILE ...]
[--readout-since YYYY-MM-DD] [--offer-cost X]]`.

FILE is a CSV/Excel/Parquet path, or `demo:subscription`, `demo:cdnow`, `demo:cdnow_sample`.
Instead of files: `--db URL --table purchases=NAME [--table customers=NAME]` runs the purchase-level
work inside the database (DuckDB file or PostgreSQL; see analytics.reports.database).
Exit codes: 0 success (also when a section is null with a reason); 2 input that cannot be used
(one line on stderr). With `--json -` stdout carries the JSON alone; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import NoReturn

import pandas as pd

from analytics.data.datasets import load_demo
from analytics.data.ingest import load_files
from analytics.data.schema import DataError
from analytics.reports.report import PARALLEL_MIN_PURCHASES, SECTIONS, ReportSettings, build_report

logger = logging.getLogger(__name__)


class UsageError(Exception):
    """A command line that cannot be run (unknown option, missing file name)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would print usage + error on two lines
        raise UsageError(f"{message} (see python -m analytics report --help)")


def one_line(message: str) -> str:
    r"""The message on a single line: line breaks (e.g. inside a column name) shown as a visible \n.

    Parameters
    ----------
    message : str
        An error message.

    Returns
    -------
    str
        The same text without line breaks.
    """
    return message.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n").strip()


def _fail(message: str) -> int:
    print(f"error: {one_line(message)}", file=sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analytics", description="Customer analytics, headless.")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="analyse files and print or write the report")
    report.add_argument("files", nargs="*", metavar="FILE", help="CSV, .xlsx or .parquet; or demo:NAME")
    report.add_argument(
        "--db",
        metavar="URL",
        help="run on database tables instead of files: duckdb:///path/shop.duckdb or postgresql://user@host:port/db "
        "(password from PGPASSWORD or ~/.pgpass, never in the URL)",
    )
    report.add_argument(
        "--table",
        action="append",
        default=[],
        metavar="ROLE=NAME",
        help="with --db: purchases=NAME (required) and customers=NAME (optional)",
    )
    report.add_argument("--period", choices=["D", "W", "M"], default="W", help="model time unit (default W)")
    report.add_argument("--calibration-end", metavar="YYYY-MM-DD", help="last day of the fitting window")
    report.add_argument(
        "--business-kind",
        choices=["subscription", "purchase_log"],
        help="read the data as this kind of business (default: detected, see data.business_kind_reason)",
    )
    report.add_argument("--sheet", metavar="NAME", help="Excel sheet to read (default: the one holding the most data)")
    report.add_argument(
        "--only", metavar="SECTION[,SECTION]", help="compute only these sections ('data' alone: just read and clean)"
    )
    report.add_argument("--json", metavar="PATH|-", help="write JSON to PATH, or to stdout with -")
    report.add_argument(
        "--workers",
        type=int,
        choices=[1, 2],
        help="1: one process; 2: fit the purchase models on a second process meanwhile "
        f"(default: 2 from {PARALLEL_MIN_PURCHASES:,} purchases on two cores or more)",
    )
    readout = report.add_argument_group("campaign readout (the report's campaign.uplift)")
    readout.add_argument(
        "--readout-list", metavar="FILE", help="the exported contact list (customer id + group treatment/control)"
    )
    readout.add_argument(
        "--readout-outcome",
        nargs="+",
        metavar="FILE",
        help="the later file(s) of the same customers: a customers table with the churn flag, or the next purchase log",
    )
    readout.add_argument("--readout-since", metavar="YYYY-MM-DD", help="count only purchases from this day on")
    readout.add_argument("--offer-cost", type=float, metavar="X", help="offer cost per treated customer (currency)")
    readout.add_argument(
        "--control-share", type=float, default=0.10, metavar="S", help="control group share 0..1 (default 0.10)"
    )
    return parser


def _readout_inputs(args: argparse.Namespace) -> dict:
    """ReportSettings fields of the readout options (raises DataError for unusable input)."""
    from analytics.data.io import read_table

    if bool(args.readout_list) != bool(args.readout_outcome):
        raise DataError("A readout needs both --readout-list (the exported contact list) and --readout-outcome.")
    fields: dict = {"control_share": args.control_share, "offer_cost": args.offer_cost}
    if args.readout_since:
        try:
            fields["readout_since"] = pd.Timestamp(args.readout_since)
        except ValueError as exc:
            raise DataError(f"--readout-since '{args.readout_since}' is not a date (use YYYY-MM-DD).") from exc
    if args.readout_list:
        path = Path(args.readout_list)
        if not path.is_file():
            raise DataError(f"File not found: {args.readout_list}")
        fields["readout_list"] = read_table(path.read_bytes(), path.name).frame
        fields["readout_outcome"] = _load(args.readout_outcome)
    return fields


def _load(paths: list[str], sheet: str | None = None):
    if len(paths) == 1 and paths[0].startswith("demo:"):
        return load_demo(paths[0].split(":", 1)[1])
    files = []
    for path in paths:
        file = Path(path)
        if not file.is_file():
            raise DataError(f"File not found: {path}. Check the path and the file name.")
        try:
            files.append((file.name, file.read_bytes()))
        except OSError as exc:
            raise DataError(f"'{path}' could not be read ({exc.strerror or exc}). Check its permissions.") from exc
    return load_files(files, sheet=sheet)


def _database_report(args: argparse.Namespace, calibration_end: pd.Timestamp | None, progress) -> dict:
    """`--db URL --table purchases=NAME [--table customers=NAME]`: the report computed in the database."""
    from analytics.reports.database import database_report

    if not args.db:
        raise UsageError("--table needs --db URL (the database that holds the table)")
    if args.files:
        raise UsageError("give either FILE(s) or --db, not both")
    tables = {}
    for item in args.table:
        role, sep, name = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--table {item}: write ROLE=NAME, e.g. --table purchases=sales.orders")
        tables[role.strip()] = name.strip()
    settings = ReportSettings(period=args.period, calibration_end=calibration_end, business_kind=args.business_kind)
    print(f"connecting to {args.db} ...", file=sys.stderr)
    return database_report(args.db, tables, settings, progress=progress)


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
    """Run the command line; returns the exit code (0 report written, 2 input or usage problem).

    The contract: exit 0 with the report, or exit 2 with exactly one `error:` line on stderr that
    names the cause and the fix. Never a traceback: an unexpected exception becomes one line too.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code.
    """
    try:
        return _main(argv)
    except UsageError as exc:
        return _fail(str(exc))
    except DataError as exc:
        return _fail(str(exc))
    except MemoryError:
        return _fail("the file is too large for this machine's memory. Split it, or use a machine with more memory.")
    except KeyboardInterrupt:
        return _fail("interrupted.")
    except Exception as exc:  # last resort: the contract holds even for a bug
        logger.debug("unexpected error", exc_info=True)
        return _fail(
            f"internal error ({type(exc).__name__}: {exc}). This is a bug, not your file's fault: please "
            "report it with the file's column names."
        )


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        calibration_end = pd.Timestamp(args.calibration_end) if args.calibration_end else None
    except ValueError:
        return _fail(f"--calibration-end '{args.calibration_end}' is not a date (use YYYY-MM-DD)")
    progress = lambda name: print(f"computing {name} ...", file=sys.stderr)  # noqa: E731
    if args.db or args.table:
        report = _database_report(args, calibration_end, progress)
    else:
        if not args.files:
            raise UsageError("give a FILE (or demo:NAME), or --db URL --table purchases=NAME")
        print(f"reading {', '.join(args.files)} ...", file=sys.stderr)
        data = _load(args.files, args.sheet)
        settings = ReportSettings(
            period=args.period,
            calibration_end=calibration_end,
            business_kind=args.business_kind,
            **_readout_inputs(args),
        )
        # a --business-kind the data cannot support raises DataError: one error line, exit 2 (see main)
        sections = None
        if args.only:
            wanted = [w.strip() for w in args.only.split(",") if w.strip()]
            unknown = [w for w in wanted if w not in SECTIONS and w != "data"]
            if unknown:
                return _fail(f"--only: unknown section {', '.join(unknown)} (choose from data, {', '.join(SECTIONS)})")
            sections = {name: target for name, target in SECTIONS.items() if name in wanted}
        report = build_report(data, settings, sections=sections, progress=progress, workers=args.workers)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.json == "-":
        sys.stdout.write(text + "\n")
    elif args.json:
        try:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            return _fail(f"could not write '{args.json}' ({exc.strerror or exc}). Choose a writable path.")
        print(f"wrote {args.json}", file=sys.stderr)
        print(_summary(report))
    else:
        print(_summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
