"""A refresh never leaves a half-written notebook (the set-up script's tests are in test_setup.py)."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def _refresh(path):
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "refresh.py"), str(path)], capture_output=True, text=True, cwd=ROOT
    )


def test_refresh_writes_counts_and_outputs(tmp_path):
    path = tmp_path / "ok.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("print(6 * 7)"), new_code_cell("x = 1")]), path)
    mode = path.stat().st_mode & 0o777
    result = _refresh(path)
    assert result.returncode == 0, result.stderr
    nb = nbformat.read(path, as_version=4)
    assert [c.execution_count for c in nb.cells] == [1, 2]
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    assert path.stat().st_mode & 0o777 == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.ipynb"]


def test_refresh_failure_leaves_the_notebook_untouched(tmp_path):
    path = tmp_path / "broken.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("print('before')"), new_code_cell("1 / 0")]), path)
    before = path.read_bytes()
    result = _refresh(path)
    assert result.returncode != 0
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb"], "no temporary file left behind"


@pytest.mark.parametrize("name", ["lab", "test", "refresh", "anim", "bench", "lint"])
def test_makefile_has_the_documented_targets(name):
    assert f"\n{name}:" in (ROOT / "Makefile").read_text()
