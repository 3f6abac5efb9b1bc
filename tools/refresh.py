"""Re-execute notebooks top to bottom in the project's environment and store their outputs.

Usage: python tools/refresh.py notebooks/*.ipynb

Each notebook runs in a fresh kernel started from this interpreter (the .venv), from its own folder,
so relative links such as ../anim/NAME.gif resolve as they do in JupyterLab. Execution counts
come out as 1..n. The result is written to a temporary file beside the notebook and renamed over
it only when the whole run succeeded: an interrupted or failing refresh leaves the old notebook
intact.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

KERNEL_SPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def refresh(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = KERNEL_SPEC
    # Start the kernel with this very interpreter, whatever kernelspecs the machine has.
    km = KernelManager(kernel_name="python3")
    km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.get("language_info", {}).pop("version", None)  # the patch level is not a course fact
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return elapsed


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv] or sorted(Path("notebooks").glob("*.ipynb"))
    for path in paths:
        if not path.is_file():
            print(f"refresh: no such notebook: {path}", file=sys.stderr)
            return 2
        print(f"refresh: {path} ...", flush=True)
        elapsed = refresh(path)
        print(f"refresh: {path} done in {elapsed:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
