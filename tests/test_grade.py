"""tools/grade.py: a folder of returned notebooks -> gradebook, feedback pages, summary; no submission
can crash it, hang it, forge a pass or touch anything outside its scratch folder.

The submissions are generated here from the course's own notebooks, as the site's student copies
are made (solutions removed, exercise outputs cleared), then one exercise cell is rewritten.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import re
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return sys.modules[name]


build_site = _load("build_site")
grade = _load("grade")

CH1 = ROOT / "notebooks" / "01_standard_vs_atrous.ipynb"
CH3 = ROOT / "notebooks" / "03_keras_dilation_rate.ipynb"
STUBS = {"effective_kernel_size": "K, d", "conv_output_size": "n, K, s, p, d", "dilate_kernel_1d": "w, d"}


def _student(path: Path):
    return build_site.student_copy(nbformat.read(path, as_version=4))


def _solutions(path: Path) -> dict[str, str]:
    nb = nbformat.read(path, as_version=4)
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
            name = re.search(r"^def (\w+)", cell.source, re.M).group(1)
            found[name] = cell.source
    return found


def _answer(name: str, body: str, prelude: str = "") -> str:
    return f"{prelude}def {name}({STUBS[name]}):\n{body}\n\n\nexercises.check_{name}({name})\n"


def _submission(answers: dict[str, str]):
    """Chapter 1's student copy with every exercise solved, except those given in ``answers``."""
    nb = _student(CH1)
    sources = {**_solutions(CH1), **answers}
    for cell in nb.cells:
        match = re.search(r"^def (\w+)", cell.source, re.M) if cell.cell_type == "code" else None
        if match and match.group(1) in sources and "exercises.check_" in cell.source:
            cell.source = sources[match.group(1)]
    return nb


def _fixtures(folder: Path, canary: Path) -> dict[str, list[str] | str]:
    """Write the submissions; return each file's expected row (verdicts, or the start of its note)."""
    loop = "    while True:\n        pass"
    cases = {
        "right.ipynb": ({}, ["pass", "pass", "pass"]),
        "wrong.ipynb": (
            {
                "effective_kernel_size": _answer("effective_kernel_size", "    return K * d"),
                "conv_output_size": _answer("conv_output_size", "    return (n + 2 * p - K) // s + 1"),
                "dilate_kernel_1d": _answer("dilate_kernel_1d", "    return np.repeat(w, d)"),
            },
            ["not yet", "not yet", "not yet"],
        ),
        "wrapper.ipynb": (
            {
                "effective_kernel_size": _answer(
                    "effective_kernel_size", "    return conv.effective_kernel_size(K, d)"
                ),
                "dilate_kernel_1d": _answer(  # hidden from a reading of the code: caught when it is called
                    "dilate_kernel_1d",
                    '    return getattr(importlib.import_module("course_utils.conv"), "dilate_" + "kernel")(w, d)',
                    "import importlib\n",
                ),
            },
            ["flagged", "pass", "flagged"],
        ),
        "monkeypatch.ipynb": (
            {
                "effective_kernel_size": _answer(
                    "effective_kernel_size", "    return K * d", "exercises.check_cases = lambda *a, **k: True\n"
                ),
                "dilate_kernel_1d": _answer(
                    "dilate_kernel_1d", "    return np.repeat(w, d)", "np.allclose = lambda *a, **k: True\n"
                ),
            },
            ["flagged", "pass", "not yet"],
        ),
        "endless.ipynb": (
            {"effective_kernel_size": _answer("effective_kernel_size", loop)},
            ["timeout", "pass", "pass"],
        ),
        "memory.ipynb": (
            {"conv_output_size": _answer("conv_output_size", "    hog = [0] * 10**10\n    return len(hog)")},
            ["pass", "error", "pass"],
        ),
        "exit.ipynb": (
            {"dilate_kernel_1d": _answer("dilate_kernel_1d", "    os._exit(3)", "import os\n")},
            ["pass", "pass", "error"],
        ),
        "forks.ipynb": (
            {
                "effective_kernel_size": _answer(
                    "effective_kernel_size", "    while True:\n        os.fork()", "import os\n"
                )
            },
            ["error", "pass", "pass"],
        ),
        "deleter.ipynb": (
            {
                "conv_output_size": _answer(
                    "conv_output_size",
                    f"    open({str(canary.parent / 'written.txt')!r}, 'w').close()\n    os.remove({str(canary)!r})",
                    "import os\n",
                ),
                "dilate_kernel_1d": _answer(
                    "dilate_kernel_1d",
                    "    socket.create_connection(('127.0.0.1', 9), timeout=1)",
                    "import socket\n",
                ),
            },
            ["pass", "error", "error"],
        ),
        "printer.ipynb": (
            {
                "effective_kernel_size": _answer(
                    "effective_kernel_size", "    print('x' * 50_000_000)\n    return (K - 1) * d + 1"
                )
            },
            ["pass", "pass", "pass"],
        ),
        "untouched.ipynb": (None, ["not yet", "not yet", "not yet"]),
        "truncated.ipynb": (None, "not graded: the notebook is truncated"),
        "01_standard_vs_atrous.ipynb": (None, "not graded: this is chapter 3"),
        "notes.ipynb": (None, "not graded: not a notebook"),
    }
    for name, (answers, _) in cases.items():
        if answers is not None:
            nbformat.write(_submission(answers), folder / name)
    nbformat.write(_student(CH1), folder / "untouched.ipynb")
    text = nbformat.writes(_submission({}))
    (folder / "truncated.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")
    nbformat.write(_student(CH3), folder / "01_standard_vs_atrous.ipynb")
    (folder / "notes.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00 not json")
    return {name: expected for name, (_, expected) in cases.items()}


