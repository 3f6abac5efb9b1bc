"""A refresh never leaves a half-written notebook, stores the same bytes twice in a row, stores what
JupyterLab writes back, and stops cleanly on a signal (the set-up script's tests are in test_setup.py)."""

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("refresh_tool", ROOT / "tools" / "refresh.py")
refresh_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refresh_tool)
_lab_spec = importlib.util.spec_from_file_location("lab_server", ROOT / "tools" / "lab_server.py")
lab_server = importlib.util.module_from_spec(_lab_spec)
_lab_spec.loader.exec_module(lab_server)


def _refresh(path, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "refresh.py"), *args, str(path)], capture_output=True, text=True, cwd=ROOT
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


WIDGETS_AND_TIMING = [
    # the kernel sends these three lines as one, two or three stream messages, at random
    "import time\nfor i in range(3):\n    print('line', i, flush=True)\n    time.sleep(0.02)",
    # a tqdm progress bar (a widget in a kernel) from chapter 6's training loop
    "import torch\nfrom course_utils import demos\ntorch.manual_seed(0)\nmodel = torch.nn.Linear(2, 1)\n"
    "batch = lambda: (torch.ones(4, 2), torch.zeros(4, 1))\n"
    "losses = demos.train(model, batch, torch.nn.functional.mse_loss, steps=12, desc='tiny')",
    # chapter 5's explorer
    "from course_utils.widgets import receptive_field_explorer\nreceptive_field_explorer(rates='1, 2', size=9)",
    # a measurement: its numbers change on every run
    "import time\nstart = time.perf_counter()\nsum(range(10_000))\n"
    "print(f'sum took {(time.perf_counter() - start) * 1e6:.3f} us')",
]


def _widgets_notebook(path):
    cells = [new_code_cell(source) for source in WIDGETS_AND_TIMING]
    cells[-1].metadata["tags"] = ["nbval-ignore-output"]
    nbformat.write(new_notebook(cells=cells), path)


def test_refresh_twice_stores_the_same_bytes_and_readable_widgets(tmp_path):
    path = tmp_path / "widgets.ipynb"
    _widgets_notebook(path)
    first = _refresh(path)
    assert first.returncode == 0, first.stderr
    once = path.read_bytes()
    second = _refresh(path)
    assert second.returncode == 0, second.stderr
    assert "kept 1 timing output(s), --remeasure to store new ones" in second.stdout
    assert path.read_bytes() == once, "a second refresh changed the notebook"

    nb = json.loads(once)
    printed, bar, explorer, timing = (cell["outputs"] for cell in nb["cells"])
    assert printed == [{"name": "stdout", "output_type": "stream", "text": ["line 0\n", "line 1\n", "line 2\n"]}]
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    # the bar's text fallback is its last frame, and its widget (stored state) is at 100%
    (bar_output,) = bar
    assert re.fullmatch(r"tiny: 100%\|█{10}\| 12/12, loss=\d\.\d{4}", "".join(bar_output["data"]["text/plain"]))
    box = state[bar_output["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]]["state"]
    progress = state[box["children"][1].removeprefix("IPY_MODEL_")]["state"]
    assert (progress["value"], progress["max"], progress["bar_style"]) == (12, 12, "success")
    # the explorer's fallback: its numbers as text and its map as a PNG
    (explorer_output,) = explorer
    text = "".join(explorer_output["data"]["text/plain"])
    assert text.startswith("Receptive-field explorer: dilation rates 1, 2; kernel 3; image 9 x 9")
    assert "receptive field: 7 x 7" in text and "ReceptiveFieldExplorer(" not in text
    assert explorer_output["data"]["image/png"].startswith("iVBORw0KGgo")  # base64 of the PNG signature
    # every widget output points at a stored model, with ids that do not depend on the run
    views = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] for o in bar + explorer]
    assert all(view in state for view in views)
    assert {len(model_id) for model_id in state} == {32}
    assert len(timing) == 1 and timing[0]["text"][0].startswith("sum took ")

    remeasured = _refresh(path, "--remeasure")
    assert remeasured.returncode == 0 and "kept" not in remeasured.stdout


def test_refresh_stores_what_jupyterlab_writes_back(tmp_path):
    """JupyterLab sets language_info from the kernel (with its version) and writes JSON numbers as
    JavaScript does (300.0 -> 300); a notebook that already holds both is not modified on opening."""
    from ipykernel.ipkernel import IPythonKernel

    path = tmp_path / "opened.ipynb"
    _widgets_notebook(path)
    nb = nbformat.read(path, as_version=4)
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    path.write_text(json.dumps(nb, indent=1))  # an older notebook: nbformat 4.4, no cell ids
    assert _refresh(path).returncode == 0
    stored = json.loads(path.read_text())
    assert stored["metadata"]["language_info"] == IPythonKernel.language_info
    assert stored["metadata"]["kernelspec"] == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    assert (stored["nbformat"], stored["nbformat_minor"]) == (4, 5)
    ids = [cell.get("id") for cell in stored["cells"]]
    assert all(ids) and len(set(ids)) == len(ids)
    widget_state = json.dumps(stored["metadata"]["widgets"])
    assert not re.search(r"[:\[,] ?-?\d+\.0[,\]}\s]", widget_state), "integral floats are written as integers"


