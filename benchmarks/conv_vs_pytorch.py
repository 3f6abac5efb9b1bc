"""time(course_utils.conv fast) / time(PyTorch), single-threaded, float32, medians of interleaved runs.

The two implementations are timed alternately (ours, PyTorch, ours, PyTorch, ...) so that a
change in machine load during the run affects both sides alike; the ratio is of the two medians.

Two reference shapes (issue 3): a 2D 'same' convolution at dilation 2 and a causal 1D one at
dilation 8. Both sides get the same data and do the same multiply-adds; the ratio says how much
the NumPy implementation loses to PyTorch's oneDNN kernels in memory traffic.
Run: make bench (or .venv/bin/python benchmarks/conv_vs_pytorch.py).
"""

import os

# One thread on both sides, set before NumPy's BLAS and PyTorch start their thread pools.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import statistics  # noqa: E402
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


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    cases = [
        ("2D x(1,64,128,128) w(64,64,3,3) d=2 'same'", (1, 64, 128, 128), (64, 64, 3, 3), 2, "same"),
        ("1D x(1,64,16000)   w(64,64,3)   d=8 causal", (1, 64, 16000), (64, 64, 3), 8, "causal"),
    ]
    print(f"{'case':<46}{'fast (ms)':>11}{'torch (ms)':>12}{'ratio':>8}   max |diff|")
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
            t_ours, t_torch = interleaved_medians(run_ours, run_torch)
            reference = run_torch().numpy()
        diff = float(np.abs(run_ours() - reference).max())
        print(f"{name:<46}{t_ours * 1e3:>11.2f}{t_torch * 1e3:>12.2f}{t_ours / t_torch:>8.2f}   {diff:.1e}")


if __name__ == "__main__":
    main()
