"""The notebooks in examples/ run top to bottom on the current code (nbclient, a real Jupyter kernel).

Each runs in a temporary folder (whatever it writes stays there) with the repository on PYTHONPATH,
as `jupyter nbconvert --execute` would after `pip install -e .`. Committed notebooks carry no outputs:
CI is where they run, and stale numbers in a diff would mislead.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))
TIMEOUT_PER_CELL = 300  # seconds; the whole walk-through takes about a minute on the CDNOW sample


def test_there_is_a_notebook():
    assert [p.name for p in NOTEBOOKS] == ["library_walkthrough.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        i
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert dirty == [], f"strip the outputs of cells {dirty} (jupyter nbconvert --clear-output --inplace {path.name})"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=TIMEOUT_PER_CELL, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError with the failing cell and its traceback
    outputs = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert "entry points" in outputs
    assert sorted(p.name for p in (tmp_path / "keepwise_output").iterdir()) == ["customers.csv", "customers.xlsx"]
