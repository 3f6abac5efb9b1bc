"""course_utils: the support package of the dilated-convolutions course.

``import course_utils`` is light: it imports NumPy-free code only. Submodules load on first use
(``course_utils.conv``, ``course_utils.receptive_field``, ...); the ones that need PyTorch
(``probe``, ``blocks``) or TensorFlow (``tf_bridge``) import their framework then, not before.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

# TensorFlow reads these once, when it is first imported; set them before anything can import it.
# TF_CPP_MIN_LOG_LEVEL=3 hides the C++ INFO/WARNING lines; TF 2.21 still prints the oneDNN notice
# unless oneDNN custom ops are off, so stored notebook outputs would carry stderr without the second.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"

SEED = 0

# The course's thread policy, decided here for every chapter: the models and tensors of the course
# are small, so one thread is as fast as two, and a second thread that spins while another program
# holds the other core (a browser, a video call, a second notebook) makes a cell 10-30x slower.
THREADS = 1

_SUBMODULES = (
    "anim",
    "backbones",
    "blocks",
    "conv",
    "degridding",
    "demos",
    "exercises",
    "images",
    "plotting",
    "probe",
    "receptive_field",
    "sequences",
    "tf_bridge",
    "timing",
    "widgets",
)

__all__ = ["SEED", "THREADS", "limit_threads", "max_abs_diff", "setup", *_SUBMODULES]

# The plot style of Jonas1312's notebook "Dilation Rate Gridding Problem and How to Solve It With the
# Fibonacci Sequence" (white figures, readable titles), kept small for PNGs in notebooks.
PLOT_STYLE: dict[str, Any] = {
    "figure.facecolor": "white",
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 90,
    "savefig.dpi": 90,
    "legend.fontsize": "medium",
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "xtick.labelsize": "small",
    "ytick.labelsize": "small",
    "image.interpolation": "none",
}


def setup(seed: int = SEED, *, plots: bool = True) -> None:
    """First call of every notebook: seed every generator, set the plot style, quiet the frameworks.

    Seeds Python's ``random``, NumPy's global generator, and PyTorch / TensorFlow when they are
    installed (without importing a framework that is not installed), and applies the course's
    thread policy (``limit_threads``). ``plots=False`` leaves matplotlib untouched.
    """
    import random
    import warnings

    import numpy as np

    from ._checks import check_bool, check_int

    seed = check_int("seed", seed, 0, 2**32 - 1)  # NumPy's global generator takes 0 .. 2^32 - 1
    plots = check_bool("plots", plots)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- learners and third-party code still use the global generator
    np.set_printoptions(precision=4, suppress=True, linewidth=100)
    if _installed("torch"):
        import torch

        torch.manual_seed(seed)
        # No torch.use_deterministic_algorithms: on the CPU, with the course's one thread, every op
        # the course uses is already deterministic, and that switch imports PyTorch's compiler
        # stack (about a second of every chapter's first cell).
    limit_threads()
    if "tensorflow" in sys.modules:
        # Only seed TensorFlow if a chapter already imported it: importing it costs seconds.
        sys.modules["tensorflow"].random.set_seed(seed)
    if plots:
        import matplotlib as mpl

        mpl.rcParams.update(PLOT_STYLE)
    # Known third-party notices with nothing to teach, filtered by their exact text:
    # jupyter_client's datetime deprecation, and PyTorch's performance note that an even-span
    # 'same' convolution pads a copy of its input (chapter 3 uses exactly that case on purpose).
    warnings.filterwarnings("ignore", message=".*datetime.datetime.utcnow.*", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths", category=UserWarning)


def limit_threads(threads: int = THREADS) -> None:
    """Run PyTorch, TensorFlow (if imported) and NumPy's BLAS on ``threads`` threads (course: 1).

    PyTorch's intra-op threads (``torch.set_num_threads``); TensorFlow's intra- and inter-op pools,
    which it accepts only before it first runs an op (so ``tf_bridge.frameworks`` calls this right
    after importing it); the BLAS under NumPy, through threadpoolctl where it is installed.
    """
    from ._checks import check_int

    threads = check_int("threads", threads)
    if _installed("torch"):
        import torch

        torch.set_num_threads(threads)
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow already ran an op: its pools are fixed until a restart
            pass
    if _installed("threadpoolctl"):
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads, user_api="blas")


def max_abs_diff(a: Any, b: Any, decimals: int = 10) -> float:
    """``max |a - b|`` rounded to ``decimals`` places: a difference that prints the same on every CPU.

    Two computations of the same sum in another order differ in the last bits (about 1e-16 relative
    in float64, 1e-7 in float32), and by how much depends on the BLAS and the CPU. Rounding keeps
    the printed check stable while any real difference still shows. Shapes must match exactly.
    Integers beyond 2**53, which float64 would round, are subtracted exactly (``[10**17 + 3]`` and
    ``[10**17]`` differ by 3.0); a masked array is refused (its hidden values would be compared).
    """
    import numpy as np

    from ._checks import check_array, check_int

    a, b = check_array("a", a, allow_empty=True), check_array("b", b, allow_empty=True)
    decimals = check_int("decimals", decimals, 0)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if not a.size:
        diff = 0.0
    elif (_beyond_float(a) or _beyond_float(b)) and np.isfinite(a).all() and np.isfinite(b).all():
        # integers that float64 would round: subtract exactly (Fraction holds every int and float)
        from fractions import Fraction

        pairs = zip(a.ravel().tolist(), b.ravel().tolist(), strict=True)
        diff = float(max(abs(Fraction(x) - Fraction(y)) for x, y in pairs))
    else:
        diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
    return round(diff, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


def _beyond_float(arr: Any) -> bool:
    """Integers above 2**53 in size, which float64 would round before the subtraction."""
    import numpy as np

    if arr.dtype.kind not in "iu" or arr.dtype.itemsize <= 4:
        return False
    return bool(np.any(arr > 2**53)) or (arr.dtype.kind == "i" and bool(np.any(arr < -(2**53))))


def _installed(name: str) -> bool:
    import importlib.util

    return name in sys.modules or importlib.util.find_spec(name) is not None


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