def test_jupyterlab_opens_a_refreshed_notebook_unmodified(tmp_path, browser):
    """The real check behind the metadata test: JupyterLab opens the notebook, starts its kernel,
    shows no "modified" dot, and saving it writes the very same bytes."""
    path = tmp_path / "lab" / "opened.ipynb"
    path.parent.mkdir()
    _widgets_notebook(path)
    assert _refresh(path).returncode == 0
    stored = path.read_bytes()
    with lab_server.lab_server(path.parent, tmp_path / "jupyter") as port:
        page = browser.new_page()
        try:
            page.goto(f"http://127.0.0.1:{port}/lab/tree/{path.name}?reset")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
            page.wait_for_timeout(2000)  # JupyterLab writes the kernel's info into the model once it is idle
            dirty = page.locator(".lm-TabBar-tab.jp-mod-dirty").count()
            page.keyboard.press("Control+s")
            page.wait_for_timeout(3000)
        finally:
            page.close()
    assert dirty == 0, "JupyterLab marked the untouched notebook modified"
    assert path.read_bytes() == stored, "JupyterLab's save changed the notebook"


def _alive(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited already


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads kernel processes from /proc (Linux)")
@pytest.mark.parametrize(
    ("sig", "whole_group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c-to-the-terminal-group", "sigterm-to-the-process"],
)
def test_refresh_stops_at_once_on_a_signal(tmp_path, sig, whole_group):
    """The notebook's second cell sleeps ten minutes; the signal arrives while it runs."""
    path, pid_file, scratch = tmp_path / "slow.ipynb", tmp_path / "kernel.pid", tmp_path / "scratch"
    scratch.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("print('stored')")]), path)
    assert _refresh(path).returncode == 0
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(
        new_code_cell(f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)")
    )
    nbformat.write(nb, path)
    before = path.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "refresh.py"), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},  # where the kernel's connection file goes
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )
    try:
        deadline = time.monotonic() + 300
        while not (pid_file.exists() and pid_file.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        kernel = int(pid_file.read_text())
        (os.killpg if whole_group else os.kill)(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=10)  # the cell would sleep 600 s: this is a hang guard
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 128 + sig
    assert stderr.splitlines() == [
        f"refresh: stopped by {signal.Signals(sig).name}; no kernel left running, every notebook left as before"
    ]
    assert stdout == f"refresh: {path} ...\n"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel.pid", "scratch", "slow.ipynb"]
    assert not any(scratch.iterdir()), "the kernel's connection file is removed"
    for _ in range(50):  # the kernel was killed; give the OS a moment to reap it
        if not _alive(kernel):
            break
        time.sleep(0.1)
    assert not _alive(kernel), "the kernel process outlived the refresh"


def test_adjacent_streams_merge_and_others_stay_in_order():
    outputs = [
        new_output("stream", name="stdout", text="a\n"),
        new_output("stream", name="stdout", text="b\n"),
        new_output("display_data", data={"text/plain": "figure"}),
        new_output("stream", name="stdout", text="c\n"),
        new_output("stream", name="stderr", text="d\n"),
    ]
    merged = refresh_tool.coalesce_streams(outputs)
    assert [(o["output_type"], o.get("name"), o.get("text")) for o in merged] == [
        ("stream", "stdout", "a\nb\n"),
        ("display_data", None, None),
        ("stream", "stdout", "c\n"),
        ("stream", "stderr", "d\n"),
    ]


def _two_widget_notebook(ids):
    """An HBox showing a Label, as a kernel leaves it, with the given (random) model ids."""
    box, label, layout = ids
    nb = new_notebook(
        cells=[
            new_code_cell(
                "w",
                outputs=[
                    new_output(
                        "display_data",
                        data={"text/plain": "HBox(...)", "application/vnd.jupyter.widget-view+json": {"model_id": box}},
                    )
                ],
            )
        ]
    )
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {
                layout: {"model_name": "LayoutModel", "state": {"width": None}},
                label: {"model_name": "LabelModel", "state": {"value": "x", "layout": f"IPY_MODEL_{layout}", "n": 2.0}},
                box: {
                    "model_name": "HBoxModel",
                    "state": {"children": [f"IPY_MODEL_{label}"], "layout": f"IPY_MODEL_{layout}"},
                },
            },
            "version_major": 2,
            "version_minor": 0,
        }
    }
    return nb


