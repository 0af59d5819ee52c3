"""The corpus of awkward files (tests/data/corpus) through the CLI, against the generator's truth.

Each case must end in exit 0 with the numbers the generator wrote (rows read/used, customers,
revenue, currency, notes and warnings it must carry) or in exit 2 with exactly one `error:` line
holding the refusal's key words; never a traceback. Most cases run the data section only (the
reading and cleaning this corpus is about); cases whose truth names sections run them all, and a
few run as a real subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "data" / "corpus"
MANIFEST = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
FILES = CORPUS / "files"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, CORPUS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _module("run_corpus")


def test_corpus_is_large_and_matches_its_generator(tmp_path):
    generator = _module("make_corpus")
    assert len(MANIFEST) >= 60
    assert generator.build(tmp_path) == MANIFEST  # the committed truth is what the seeded script makes
    for name, spec in MANIFEST.items():
        for file_name in spec["files"]:
            assert (FILES / name / file_name).is_file(), (name, file_name)


@pytest.mark.parametrize("name", list(MANIFEST))
def test_case_meets_its_truth_through_the_cli(name):
    spec = MANIFEST[name]
    only = None if spec["expected"].get("sections") else "data"
    result = runner.run_case(name, spec, FILES, only)
    assert "Traceback" not in result["stderr"]
    outcome, problem = runner.verdict(name, spec, result, FILES)
    assert not problem, f"{name}: {outcome}: {problem}"


# Cases that used to crash a section (single date, single row, zero amounts, identical spend,
# NaN amounts): every section runs or is null with a reason, none with an internal error.
@pytest.mark.parametrize(
    "name", ["single_purchase_date", "single_row", "all_zero_amounts", "identical_spend", "nan_inf_amounts"]
)
def test_every_section_runs_or_says_why(name):
    spec = MANIFEST[name]
    result = runner.run_case(name, spec, FILES, None)
    outcome, problem = runner.verdict(name, spec, result, FILES)
    assert not problem, f"{name}: {outcome}: {problem}"
    assert result["code"] == 0
    for section, reason in result["report"]["reasons"].items():
        assert reason and not reason.startswith("Internal error"), (section, reason)


@pytest.mark.parametrize("name", ["gzip_csv", "line_break_in_name_no_id", "unclosed_quote", "mixed_currencies"])
def test_real_subprocess_keeps_the_contract(name):
    spec = MANIFEST[name]
    paths = [str(FILES / name / f) for f in spec["files"]]
    done = subprocess.run(
        [sys.executable, "-m", "analytics", "report", *paths, "--json", "-", "--only", "data"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    if spec["expected"]["outcome"] == "ok":
        assert done.returncode == 0 and not errors
        data = json.loads(done.stdout)["data"]
        assert data["rows_used"] == spec["expected"]["rows_used"]
        assert data["revenue"] == pytest.approx(spec["expected"]["revenue"], abs=0.011)
    else:
        assert done.returncode == 2 and len(errors) == 1, done.stderr
        for word in spec["expected"]["words"]:
            assert word.lower() in errors[0].lower()
