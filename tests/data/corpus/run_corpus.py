"""Run every corpus case through the headless report and compare it with the generator's truth.

    python tests/data/corpus/run_corpus.py [--root REPO] [--markdown]

`--root` runs another checkout's code (e.g. the commit before a change) on the same files, which
is how the before/after table is measured. Prints one line per case: the outcome and the verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_case(name: str, spec: dict, files_dir: Path, only: str | None = None) -> dict:
    """Run one case in-process through the CLI's main(); returns what happened."""
    from analytics.reports import cli

    paths = [str(files_dir / name / f) for f in spec["files"]]
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["report", *paths, "--json", "-", *(["--only", only] if only else [])])
    except BaseException:  # a crash is an outcome to record
        return {"code": None, "stderr": err.getvalue() + traceback.format_exc(), "report": None}
    report = json.loads(out.getvalue()) if code == 0 and out.getvalue().strip() else None
    return {"code": code, "stderr": err.getvalue(), "report": report}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def revenue_of(report: dict, paths: list[str]) -> float | None:
    data = report["data"]
    if "revenue" in data:
        return data["revenue"]
    from analytics.data.ingest import load_files  # older code: compute it the same way

    loaded = load_files([(Path(p).name, Path(p).read_bytes()) for p in paths])
    if loaded.transactions is None:
        return None
    return round(float(loaded.transactions["amount"].sum()), 2)


def verdict(name: str, spec: dict, result: dict, files_dir: Path) -> tuple[str, str]:
    """(outcome, problem) where problem is '' when the case meets its expectation."""
    expected = spec["expected"]
    code, stderr, report = result["code"], result["stderr"], result["report"]
    if code is None or "Traceback" in stderr:
        last = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or ["?"]
        return "crash", f"traceback: {last[0][:120]}"
    if code == 2:
        lines = error_lines(stderr)
        shown = lines[0][7:][:150] if lines else stderr.strip()[:150]
        if len(lines) != 1:
            return f"refused ({len(lines)} error lines)", "contract: not exactly one error line"
        if expected["outcome"] != "refused":
            return "refused", f"refused an ordinary file: {shown}"
        missing = [w for w in expected["words"] if w.lower() not in lines[0].lower()]
        if missing:
            return "refused", f"message misses {missing}: {shown}"
        return "refused", ""
    if code != 0 or report is None:
        return f"exit {code}", "contract: exit code"
    data = report["data"]
    if expected["outcome"] == "refused":
        return "ok", f"should be refused ({expected['words']})"
    problems = []
    if data["rows_read"] != data["rows_used"] + sum(e["rows"] for e in data["excluded"]):
        problems.append("rows read != used + excluded")
    for key in ("rows_read", "rows_used", "customers"):
        if data[key] != expected[key]:
            problems.append(f"{key} {data[key]} != {expected[key]}")
    if "revenue" in expected:
        paths = [str(files_dir / name / f) for f in spec["files"]]
        got = revenue_of(report, paths)
        if got is None or abs(got - expected["revenue"]) > 0.011:
            problems.append(f"revenue {got} != {expected['revenue']}")
    if "currency" in expected and data.get("currency") != expected["currency"]:
        problems.append(f"currency {data.get('currency')} != {expected['currency']}")
    notes = " ".join(n for t in data.get("tables", []) for n in t.get("notes", [])).lower()
    notes += " " + " ".join(str(w) for w in data.get("warnings", [])).lower()
    for word in expected.get("notes", []):
        if word.lower() not in notes:
            problems.append(f"no note about '{word}'")
    for word in expected.get("warnings", []):
        if word.lower() not in " ".join(str(w) for w in data.get("warnings", [])).lower():
            problems.append(f"no warning about '{word}'")
    reasons = " ".join(e["reason"] for e in data["excluded"]).lower()
    for word in expected.get("excluded", []):
        if word.lower() not in reasons:
            problems.append(f"no exclusion reason with '{word}'")
    for section, present in expected.get("sections", {}).items():
        if (report.get(section) is not None) != present:
            problems.append(f"section {section} {'missing' if present else 'should be null'}")
        if not present and not report.get("reasons", {}).get(section):
            problems.append(f"section {section} null without a reason")
    for section, why in report.get("reasons", {}).items():
        if why.startswith("Internal error"):
            problems.append(f"{section}: {why[:100]}")
    return "ok", "; ".join(problems)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=str(HERE.parents[2]))
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--json", help="write {case: [outcome, problem]} here")
    parser.add_argument("--sections", help="pass --only to the CLI for cases without expected sections")
    args = parser.parse_args()
    sys.path.insert(0, args.root)
    manifest = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
    files_dir = HERE / "files"
    table = {}
    for name, spec in manifest.items():
        if args.only and name not in args.only:
            continue
        only = None if spec["expected"].get("sections") else args.sections
        result = run_case(name, spec, files_dir, only)
        outcome, problem = verdict(name, spec, result, files_dir)
        table[name] = [outcome, problem]
        print(f"{name:40s} {outcome:10s} {'PASS' if not problem else 'FAIL: ' + problem}", flush=True)
    failed = sum(1 for _, p in table.values() if p)
    print(f"{len(table) - failed}/{len(table)} meet the truth", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
