"""time(course_utils.conv fast) / time(PyTorch), single-threaded, float32, medians of interleaved runs.

The two implementations are timed alternately (ours, PyTorch, ours, PyTorch, ...) so that a
change in machine load during the run affects both sides alike; the ratio is of the two medians.

Two reference shapes (issue 3): a 2D 'same' convolution at dilation 2 and a causal 1D one at
dilation 8. Both sides get the same data and do the same multiply-adds; the ratio says how much
the NumPy implementation loses to PyTorch's oneDNN kernels in memory traffic. GFLOP/s counts
2 N O C K positions floating-point operations (a multiply and an add per tap, channel and output),
so a reader can compare both with the machine's peak (cores x clock x FLOP per cycle).

The script prints the CPU and which BLAS kernel NumPy runs (threadpoolctl, if installed): on some
machines OPENBLAS_CORETYPE forces an older kernel, which slows NumPy but not PyTorch.
Run: make bench (or .venv/bin/python benchmarks/conv_vs_pytorch.py [rounds]).
"""

import os

# One thread on both sides, set before NumPy's BLAS and PyTorch start their thread pools.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from course_utils import conv  # noqa: E402


def interleaved_medians(first, second, rounds: int = 31, warmup: int = 3) -> tuple[float, float]:
    """Median seconds of ``first()`` and of ``second()``, timed alternately for ``rounds`` rounds."""
    for _ in range(warmup):
        first()
        second()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, bucket in ((first, samples[0]), (second, samples[1])):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return statistics.median(samples[0]), statistics.median(samples[1])


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_kernel() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    pools = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    info = [f"{i.get('internal_api')} {i.get('version')}, kernel {i.get('architecture')}" for i in pools]
    return "; ".join(info) or "unknown"


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 31
    torch.set_num_threads(1)
    print(f"CPU: {cpu_name()}; NumPy {np.__version__}, BLAS: {blas_kernel()}; PyTorch {torch.__version__}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; one thread each; {rounds} rounds")
    rng = np.random.default_rng(0)
    cases = [
        ("2D x(1,64,128,128) w(64,64,3,3) d=2 'same'", (1, 64, 128, 128), (64, 64, 3, 3), 2, "same"),
        ("1D x(1,64,16000)   w(64,64,3)   d=8 causal", (1, 64, 16000), (64, 64, 3), 8, "causal"),
    ]
    header = f"{'case':<46}{'fast (ms)':>11}{'torch (ms)':>12}{'ratio':>8}{'fast GFLOP/s':>14}{'torch GFLOP/s':>15}"
    print(header + "   max |diff|")
    for name, xs, ws, d, padding in cases:
        ours, theirs = (conv.conv2d, F.conv2d) if len(xs) == 4 else (conv.conv1d, F.conv1d)
        x = rng.standard_normal(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32)
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        if padding == "causal":

            def run_torch(xt=xt, wt=wt, d=d, theirs=theirs):
                return theirs(F.pad(xt, ((wt.shape[-1] - 1) * d, 0)), wt, dilation=d)
        else:

            def run_torch(xt=xt, wt=wt, d=d, padding=padding, theirs=theirs):
                return theirs(xt, wt, padding=padding, dilation=d)

        def run_ours(x=x, w=w, d=d, padding=padding, ours=ours):
            return ours(x, w, padding=padding, dilation=d)

        with torch.inference_mode():
            t_ours, t_torch = interleaved_medians(run_ours, run_torch, rounds=rounds)
            reference = run_torch().numpy()
        diff = float(np.abs(run_ours() - reference).max())
        positions = int(np.prod(reference.shape[2:]))
        flops = 2 * xs[0] * ws[0] * ws[1] * int(np.prod(ws[2:])) * positions
        print(
            f"{name:<46}{t_ours * 1e3:>11.2f}{t_torch * 1e3:>12.2f}{t_ours / t_torch:>8.2f}"
            f"{flops / t_ours / 1e9:>14.1f}{flops / t_torch / 1e9:>15.1f}   {diff:.1e}"
        )


if __name__ == "__main__":
    main()