def _digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def _course_files():
    return sorted(
        [*(ROOT / "notebooks").glob("*"), *(ROOT / "course_utils").glob("*.py"), *(ROOT / "tools").glob("*.py")]
    )


def _runners_left() -> list[str]:
    left = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "grade.py --runner" in command:
                left.append(f"{entry.name}: {command}")
    return left


def _grade(submissions: Path, out: Path, **env_changes: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_changes}
    command = [sys.executable, str(ROOT / "tools" / "grade.py"), str(submissions), "--out", str(out), "--jobs", "2"]
    command += ["--call-limit", "2"]  # the endless loops end sooner; every right answer takes milliseconds
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    lecturer = tmp_path_factory.mktemp("lecturer")
    canary = lecturer / "marks_2026.csv"
    canary.write_text("student,mark\nada,17\n", encoding="utf-8")
    submissions = lecturer / "returned"
    submissions.mkdir()
    expected = _fixtures(submissions, canary)
    before, course_before = _digest([canary, *submissions.iterdir()]), _digest(_course_files())
    first = _grade(submissions, lecturer / "grades")
    second = _grade(submissions, lecturer / "grades-again")
    return {
        "expected": expected,
        "lecturer": lecturer,
        "runs": (first, second),
        "unchanged": (before == _digest([canary, *submissions.iterdir()]), sorted(p.name for p in lecturer.iterdir())),
        "course_unchanged": course_before == _digest(_course_files()),
        "left": _runners_left(),
    }


