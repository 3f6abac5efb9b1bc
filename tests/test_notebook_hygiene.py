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
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
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
        widget = any(WIDGET_VIEW in out.get("data", {}) for out in cell.get("outputs", []))
        if cell["cell_type"] == "code" and (
            widget or re.search(r"perf_counter|timeit|tqdm|receptive_field_explorer\(", source)
        ):
            if not widget and "import" in source.splitlines()[0] and len(source.splitlines()) < 3:
                continue
            tags = cell["metadata"].get("tags", [])
            assert "nbval-ignore-output" in tags, f"tag this cell nbval-ignore-output:\n{source[:200]}"


def test_no_nbval_comments_in_code(notebook):
    """nbval's markers are cell tags, not comments the learner reads."""
    path, nb = notebook
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert not re.search(r"#\s*NBVAL_", _source(cell)), f"cell {index}: use the cell tag, not a comment"


def _widget_state(nb):
    return nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})


def test_widget_outputs_read_without_a_kernel(notebook):
    """Each widget output renders from the stored state (static HTML, JupyterLab before running) and
    carries a text/plain fallback that shows its last state (GitHub), not an object repr or a 0% bar."""
    path, nb = notebook
    state = _widget_state(nb)
    for index, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            model_id = data[WIDGET_VIEW]["model_id"]
            assert model_id in state, f"cell {index}: widget {model_id} has no stored state"
            for ref in re.findall(r"IPY_MODEL_([0-9a-f]{32})", json.dumps(state[model_id])):
                assert ref in state, f"cell {index}: widget {model_id} refers to a model that is not stored"
            text = "".join(data.get("text/plain", ""))
            assert text.strip(), f"cell {index}: widget output without a text/plain fallback"
            assert not re.search(r"\w+\((children|value|layout)=|IPY_MODEL_", text), f"cell {index}: {text[:80]!r}"
            assert not re.search(r"(^|\s)0%\|", text), f"cell {index}: the fallback shows an unfinished bar: {text!r}"
            if "%|" in text:  # a progress bar: the lesson's training ran to the end
                assert "100%|" in text, f"cell {index}: {text!r}"
            if state[model_id]["model_name"] == "VBoxModel":  # the explorer: its map for readers without a kernel
                assert "image/png" in data, f"cell {index}: the explorer's fallback has no map"


def test_metadata_is_what_jupyterlab_writes_back(notebook):
    """JupyterLab rewrites these on opening (kernel info, cell ids, nbformat 4.5, JSON numbers as
    JavaScript writes them); stored as it writes them, an untouched chapter opens unmodified."""
    path, nb = notebook
    assert (nb["nbformat"], nb["nbformat_minor"]) == (4, 5)
    ids = [cell.get("id") for cell in nb["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), "every cell has a unique id"
    info = nb["metadata"].get("language_info", {})
    assert info.get("name") == "python" and info.get("codemirror_mode") == {"name": "ipython", "version": 3}
    assert re.fullmatch(r"3\.1[1-3]\.\d+", info.get("version", "")), "run `make refresh` (the kernel's version)"
    assert nb["metadata"]["kernelspec"] == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    floats = re.findall(r"[:\[,]\s*-?\d+\.0\s*[,\]}]", json.dumps(nb["metadata"].get("widgets", {})))
    assert not floats, f"integral floats in the widget state (JupyterLab writes them as integers): {floats[:3]}"


def test_gif_links_point_to_committed_files(notebook):
    path, nb = notebook
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.gif)\)", _source(cell)):
                assert target.startswith("../anim/"), target
                assert (path.parent / target).resolve().is_file(), f"missing {target}: run `make anim`"