def test_widget_ids_depend_on_order_of_appearance_only():
    import uuid

    runs = [_two_widget_notebook([uuid.uuid4().hex for _ in range(3)]) for _ in range(2)]
    for nb in runs:
        refresh_tool.renumber_widgets(nb, "chapter")
    assert runs[0].metadata == runs[1].metadata and runs[0].cells[0].outputs == runs[1].cells[0].outputs
    state = runs[0].metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    box_id = runs[0].cells[0].outputs[0].data["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert list(state)[0] == box_id  # the shown model first, then what it references
    assert state[box_id]["state"]["children"] == [f"IPY_MODEL_{list(state)[1]}"]
    assert state[list(state)[1]]["state"]["n"] == 2 and isinstance(state[list(state)[1]]["state"]["n"], int)


def test_measurements_are_kept_only_where_numbers_alone_changed():
    def notebook(text, tags=("nbval-ignore-output",)):
        cell = new_code_cell("t()", outputs=[new_output("stream", name="stdout", text=text)])
        cell.metadata["tags"] = list(tags)
        return new_notebook(cells=[cell])

    stored = notebook("fast 0.14 ms\n")
    new = notebook("fast 0.21 ms\n")
    assert refresh_tool.keep_measurements(new, stored) == 1 and new.cells[0].outputs[0].text == "fast 0.14 ms\n"
    reworded = notebook("fast: 0.21 ms\n")
    assert (
        refresh_tool.keep_measurements(reworded, stored) == 0 and reworded.cells[0].outputs[0].text == "fast: 0.21 ms\n"
    )
    plotted, replotted = notebook("fast 0.14 ms\n"), notebook("fast 0.21 ms\n")
    plotted.cells[0].outputs.append(new_output("display_data", data={"image/png": "iVBORw0KGgoAAAA"}))
    replotted.cells[0].outputs.append(new_output("display_data", data={"image/png": "iVBORw0KGgoBBBB"}))
    assert (
        refresh_tool.keep_measurements(replotted, plotted) == 1
        and replotted.cells[0].outputs == plotted.cells[0].outputs
    )
    checked = notebook("fast 0.21 ms\n", tags=())  # nbval compares this cell: its output is a fact, never kept
    assert refresh_tool.keep_measurements(checked, notebook("fast 0.14 ms\n", tags=())) == 0


@pytest.mark.parametrize("name", ["lab", "test", "refresh", "anim", "bench", "lint"])
def test_makefile_has_the_documented_targets(name):
    assert f"\n{name}:" in (ROOT / "Makefile").read_text()


def test_an_edit_saved_during_the_run_is_kept_with_one_line(tmp_path):
    """Issue 20 item 2: a notebook changed on disk since its run began is left alone, said in one line."""
    path = tmp_path / "edited.ipynb"
    marker = tmp_path / "running"
    nbformat.write(
        new_notebook(
            cells=[new_code_cell(f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(4)")]
        ),
        path,
    )
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "refresh.py"), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.1)
    assert marker.exists(), "the cell never ran"
    edited = nbformat.read(path, as_version=4)
    edited.cells.append(new_code_cell("print('saved by the learner during the run')"))
    nbformat.write(edited, path)
    saved = path.read_bytes()
    stdout, stderr = run.communicate(timeout=180)
    assert run.returncode == 1, (stdout, stderr)
    assert path.read_bytes() == saved, "the edit saved during the run was discarded"
    assert stderr.strip().splitlines() == [
        f"refresh: {path} changed on disk while it ran; left as it is (refresh it again to store outputs)"
    ]
    assert "done" not in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edited.ipynb", "running"], "no temporary file left"


def test_a_symlinked_notebook_stays_a_link_and_its_target_is_written(tmp_path):
    target = tmp_path / "real" / "chapter.ipynb"
    target.parent.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("print(6 * 7)")]), target)
    link = tmp_path / "link.ipynb"
    link.symlink_to(target)
    result = _refresh(link)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert nbformat.read(target, as_version=4).cells[0].outputs[0]["text"] == "42\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.ipynb", "real"]


def test_a_hanging_cell_stops_at_the_timeout_option(tmp_path):
    """Issue 20 item 13: --timeout SECONDS bounds each cell (default 600 s); the notebook is untouched."""
    path = tmp_path / "hangs.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import time\ntime.sleep(3600)")]), path)
    before = path.read_bytes()
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "refresh.py"), "--timeout", "3", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,  # without the option the cell would hold the run for 600 s
    )
    assert result.returncode == 1 and "failed, left unchanged" in result.stderr
    assert path.read_bytes() == before
    bad = _refresh(path, "--timeout", "0")
    assert bad.returncode == 2 and "--timeout must be a whole number of seconds >= 1, got 0" in bad.stderr


def test_stream_coalescing_is_linear():
    """Issue 20 item 13: 1,600 chunks of 5 KB took 153 s (each join copied the growing text).

    Run in a child with a bound far above a linear merge (well under a second) and far below the
    quadratic one, in 2 GB of address space."""
    code = (
        "import importlib.util, resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))\n"
        f"spec = importlib.util.spec_from_file_location('r', {str(ROOT / 'tools' / 'refresh.py')!r})\n"
        "r = importlib.util.module_from_spec(spec); spec.loader.exec_module(r)\n"
        "from nbformat.v4 import new_output\n"
        "chunk = 'x' * 5119 + '\\n'\n"
        "outs = [new_output('stream', name='stdout', text=chunk) for _ in range(16000)]\n"
        "merged = r.coalesce_streams(outs)\n"
        "assert len(merged) == 1 and merged[0]['text'] == chunk * 16000\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "ok\n", result.stderr
