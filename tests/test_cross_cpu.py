"""Every chapter's stored outputs, printed the same on other CPUs and thread counts.

nbval runs every notebook on this machine. Here every chapter (the training of 6 and 7, the
random-network averages of 4, the random comparisons of 1 to 3, the searches of 5) runs again in
subprocesses that imitate other machines: oneDNN limited to AVX2 or SSE4.1 (ONEDNN_MAX_CPU_ISA),
PyTorch's own kernels to AVX2 or no vector extension (ATEN_CPU_CAPABILITY), MKL to AVX2 or SSE4.2,
OpenBLAS on its Haswell (AVX2) or Nehalem (SSE4.2) kernel, NumPy without its AVX-512 (or AVX2)
loops, and PyTorch on one or two threads; nbval itself covers this CPU on one thread. What each cell prints must equal the text stored in the notebook,
character for character.

A restriction is applied only where this CPU has what it removes (on a CPU without AVX2 the AVX2
restrictions are left out; on ARM only the thread counts change).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).with_name("cross_cpu_runner.py")
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IGNORE = "nbval-ignore-output"


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _numpy_targets(prefixes: tuple[str, ...]) -> str:
    """NumPy's dispatch targets this CPU runs whose names start with ``prefixes`` (to switch them off)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return " ".join(t for t in __cpu_dispatch__ if t.startswith(prefixes) and __cpu_features__.get(t))


def machines() -> dict[str, tuple[dict[str, str], int]]:
    """Name -> (environment, PyTorch threads) of each imitated machine."""
    flags = _cpu_flags()
    avx2: dict[str, str] = {}
    old: dict[str, str] = {}
    if "avx2" in flags:  # an AVX-512 CPU seen as an AVX2 one; an AVX2 CPU seen as an SSE4 one
        avx2 = {
            "ONEDNN_MAX_CPU_ISA": "AVX2",
            "ATEN_CPU_CAPABILITY": "avx2",
            "MKL_ENABLE_INSTRUCTIONS": "AVX2",
            "OPENBLAS_CORETYPE": "Haswell",
            "NPY_DISABLE_CPU_FEATURES": _numpy_targets(("X86_V4", "AVX512")),
        }
        old = {
            "ONEDNN_MAX_CPU_ISA": "SSE41",
            "ATEN_CPU_CAPABILITY": "default",
            "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
            "OPENBLAS_CORETYPE": "Nehalem",
            "NPY_DISABLE_CPU_FEATURES": _numpy_targets(("X86_V3", "X86_V4", "AVX512")),
        }
    return {
        "AVX2, OpenBLAS Haswell, 1 thread": (avx2, 1),
        "SSE4.1, OpenBLAS Nehalem, no ATen vectors, 2 threads": (old, 2),
    }


def stored_prints(name: str) -> dict[str, str]:
    """Cell id -> the stdout text stored in the notebook, for the cells nbval compares."""
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    prints = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and IGNORE not in cell.metadata.get("tags", []):
            prints[cell.id] = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
    return prints


def run_machine(env: dict[str, str], threads: int) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    # Idle OpenMP threads sleep instead of spinning: the same arithmetic, less CPU taken from the
    # other tests that run beside this one.
    full.update(env, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0", OMP_WAIT_POLICY="PASSIVE")
    paths = [str(ROOT / "notebooks" / name) for name in NOTEBOOKS]
    return subprocess.run(
        [sys.executable, str(RUNNER), str(threads), *paths],
        env=full,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[subprocess.CompletedProcess, tuple[dict[str, str], int]]]:
    settings = machines()
    with ThreadPoolExecutor(max_workers=2) as pool:  # the machines run side by side, two at a time
        futures = {name: pool.submit(run_machine, *setting) for name, setting in settings.items()}
        return {name: (future.result(), settings[name]) for name, future in futures.items()}


@pytest.mark.parametrize("machine", list(machines()))
def test_printed_outputs_match_the_stored_ones(results, machine):
    done, (env, threads) = results[machine]
    assert done.returncode == 0, f"{machine} ({env}, {threads} threads) failed:\n{done.stderr[-3000:]}"
    printed = json.loads(done.stdout)
    for name in NOTEBOOKS:
        stored = stored_prints(name)
        assert set(stored) <= set(printed[name]), f"{name}: cells not run: {sorted(set(stored) - set(printed[name]))}"
        for cell_id, text in stored.items():
            assert printed[name][cell_id] == text, (
                f"{name}, cell {cell_id}, on {machine} ({env}, {threads} threads):\n"
                f"stored:\n{text}\nprinted:\n{printed[name][cell_id]}"
            )


def test_the_restrictions_are_real():
    """On an x86 CPU with AVX2, the imitated machines do restrict oneDNN, PyTorch and OpenBLAS."""
    if "avx2" not in _cpu_flags():
        pytest.skip("this CPU has no AVX2 to take away")
    env, _ = machines()["AVX2, OpenBLAS Haswell, 1 thread"]
    code = (
        "import torch, threadpoolctl, numpy\n"
        "print(torch.backends.cpu.get_cpu_capability())\n"
        "print([i.get('architecture') for i in threadpoolctl.threadpool_info() if i['internal_api'] == 'openblas'])\n"
    )
    full = {**os.environ, **env}
    done = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, check=True)
    capability, openblas = done.stdout.splitlines()
    assert capability == "AVX2"
    assert openblas == "['Haswell']"


def test_setup_puts_every_framework_on_the_course_threads():
    """One place decides the thread policy: setup() (TensorFlow: tf_bridge.frameworks())."""
    import torch
    from threadpoolctl import threadpool_info

    import course_utils
    from course_utils import demos

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        course_utils.setup(plots=False)
        assert torch.get_num_threads() == course_utils.THREADS == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
        torch.set_num_threads(2)  # a learner's choice survives training, which runs on one thread
        seen = []
        model = torch.nn.Conv1d(1, 1, 1).double()

        def batch():
            seen.append(torch.get_num_threads())
            return demos.delay_batch(2, 8, 1)

        demos.train(model, batch, torch.nn.functional.mse_loss, steps=2, progress=False)
        assert seen == [1, 1]
        assert torch.get_num_threads() == 2
        with pytest.raises(ValueError, match="threads"):
            course_utils.limit_threads(0)
    finally:
        torch.set_num_threads(before)
