"""The set-up script fails in one clear line; a refresh never leaves a half-written notebook."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def test_setup_script_explains_a_missing_python(tmp_path):
    result = subprocess.run(
        ["bash", str(ROOT / "tools" / "setup_venv.sh")],
        env={**os.environ, "PYTHON": "python3.11-not-installed", "VENV": str(tmp_path / "venv")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "setup: Python 3.11 is needed and 'python3.11-not-installed' is not on PATH; "
        "install Python 3.11 (or run make PYTHON=/path/to/python3.11)."
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_setup_script_refuses_another_python_version(tmp_path):
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\necho 3.9\n")
    fake.chmod(0o755)
    result = subprocess.run(
        ["bash", str(ROOT / "tools" / "setup_venv.sh")],
        env={**os.environ, "PYTHON": str(fake), "VENV": str(tmp_path / "venv")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"setup: Python 3.11 is needed, '{fake}' is Python 3.9; run make PYTHON=/path/to/python3.11."
    )


def test_setup_script_explains_a_registry_it_cannot_reach(tmp_path):
    """No network: pip is pointed at a closed local port with no mirrors; the script ends in one line."""
    env = {
        **os.environ,
        "VENV": str(tmp_path / "venv"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_FIND_LINKS": "",
        "PIP_RETRIES": "0",
        "PIP_DEFAULT_TIMEOUT": "3",
        "PIP_NO_CACHE_DIR": "1",
    }
    result = subprocess.run(["bash", str(ROOT / "tools" / "setup_venv.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"setup: could not download the pinned packages: no network to the package registry? "
        f"Details in {tmp_path / 'venv'}-install.log."
    ]
    assert not (tmp_path / "venv" / ".installed").exists()


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