def _rows(out: Path) -> dict[str, list[str]]:
    import csv

    with open(out / "gradebook.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["submission", "effective_kernel_size", "conv_output_size", "dilate_kernel_1d", "total", "note"]
    return {row[0]: row[1:] for row in rows[1:]}


def test_every_submission_gets_its_expected_row(graded):
    first, _ = graded["runs"]
    assert first.returncode == 0, first.stderr
    rows = _rows(graded["lecturer"] / "grades")
    assert sorted(rows) == sorted(graded["expected"])
    for name, expected in graded["expected"].items():
        verdicts, total, note = rows[name][:3], rows[name][3], rows[name][4]
        if isinstance(expected, str):
            assert verdicts == ["", "", ""] and note.startswith(expected), (name, rows[name])
            assert "\n" not in note
        else:
            assert verdicts == expected, (name, rows[name])
            assert total == str(expected.count("pass")) and note == "", (name, rows[name])


def test_the_run_says_which_protection_was_used_and_shows_progress(graded):
    first, _ = graded["runs"]
    assert "protection:" in first.stderr and "14/14" in first.stderr, first.stderr
    summary = (graded["lecturer"] / "grades" / "summary.html").read_text(encoding="utf-8")
    assert "Protection of the grading:" in summary and "<svg" in summary and "Pass rate per exercise" in summary


def test_nothing_outside_the_scratch_folder_changed_and_no_process_is_left(graded):
    unchanged, names = graded["unchanged"]
    assert unchanged, "a submission changed the lecturer's files"
    assert names == ["grades", "grades-again", "marks_2026.csv", "returned"], names
    assert graded["course_unchanged"], "a submission changed the course"
    assert graded["left"] == []


def test_two_runs_write_the_same_bytes(graded):
    first, second = graded["lecturer"] / "grades", graded["lecturer"] / "grades-again"
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert len(files) == 2 + 14
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def _revealed_line(checker, learner) -> str:
    from course_utils import exercises

    out = io.StringIO()
    with redirect_stdout(out):
        getattr(exercises, checker)(learner)
    return out.getvalue().splitlines()[0]


def test_the_feedback_page_in_a_browser_shows_hints_but_no_hidden_expected_value(graded, browser):
    import numpy as np

    page = browser.new_page()
    page.goto((graded["lecturer"] / "grades" / "feedback" / "wrong.html").as_uri())
    text = page.inner_text("body")
    page.close()
    wrong = {
        "check_effective_kernel_size": lambda k, d: k * d,
        "check_conv_output_size": lambda n, k, s, p, d: (n + 2 * p - k) // s + 1,
    }
    for checker, learner in wrong.items():
        revealed = _revealed_line(checker, learner)  # what the notebook shows: with the expected value
        shown = re.search(r", (expected [^;:]+)", revealed).group(1)
        assert shown not in text, (shown, text)
    assert "not the expected value" in text and "it looks like K * d" in text
    assert "it looks like the dilation is forgotten" in text and "it looks like each tap is repeated" in text
    assert "expected [" not in text and "expected (" not in text
    del np


def test_one_line_for_a_file_that_cannot_be_graded_and_a_refusal_for_course_folders(tmp_path):
    (tmp_path / "a.ipynb").write_text("", encoding="utf-8")
    result = _grade(tmp_path, ROOT / "notebooks")
    assert result.returncode == 2 and "holds the course's sources" in result.stderr
    data, problem = grade._load_notebook(tmp_path / "a.ipynb")
    assert data is None and problem == "not graded: the file is empty"


def test_values_cross_between_the_processes_as_plain_data_only():
    import numpy as np

    class Sneaky:
        def __repr__(self):
            return "Sneaky()"

    values = [None, True, 3, 2.5, "s", [1, (2, 3)], range(3), np.int64(4), np.arange(3.0), {"k": 1}]
    for value in values:
        back = grade.decode(grade.encode(value))
        assert type(back) is type(value) and repr(back) == repr(value)
    sneaky = grade.decode(grade.encode(Sneaky()))
    assert isinstance(sneaky, grade.Opaque) and repr(sneaky) == "Sneaky()"
    with pytest.raises(ValueError):
        grade.decode({"t": "ndarray", "v": {"dtype": "|O", "shape": [1], "b64": ""}})


def test_without_bwrap_or_unshare_the_grading_still_works_and_says_so(tmp_path):
    folder = tmp_path / "returned"
    folder.mkdir()
    nbformat.write(
        _submission({"effective_kernel_size": _answer("effective_kernel_size", "    return K * d")}), folder / "a.ipynb"
    )
    result = _grade(folder, tmp_path / "grades", PATH=str(tmp_path))  # a PATH where neither program is found
    assert result.returncode == 0, result.stderr
    assert "no bwrap or unshare on this system" in result.stderr
    assert _rows(tmp_path / "grades")["a.ipynb"] == ["not yet", "pass", "pass", "2", ""]
    assert "no bwrap or unshare" in (tmp_path / "grades" / "summary.html").read_text(encoding="utf-8")


@pytest.mark.skipif(not grade.shutil.which("unshare"), reason="unshare is not installed here")
def test_the_unshare_sandbox_grades_the_same(tmp_path):
    folder = tmp_path / "returned"
    folder.mkdir()
    loop = "    while True:\n        pass"
    nbformat.write(_submission({"effective_kernel_size": _answer("effective_kernel_size", loop)}), folder / "a.ipynb")
    command = [sys.executable, str(ROOT / "tools" / "grade.py"), str(folder), "--out", str(tmp_path / "g")]
    command += ["--call-limit", "2", "--sandbox"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([*command, "unshare"], capture_output=True, text=True, timeout=300, env=env)
    if result.returncode == 2 and "refuses its namespaces" in result.stderr:
        pytest.skip("this system refuses unprivileged namespaces")
    assert result.returncode == 0 and "protection: unshare" in result.stderr, result.stderr
    assert _rows(tmp_path / "g")["a.ipynb"] == ["timeout", "pass", "pass", "2", ""]
    assert _runners_left() == []


@pytest.mark.skipif(not grade.seccomp_available(), reason="the system-call filter is for Linux x86-64")
def test_the_system_call_filter_refuses_processes_files_network_and_signals(tmp_path):
    probe = tmp_path / "probe.txt"
    probe.write_text("kept", encoding="utf-8")
    code = f"""
import os, resource, socket, subprocess, sys, threading
sys.path.insert(0, {str(ROOT / "tools")!r})
import grade
grade._install_seccomp()
attempts = {{
    "fork": os.fork, "exec": lambda: os.execv("/bin/true", ["true"]), "run": lambda: subprocess.run(["true"]),
    "write": lambda: open({str(probe)!r}, "w"), "append": lambda: open({str(probe)!r}, "a"),
    "create": lambda: open({str(tmp_path / "new.txt")!r}, "x"), "unlink": lambda: os.unlink({str(probe)!r}),
    "rename": lambda: os.rename({str(probe)!r}, {str(tmp_path / "moved")!r}), "mkdir": lambda: os.mkdir({str(tmp_path / "d")!r}),
    "socket": socket.socket, "kill": lambda: os.kill(os.getppid(), 0),
    "limit": lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (8, 8)),
}}
for name, attempt in attempts.items():
    try:
        attempt()
        print(name, "allowed")
    except (OSError, ValueError):
        print(name, "refused")
thread = threading.Thread(target=print, args=("thread", "allowed"))
thread.start()
thread.join()  # its line whole, before the next ones
print("read", "allowed" if open({str(probe)!r}).read() == "kept" else "broken")
print("limits read", "allowed" if resource.getrlimit(resource.RLIMIT_NOFILE) else "broken")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    verdicts = dict(line.rsplit(" ", 1) for line in result.stdout.splitlines())
    allowed = {"thread", "read", "limits read"}
    assert set(verdicts) == allowed | {"fork", "exec", "run", "write", "append", "create", "unlink", "rename",
                                       "mkdir", "socket", "kill", "limit"}, result.stdout + result.stderr  # fmt: skip
    for name, verdict in verdicts.items():
        assert verdict == ("allowed" if name in allowed else "refused"), (name, verdict)
    assert probe.read_text(encoding="utf-8") == "kept" and sorted(p.name for p in tmp_path.iterdir()) == ["probe.txt"]


@pytest.mark.skipif(not grade.shutil.which("bwrap"), reason="bwrap is not installed here")
def test_the_bwrap_sandbox_keeps_a_course_that_lives_under_tmp(tmp_path, monkeypatch):
    """The sandbox's /tmp is empty: a checkout (and its .venv) under /tmp is mounted back, read-only."""
    course = tmp_path / "course"
    (course / "course_utils").mkdir(parents=True)
    marker = course / "course_utils" / "__init__.py"
    marker.write_text("", encoding="utf-8")
    monkeypatch.setattr(grade, "ROOT", course)
    probe = "import os, sys; print(os.path.exists(sys.argv[1]), os.access(sys.argv[1], os.W_OK))"
    command = [grade.shutil.which("bwrap"), *grade.bwrap_arguments(), sys.executable, "-c", probe, str(marker)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 and "ermission" in result.stderr:
        pytest.skip("this system refuses bwrap's namespaces")
    assert result.stdout.split() == ["True", "False"], result.stderr
