"""time(course_utils.conv fast) / time(PyTorch), one thread each, float32, under every OpenBLAS kernel.

NumPy's OpenBLAS picks a kernel for the CPU at start-up (Haswell for AVX2, SkylakeX for AVX-512,
...), and ``OPENBLAS_CORETYPE`` forces one. How fast the NumPy path runs depends on that kernel,
so each configuration runs in a child process with its own environment: ``OPENBLAS_CORETYPE``
set there only (``OPENBLAS_L2_SIZE`` removed, so the kernel sizes its blocks from the real cache),
one thread on both sides, and, for the rows marked AVX2, PyTorch restricted to AVX2 as well
(``ONEDNN_MAX_CPU_ISA=AVX2``, ``ATEN_CPU_CAPABILITY=avx2``): an AVX2 CPU reproduced on an AVX-512
one. Each row names the kernel NumPy actually ran (threadpoolctl) and the convolution oneDNN
actually ran (its verbose log), since a requested kernel the CPU lacks is replaced by another.

In a child the two implementations are timed alternately (ours, PyTorch, ours, ...), so a change
in machine load affects both alike; the ratio is of the two medians from the same run (and,
as a second column, of the two fastest rounds, which load inflates least). Every
configuration runs twice (two passes over all of them) and both rows are printed: on a busy
machine the ratios hold better than the milliseconds.

Two more columns say how far the kernel lets the fast path go. "GEMM" is the bare matrix product
of the fast path (the same multiply-adds, on columns built beforehand), timed against PyTorch in
the same way: the ratio no NumPy path built on this BLAS kernel can beat. "widths" times the fast
path at four forced block widths against its own rule's width: the block width is a fixed rule,
not a measurement, and this shows that the rule loses little on every kernel (see
course_utils/conv.py).

Two reference shapes: a 2D 'same' convolution at dilation 2 and a causal 1D one at dilation 8.
Both sides get the same data and do the same multiply-adds. GFLOP/s counts 2 N O C K positions
floating-point operations (a multiply and an add per tap, channel and output).
Run: make bench (or .venv/bin/python benchmarks/conv_vs_pytorch.py [rounds]).
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ("Haswell", "SkylakeX", "Zen")
SWEEP = (256, 1024, 4096, 16384)  # forced block widths (positions per product)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
CASES = [
    ("2D x(1,64,128,128) d=2 same", (1, 64, 128, 128), (64, 64, 3, 3), 2, "same"),
    ("1D x(1,64,16000) d=8 causal", (1, 64, 16000), (64, 64, 3), 8, "causal"),
]


def interleaved_times(first, second, rounds: int = 31, warmup: int = 3) -> tuple[float, float, float, float]:
    """Median and fastest seconds of ``first()`` and ``second()``, timed alternately for ``rounds`` rounds."""
    for _ in range(warmup):
        first()
        second()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, bucket in ((first, samples[0]), (second, samples[1])):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return statistics.median(samples[0]), statistics.median(samples[1]), min(samples[0]), min(samples[1])


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def has_avx512() -> bool:
    try:
        return any(line.startswith("flags") and " avx512f" in line for line in open("/proc/cpuinfo"))
    except OSError:
        return False


def child(rounds: int) -> None:
    """One configuration, in the environment the parent set: prints one ``RESULT {json}`` per case."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from threadpoolctl import threadpool_info

    from course_utils import conv

    torch.set_num_threads(1)
    pools = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    kernel = ", ".join(str(i.get("architecture")) for i in pools) or "unknown"
    rng = np.random.default_rng(0)
    for name, xs, ws, d, padding in CASES:
        inner, o = ws[1] * int(np.prod(ws[2:])), ws[0]
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
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                reference = run_torch().numpy()  # oneDNN logs the implementation it runs
            sys.stdout.flush()
            t_ours, t_torch, best_ours, best_torch = interleaved_times(run_ours, run_torch, rounds=rounds)
            positions = int(np.prod(reference.shape[2:]))
            width = conv._block_width(inner, o, x.itemsize, positions)
            kernel_matrix = rng.standard_normal((o, inner), dtype=np.float32)
            columns = rng.standard_normal((inner, positions), dtype=np.float32)
            product = np.empty((o, positions), dtype=np.float32)

            blocks = tuple(conv._blocks(width, positions))

            def run_gemm(a=kernel_matrix, b=columns, c=product, blocks=blocks):
                for start, stop in blocks:  # the fast path's products alone, block by block
                    np.matmul(a, b[:, start:stop], out=c[:, start:stop])

            t_gemm, t_torch_again = interleaved_times(run_gemm, run_torch, rounds=rounds)[:2]
            sweep = {}
            for forced in SWEEP:  # each forced width timed alternately with the rule's width

                def run_forced(forced=forced, run_ours=run_ours):
                    with conv._forced_width(forced):
                        return run_ours()

                at_forced, at_rule = interleaved_times(run_forced, run_ours, rounds=max(5, rounds // 2))[:2]
                sweep[forced] = at_forced / at_rule
        flops = 2 * xs[0] * ws[0] * ws[1] * int(np.prod(ws[2:])) * positions
        diff = float(np.abs(run_ours() - reference).max())
        row = dict(case=name, kernel=kernel, ours=t_ours, torch=t_torch, flops=flops, diff=diff, width=width)
        row["best_ratio"] = best_ours / best_torch
        row["gemm_ratio"] = t_gemm / t_torch_again
        row["sweep"] = {str(k): v for k, v in sweep.items()}
        print("RESULT " + json.dumps(row), flush=True)


def run_child(kernel: str, isa: str | None, rounds: int) -> tuple[list[dict], str]:
    """Run ``child`` under OPENBLAS_CORETYPE=kernel (and PyTorch capped at ``isa``); rows and oneDNN's names."""
    env = dict(os.environ)
    env.pop("OPENBLAS_L2_SIZE", None)
    for var in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"):
        env.pop(var, None)
    env["OPENBLAS_CORETYPE"] = kernel
    env.update(dict.fromkeys(THREAD_VARS, "1"))
    if isa:
        env["ONEDNN_MAX_CPU_ISA"] = isa
        env["ATEN_CPU_CAPABILITY"] = isa.lower()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(rounds)], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"OPENBLAS_CORETYPE={kernel} ISA={isa}: child failed\n{done.stderr[-2000:]}")
    rows, impls = [], []
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            rows.append(json.loads(line[7:]))
        elif ",primitive,exec,cpu,convolution," in line:
            impls.append(line.split(",primitive,exec,cpu,convolution,", 1)[1].split(",", 1)[0])
    return rows, "/".join(dict.fromkeys(impls)) or "?"


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 31
    import numpy as np
    import torch

    preset = {k: v for k, v in os.environ.items() if k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(f"CPU: {cpu_name()}; NumPy {np.__version__}; PyTorch {torch.__version__}")
    print(
        f"One thread each side; medians of {rounds} interleaved rounds; every configuration run twice. "
        f"Preset in this shell: {preset or 'no OPENBLAS_* variable'} (each row sets its own)."
    )
    configs = [(k, None) for k in KERNELS]
    if has_avx512():  # PyTorch at the AVX2 level too, as on an AVX2-only CPU
        configs += [("Haswell", "AVX2"), ("Zen", "AVX2")]
    header = (
        f"{'OPENBLAS_CORETYPE':<18}{'NumPy runs':<11}{'PyTorch (oneDNN)':<18}{'case':<29}"
        f"{'fast ms':>8}{'torch ms':>9}{'ratio':>7}{'(min)':>7}{'GEMM':>6}{'GFLOP/s':>13}  block  "
        f"{'widths ' + '/'.join(map(str, SWEEP)):<28}max|diff|"
    )
    print(header)
    worst: dict[tuple, float] = {}
    sweeps: list[float] = []
    for _ in range(2):
        for kernel, isa in configs:
            rows, impl = run_child(kernel, isa, rounds)
            for row in rows:
                ratio = row["ours"] / row["torch"]
                key = (kernel, isa, row["case"])
                worst[key] = max(worst.get(key, 0.0), ratio)
                gflops = f"{row['flops'] / row['ours'] / 1e9:.0f} / {row['flops'] / row['torch'] / 1e9:.0f}"
                label = f"{kernel}{' +AVX2' if isa else ''}"
                print(
                    f"{label:<18}{row['kernel']:<11}{impl:<18}{row['case']:<29}{row['ours'] * 1e3:>8.2f}"
                    f"{row['torch'] * 1e3:>9.2f}{ratio:>7.2f}{row['best_ratio']:>7.2f}{row['gemm_ratio']:>6.2f}"
                    f"{gflops:>13}  {row['width']:<6} {' '.join(f'{v:.2f}' for v in row['sweep'].values()):<28}"
                    f"{row['diff']:.1e}"
                )
                sweeps.extend(row["sweep"].values())
    print(
        "ratio = median time(fast) / median time(PyTorch) in the same child, (min) the same for the fastest "
        "rounds; GEMM = the same for the bare matrix products (what the BLAS kernel allows); GFLOP/s fast / "
        "PyTorch (medians); block = positions per product (the fast path's fixed rule); widths = time at "
        "each forced block width / time at the rule's width. +AVX2: PyTorch capped at AVX2 as well."
    )
    print(f"Highest median ratio over all rows of both runs: {max(worst.values()):.2f}")
    print(f"Forced widths against the rule's width, over all rows: {min(sweeps):.2f} to {max(sweeps):.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]))
    else:
        main()
