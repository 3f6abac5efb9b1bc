"""Fresh-kernel Run All time of every chapter, on a quiet machine and with one core kept busy.

For each notebook: a new kernel (this interpreter, as ``tools/refresh.py`` starts it), every cell
run top to bottom in the notebook's folder, nothing written back. Printed per chapter: the wall
time of Run All (kernel start-up included), the kernel's CPU time (user + sys: what the chapter
costs whatever else the machine is doing) and its slowest cell. "busy" starts a process that spins
on one core for the whole run (as a browser, a video call or a second notebook does on a laptop).

By default the kernel runs with ``ONEDNN_MAX_CPU_ISA=AVX2`` (PyTorch's oneDNN then uses no
AVX-512, as on a laptop or an AVX2-only cloud machine); ``--isa ""`` keeps the CPU's own.

Run: .venv/bin/python benchmarks/run_all_times.py [--conditions quiet busy] [--repeat N] [notebooks ...]
(``--repeat 3``: each chapter three times, in turns; the median run is shown with the range.)
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPIN = "while True:\n    pass\n"


def cpu_name() -> str:
    """The CPU's model name and the core count this process may use."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{name}, {cores} cores"


def start_busy_core() -> subprocess.Popen:
    """A process that spins on one core (the last one this process may use, where pinning works)."""

    def pin() -> None:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})

    return subprocess.Popen([sys.executable, "-c", SPIN], preexec_fn=pin if os.name == "posix" else None)  # noqa: PLW1509


def _kernel_manager() -> type:
    from jupyter_client.manager import AsyncKernelManager

    class ThisInterpreter(AsyncKernelManager):
        """The kernel is this interpreter (the course's .venv), whatever kernelspecs the machine has."""

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            connection_file = os.path.realpath(self.connection_file)
            return [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, *(extra_arguments or [])]

    return ThisInterpreter


def run_all(path: Path, env: dict[str, str]) -> dict[str, float]:
    """Run every cell of ``path`` in a fresh kernel; wall seconds, kernel CPU seconds, slowest cell."""
    import nbformat
    import psutil
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        kernel_manager_class=_kernel_manager(),
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    old_env = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    start = time.perf_counter()
    cells: list[tuple[float, int]] = []
    try:
        client.km = client.create_kernel_manager()
        with client.setup_kernel():
            kernel = psutil.Process(client.km.provisioner.process.pid)
            for index, cell in enumerate(nb.cells):
                cell_start = time.perf_counter()
                client.execute_cell(cell, index)
                cells.append((time.perf_counter() - cell_start, index))
            times = kernel.cpu_times()
            cpu = times.user + times.system + times.children_user + times.children_system
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    slowest = max(cells)
    return {
        "wall": time.perf_counter() - start,
        "cpu": cpu,
        "slowest": slowest[0],
        "slowest_cell": slowest[1],
        "cells": cells,
    }


def _median_run(values: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median wall time, and the range of the wall times."""
    ordered = sorted(values, key=lambda r: r["wall"])
    return {**ordered[(len(ordered) - 1) // 2], "low": ordered[0]["wall"], "high": ordered[-1]["wall"]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--conditions", nargs="+", choices=("quiet", "busy"), default=["quiet", "busy"])
    parser.add_argument("--cells", type=float, metavar="S", help="also list every cell slower than S seconds")
    parser.add_argument("--isa", default="AVX2", help='ONEDNN_MAX_CPU_ISA for the kernel ("" keeps the CPU\'s own)')
    parser.add_argument("--repeat", type=int, default=1, help="runs per chapter and condition; the median is shown")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    env = {"PYTHONPATH": str(ROOT)}
    if args.isa:
        env["ONEDNN_MAX_CPU_ISA"] = args.isa

    import torch

    print(
        f"CPU: {cpu_name()}; ONEDNN_MAX_CPU_ISA={args.isa or '(unset)'}; Python {platform.python_version()}, "
        f"PyTorch {torch.__version__}"
    )
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(args.repeat):  # the chapters in turn, then again: slow spells of the machine spread out
        for condition in args.conditions:
            busy = start_busy_core() if condition == "busy" else None
            try:
                for path in paths:
                    r = run_all(path, env)
                    runs.setdefault((path.stem, condition), []).append(r)
                    line = f"  {condition:<5} {path.stem:<28} {r['wall']:6.1f} s wall, {r['cpu']:6.1f} s CPU"
                    print(line, flush=True)
                    if args.cells is not None:
                        for seconds, index in r["cells"]:
                            if seconds > args.cells:
                                print(f"        cell {index:>3}: {seconds:5.1f} s", flush=True)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
    results = {key: _median_run(values) for key, values in runs.items()}

    if args.repeat > 1:
        print(f"\nMedian of {args.repeat} runs (range of the wall times in brackets)")
    header = f"{'chapter':<28}" + "".join(f"{f'{c} Run All (s)':>18}{f'{c} CPU (s)':>14}" for c in args.conditions)
    print("\n" + header + f"{'slowest cell (s)':>18}")
    for path in paths:
        row = f"{path.stem:<28}"
        for condition in args.conditions:
            r = results[path.stem, condition]
            spread = f" ({r['low']:.1f}-{r['high']:.1f})" if args.repeat > 1 else ""
            wall = f"{r['wall']:.1f}{spread}"
            row += f"{wall:>18}{r['cpu']:>14.1f}"
        first = results[path.stem, args.conditions[0]]
        row += f"{first['slowest']:>12.1f} (#{first['slowest_cell']})"
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
