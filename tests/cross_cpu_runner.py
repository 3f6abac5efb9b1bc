"""Run a notebook's code cells in this process and print, as JSON, what each cell printed.

Usage: python tests/cross_cpu_runner.py THREADS NOTEBOOK...

Used by test_cross_cpu.py, which starts it with CPU restrictions in the environment
(ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY, OPENBLAS_CORETYPE, ...). Every code cell runs, top to
bottom in one namespace per notebook, as in a kernel (IPython magics skipped, figures drawn
off-screen and closed); after the first cell (the set-up) PyTorch is put on THREADS threads, as a
learner might. Timing tables measure one repetition: their numbers are not compared, only the
random numbers they draw matter for the cells after them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

os.environ["MPLBACKEND"] = "Agg"


def run(path: Path, threads: int) -> dict[str, str]:
    import matplotlib.pyplot as plt
    import nbformat
    import torch

    from course_utils import timing

    def once(functions, reference=None, repeat=1, **kwargs):  # noqa: ARG001 -- same call, one repetition
        return {name: timing.median_time(function, repeat=1, warmup=0) for name, function in functions.items()}

    timing.time_table = once
    nb = nbformat.read(path, as_version=4)
    printed: dict[str, str] = {}
    namespace: dict = {"__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        first = True
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(compile(source, f"{path.name}:{cell.id}", "exec"), namespace)  # noqa: S102
            plt.close("all")
            printed[cell.id] = buffer.getvalue()
            if first:
                torch.set_num_threads(threads)
                first = False
    finally:
        os.chdir(cwd)
    return printed


def main(argv: list[str]) -> int:
    threads, paths = int(argv[0]), [Path(p).resolve() for p in argv[1:]]
    result = {path.name: run(path, threads) for path in paths}
    sys.stdout.write(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
