"""How long `make grade` takes on a class of 60 returned copies of chapter 1, on this machine's cores.

The target is <= 2 minutes on two cores. The copies are made here from the course's own notebook as
the site makes student copies (solutions removed); a third are right, a third untouched, a third
wrong in a typical way, so every path of the checkers runs. Nothing is written outside a temporary folder.
Run: make bench (or .venv/bin/python benchmarks/grade_60.py).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    import nbformat
    from test_grade import _answer, _student, _submission  # the fixtures of the grading tests

    wrong = {
        "effective_kernel_size": _answer("effective_kernel_size", "    return K * d"),
        "conv_output_size": _answer("conv_output_size", "    return (n + 2 * p - K) // s + 1"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "returned"
        folder.mkdir()
        for i in range(60):
            nb = (_submission({}), _student(ROOT / "notebooks" / "01_standard_vs_atrous.ipynb"), _submission(wrong))[
                i % 3
            ]
            nbformat.write(nb, folder / f"student_{i:02d}.ipynb")
        jobs = os.cpu_count() or 1
        command = [sys.executable, str(ROOT / "tools" / "grade.py"), str(folder), "--out", str(Path(tmp) / "grades")]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(result.stderr)
        rows = (Path(tmp) / "grades" / "gradebook.csv").read_text(encoding="utf-8").splitlines()[1:]
    print(
        f"grade 60 chapter-1 submissions ({len(rows)} rows), {jobs} cores: {seconds:.1f} s "
        f"({seconds / 60:.2f} s per submission; target <= 120 s on 2 cores)"
    )


if __name__ == "__main__":
    main()
