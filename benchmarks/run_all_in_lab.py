"""Run All of every chapter in JupyterLab in Chromium, as a learner or a lecturer runs it.

``run_all_times.py`` times the kernel alone. Here the whole stack runs on the machine at once:
a JupyterLab server, Chromium rendering the notebook (figures, progress bars, widgets) and the
kernel, on a quiet machine and with another process spinning on one core. For each chapter a
fresh kernel is started, "Run All Cells" is chosen from the Run menu, and the time until the
last cell has finished is printed.

The server works on copies of the notebooks in a temporary folder (JupyterLab saves what it
runs); the kernel sees the course's ``course_utils`` and files through ``PYTHONPATH`` and links.
By default PyTorch's oneDNN is held to AVX2 and NumPy's OpenBLAS runs its Haswell kernel, so an
AVX-512 machine runs as an AVX2 laptop does (``--native`` keeps the CPU's own).

Needs Chromium at /usr/bin/chromium (Debian's package) and Playwright from pip.
Run: .venv/bin/python benchmarks/run_all_in_lab.py [--conditions quiet busy] [--repeat N] [notebooks ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tools"))

from lab_server import lab_server  # noqa: E402
from run_all_times import cpu_name, start_busy_core  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def shut_down_kernels(port: int) -> None:
    """End every kernel of the server, so that the chapters run do not pile up."""
    base = f"http://127.0.0.1:{port}/api/kernels"
    for kernel in json.load(urllib.request.urlopen(base, timeout=30)):
        urllib.request.urlopen(urllib.request.Request(f"{base}/{kernel['id']}", method="DELETE"), timeout=30)


def run_all(page, port: int, name: str) -> float:
    """Open ``name`` with a fresh kernel, Run All Cells from the menu; seconds until every cell ran."""
    page.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks/{name}?reset")
    idle = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
    page.wait_for_selector(idle, timeout=120_000)
    page.wait_for_timeout(1000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    start = time.perf_counter()
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='busy']", timeout=30_000)
    # Finished: the kernel is idle and no cell waits ([*]) any more.
    page.wait_for_function(
        """() => document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']") &&
                 ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))""",
        timeout=600_000,
        polling=100,
    )
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="file names in notebooks/ (default: every chapter)")
    parser.add_argument("--conditions", nargs="+", choices=("quiet", "busy"), default=["quiet", "busy"])
    parser.add_argument("--native", action="store_true", help="keep the CPU's own oneDNN and OpenBLAS kernels")
    parser.add_argument("--repeat", type=int, default=1, help="runs per chapter and condition; the median is shown")
    args = parser.parse_args(argv)
    names = args.notebooks or sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not Path(CHROMIUM).exists():
        print(f"skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
        return 0
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if not args.native:
        env.update(ONEDNN_MAX_CPU_ISA="AVX2", OPENBLAS_CORETYPE="Haswell")
    print(f"CPU: {cpu_name()}; {'own kernels' if args.native else 'oneDNN at AVX2, OpenBLAS Haswell'}; "
          "JupyterLab in Chromium, Run All Cells from the Run menu, fresh kernel per chapter")  # fmt: skip
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "notebooks").mkdir()
        for path in (ROOT / "notebooks").iterdir():
            if path.suffix == ".ipynb":
                shutil.copy2(path, folder / "notebooks" / path.name)
            else:
                (folder / "notebooks" / path.name).symlink_to(path)
        for entry in ROOT.iterdir():
            if entry.name not in ("notebooks", ".git", ".venv") and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
        with lab_server(folder, folder / ".jupyter-home", env) as port, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            for condition in [c for _ in range(args.repeat) for c in args.conditions]:
                busy = start_busy_core() if condition == "busy" else None
                try:
                    for name in names:
                        results.setdefault((name, condition), []).append(run_all(page, port, name))
                        print(f"  {condition:<5} {name:<32} {results[name, condition][-1]:6.1f} s", flush=True)
                        page.goto("about:blank")
                        shut_down_kernels(port)
                finally:
                    if busy is not None:
                        busy.kill()
                        busy.wait()
            browser.close()
    if args.repeat > 1:
        print(f"\nMedian of {args.repeat} runs (range in brackets)")
    print("\n" + f"{'chapter':<32}" + "".join(f"{c + ' Run All (s)':>20}" for c in args.conditions))
    for name in names:
        cells = []
        for c in args.conditions:
            times = sorted(results[name, c])
            spread = f" ({times[0]:.1f}-{times[-1]:.1f})" if len(times) > 1 else ""
            cells.append(f"{times[(len(times) - 1) // 2]:.1f}{spread}")
        print(f"{name:<32}" + "".join(f"{cell:>20}" for cell in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
