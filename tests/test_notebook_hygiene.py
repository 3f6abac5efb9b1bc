"""Every stored notebook is one nbval can check and a reader can trust (the guide's anatomy)."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = [
    "01_standard_vs_atrous.ipynb",
    "02_numpy_from_scratch.ipynb",
    "03_keras_dilation_rate.ipynb",
    "04_gridding_probe.ipynb",
    "05_fibonacci_fix.ipynb",
    "06_aspp_wavenet.ipynb",
    "07_dilated_backbones.ipynb",
]
MACHINE_PATH = re.compile(r"(/root/|/home/|/tmp/|/work/|site-packages|\\Users\\)")


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell):
    return "".join(cell["source"])


def test_notebooks_are_the_numbered_chapters():
    names = [p.name for p in NOTEBOOKS]
    assert names, "no notebooks found"
    assert names == [n for n in EXPECTED if n in names], f"unexpected notebook names: {names}"


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name)
def notebook(request):
    return request.param, _load(request.param)


def test_execution_counts_run_one_to_n(notebook):
    path, nb = notebook
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and _source(c).strip()]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), "run `make refresh`"


def test_no_errors_no_stderr_no_machine_paths(notebook):
    path, nb = notebook
    for index, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"cell {index} stores an error"
            assert out.get("name") != "stderr", f"cell {index} stores stderr: {''.join(out.get('text', ''))[:200]}"
            text = json.dumps(out.get("text", "")) + json.dumps(out.get("data", {}).get("text/plain", ""))
            assert not MACHINE_PATH.search(text), f"cell {index} output shows a machine path"
            assert "image/gif" not in out.get("data", {}), f"cell {index}: link GIFs from Markdown instead"


def test_size_and_kernel(notebook):
    path, nb = notebook
    assert path.stat().st_size < 2_000_000, f"{path.name} is {path.stat().st_size // 1000} kB"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_anatomy(notebook):
    path, nb = notebook
    cells = nb["cells"]
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# Chapter ")
    intro = _source(cells[0])
    assert "**Learning goals.**" in intro and "**Prerequisites.**" in intro
    goals = [line for line in intro.splitlines() if line.startswith("- ")]
    assert 3 <= len(goals) <= 5, f"{len(goals)} learning goals"
    setup = next(c for c in cells if c["cell_type"] == "code")
    assert "course_utils.setup()" in _source(setup), "the first code cell calls course_utils.setup()"
    markdown = "\n".join(_source(c) for c in cells if c["cell_type"] == "markdown")
    for heading in ("## Check yourself", "## Summary", "## References"):
        assert heading in markdown, f"missing section {heading!r}"
    # Code cells tagged `solution` are the worked solutions; a Markdown cell may carry the tag too (the
    # sentence that points at them), so that student copies and slides drop it with them.
    solutions = [c for c in cells if c["cell_type"] == "code" and "solution" in c["metadata"].get("tags", [])]
    assert 2 <= len(solutions) <= 4, "2-4 exercises, each with a collapsed worked solution"
    assert all(c["metadata"].get("jupyter", {}).get("source_hidden") for c in solutions)
    for cell in solutions:
        assert "exercises.check_" in _source(cell), "each solution is verified by its checker"


def test_timing_and_widget_cells_are_marked_ignore_output(notebook):
    path, nb = notebook
    for cell in nb["cells"]:
        source = _source(cell)
        if cell["cell_type"] == "code" and re.search(r"perf_counter|timeit|receptive_field_explorer\(|tqdm", source):
            if "import" in source.splitlines()[0] and len(source.splitlines()) < 3:
                continue
            tagged = "nbval-ignore-output" in cell["metadata"].get("tags", [])
            assert tagged or "NBVAL_IGNORE_OUTPUT" in source, f"tag this cell nbval-ignore-output:\n{source[:200]}"


def test_gif_links_point_to_committed_files(notebook):
    path, nb = notebook
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.gif)\)", _source(cell)):
                assert target.startswith("../anim/"), target
                assert (path.parent / target).resolve().is_file(), f"missing {target}: run `make anim`"
