"""Grade the notebooks students hand back: a gradebook, one feedback page each, a summary chart.

    python tools/grade.py SUBMISSIONS [--out grades] [--chapter N] [--jobs N]

Every ``.ipynb`` file in SUBMISSIONS (a returned student copy, any file name) is graded on its own,
up to ``--jobs`` at a time (default: the number of cores). For each exercise of the chapter, only
the definitions of the learner's exercise cells (``def``, ``class``, imports, assignments) run, in
a fresh Python process that is not the student's kernel: nothing else the notebook did reaches the
verdict. The checker itself (hidden cases, expected values) runs in the grader's own process and
sends the learner's function its arguments, one call at a time; the learner's process never holds
an expected value, and what it returns comes back as plain data (numbers, lists, arrays).

The learner's process is limited: wall time, CPU time, memory, what it prints, and a system-call
filter (Linux x86-64) that refuses new processes, program starts, network sockets, signals to other
processes and every file write, rename or deletion. Where ``bwrap`` or ``unshare`` exist it also
runs in its own namespaces (no network, its own process tree); the summary says which protection
was used. It starts in an empty scratch folder that is removed afterwards.

Outputs (OUT, default ``grades/``): ``gradebook.csv`` (one row per submission: pass / not yet /
error / timeout / flagged per exercise, and the number passed), ``feedback/<name>.html`` (each
exercise's verdict and hint, never a hidden expected value) and ``summary.html`` (pass rate per
exercise as a bar chart). Re-running on the same folder writes the same bytes.
"""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import csv
import ctypes
import html
import io
import json
import os
import platform
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Limits for one exercise's process (the learner's answer). Every hidden case is tiny: a call that
# needs more than CALL_LIMIT seconds is an endless loop, an answer that needs gigabytes is a bomb.
CALL_LIMIT = 5.0  # seconds per call of the learner's function (the checkers' own limit)
READY_LIMIT = 10.0  # seconds to define the learner's functions (imports included)
EXERCISE_LIMIT = 30.0  # seconds of wall time for all the hidden cases of one exercise
CPU_LIMIT = 30  # seconds of CPU time for one exercise's process
MEMORY_LIMIT = 2 * 1024**3  # bytes of address space for one exercise's process
PRINT_LIMIT = 1 << 20  # characters an answer may print (the rest is dropped, and said)
MESSAGE_LIMIT = 16 << 20  # bytes of one reply (a returned array) from the learner's process
FILE_LIMIT = 20 << 20  # bytes of a submitted notebook

VERDICTS = ("pass", "not yet", "error", "timeout", "flagged")

# The course function an exercise asks the learner to write: an answer that calls it is flagged.
WRAPPED = {
    "check_effective_kernel_size": ("conv.effective_kernel_size",),
    "check_conv_output_size": ("conv.conv_output_size",),
    "check_dilate_kernel_1d": ("conv.dilate_kernel",),
    "check_dilated_conv1d": ("conv.conv1d", "conv.conv2d"),
    "check_find_the_bug_conv1d": ("conv.conv1d", "conv.conv2d"),
    "check_same_padding": ("conv.resolve_padding",),
    "check_tap_positions": (),
    "check_torch_to_keras_kernel": ("tf_bridge.torch_to_keras_kernel",),
    "check_tf_same_padding": ("tf_bridge.tf_same_padding",),
    "check_path_counts": ("receptive_field.path_counts", "receptive_field.gradient_map"),
    "check_centre_to_max": ("receptive_field.describe",),
    "check_has_holes": ("receptive_field.has_gridding", "receptive_field.holes", "receptive_field.describe"),
    "check_fibonacci": ("sequences.fibonacci",),
    "check_fastest_hole_free": ("sequences.fastest_hole_free",),
    "check_wavenet_receptive_field": ("receptive_field.receptive_field",),
    "check_min_layers_for_delay": (),
    "check_valid_tap_fraction": ("receptive_field.valid_tap_fraction",),
    "check_aspp_rates": (),
    "check_hole_free_schedule": (),
    "check_causal_conv": (),
}
TENSOR_CHECKERS = {"check_causal_conv"}  # their hidden cases are tensors: the answer's process imports torch first
KEPT_STATEMENTS = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Import,
    ast.ImportFrom,
    ast.Assign,
    ast.AnnAssign,
)


# ------------------------------------------------------------------------------------------------
# The course's chapters and their exercises


@dataclass(frozen=True)
class Exercise:
    checker: str  # name in course_utils.exercises, e.g. "check_effective_kernel_size"
    function: str  # the function the learner writes (the stub's name)
    cell_id: str


@dataclass(frozen=True)
class Chapter:
    number: int
    name: str  # file stem, e.g. "01_standard_vs_atrous"
    title: str
    setup: str  # the course's own set-up cell (imports), never the student's
    exercises: tuple[Exercise, ...]


def _checker_calls(source: str) -> list[str]:
    return re.findall(r"exercises\.(check_\w+)\(", source)


def _defined_functions(source: str) -> list[str]:
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


def _without_magics(source: str) -> str:
    """IPython's ``%magic`` and ``!shell`` lines become ``pass`` (same line numbers)."""
    return "\n".join(
        "pass" if line.lstrip().startswith(("%", "!")) else line for line in source.replace("\r\n", "\n").split("\n")
    )


def course_chapters() -> dict[int, Chapter]:
    import nbformat

    chapters = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        setup = next((cell.source for cell in code if "course_utils.setup(" in cell.source), "")
        title = next(
            (
                line[2:].strip()
                for cell in nb.cells
                if cell.cell_type == "markdown"
                for line in cell.source.splitlines()
                if line.startswith("# ")
            ),
            path.stem,
        )
        found = []
        for cell in code:
            if "solution" in cell.metadata.get("tags", []):
                continue
            for checker in _checker_calls(cell.source):
                functions = _defined_functions(cell.source)
                if functions and checker in WRAPPED:
                    found.append(Exercise(checker, functions[-1], cell.get("id", "")))
        chapters[int(path.name[:2])] = Chapter(int(path.name[:2]), path.stem, title, setup, tuple(found))
    return chapters


# ------------------------------------------------------------------------------------------------
# Messages between the grader and the learner's process: a 4-byte length, then JSON. Values travel
# as plain data: numbers, strings, lists, tuples, NumPy arrays and tensors (bytes, no pickle).


def _send(fd: int, message: dict) -> None:
    data = json.dumps(message).encode()
    data = struct.pack(">I", len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _receive(fd: int, deadline: float | None = None) -> dict:
    (size,) = struct.unpack(">I", _read_exactly(fd, 4, deadline))
    if size > MESSAGE_LIMIT:
        raise ValueError(f"a reply of {size} bytes, more than the {MESSAGE_LIMIT >> 20} MB allowed")
    message = json.loads(_read_exactly(fd, size, deadline))
    if not isinstance(message, dict):
        raise ValueError("a reply that is not a message")
    return message


def _safe_text(value: Any, limit: int = 300) -> str:
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 -- a learner's object: its repr may raise anything
        text = f"<a {type(value).__name__} whose repr() fails>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def encode(value: Any, depth: int = 0) -> dict:
    """A value as plain JSON data (the learner's process calls this on what the answer returns)."""
    import numpy as np

    kind = type(value)
    if depth > 20:
        return {"t": "opaque", "type": kind.__name__, "repr": "<nested too deeply>"}
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        return (
            {"t": "int", "v": str(value)}
            if value.bit_length() < 4000
            else {"t": "opaque", "type": "int", "repr": "<a huge int>"}
        )
    if kind is float:
        return {"t": "float", "v": repr(value)}
    if kind is str:
        return {"t": "str", "v": value[:2000]}
    if kind in (list, tuple) and len(value) <= 100_000:
        return {"t": kind.__name__, "v": [encode(item, depth + 1) for item in value]}
    if kind is range:
        return {"t": "range", "v": [value.start, value.stop, value.step]}
    if kind is dict and len(value) <= 1000 and all(type(key) is str for key in value):
        return {"t": "dict", "v": {key[:200]: encode(item, depth + 1) for key, item in value.items()}}
    if isinstance(value, np.generic) and type(value).__module__ == "numpy" and value.dtype.kind in "biuf":
        return {"t": "scalar", "v": _array_data(np.asarray(value))}
    if kind is np.ndarray and value.dtype.kind in "biuf":
        return {"t": "ndarray", "v": _array_data(value)}
    torch = sys.modules.get("torch")
    if (
        torch is not None
        and kind is torch.Tensor
        and value.dtype in (torch.float16, torch.float32, torch.float64, torch.int32, torch.int64, torch.bool)
        and value.layout == torch.strided
    ):
        return {"t": "tensor", "v": _array_data(value.detach().cpu().numpy())}
    import collections.abc

    return {
        "t": "opaque",
        "type": kind.__name__[:80],
        "repr": _safe_text(value),
        "iterator": isinstance(value, collections.abc.Iterator),
        "set": isinstance(value, collections.abc.Set | collections.abc.Mapping | str | bytes),
    }


def _array_data(array: Any) -> dict:
    import numpy as np

    array = np.array(array, order="C", copy=True)  # 0-d stays 0-d (ascontiguousarray makes it 1-d)
    return {"dtype": array.dtype.str, "shape": list(array.shape), "b64": base64.b64encode(array.tobytes()).decode()}


def _array_from(data: dict) -> Any:
    import numpy as np

    dtype = np.dtype(str(data["dtype"]))
    if dtype.kind not in "biuf":
        raise ValueError("not an array of numbers")
    shape = tuple(int(n) for n in data["shape"])
    raw = base64.b64decode(data["b64"])
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


class Opaque:
    """A value the learner's process could not send as plain data: shown by its repr, never equal to an answer."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text


class OpaqueIterator(Opaque):
    def __iter__(self):
        return self

    def __next__(self):
        raise StopIteration


class OpaqueCollection(Opaque, frozenset):  # judged like a set or dict: "not a list"
    def __new__(cls, type_name: str, text: str):
        return frozenset.__new__(cls)


def decode(data: Any, depth: int = 0) -> Any:
    """The grader's side of ``encode``: plain values only, never the learner's objects."""
    if not isinstance(data, dict) or depth > 22:
        raise ValueError("malformed value")
    kind = data.get("t")
    if kind == "none":
        return None
    if kind == "bool":
        return bool(data["v"])
    if kind == "int":
        return int(str(data["v"])[:1300])
    if kind == "float":
        return float(str(data["v"]))
    if kind == "str":
        return str(data["v"])
    if kind in ("list", "tuple"):
        items = [decode(item, depth + 1) for item in data["v"]]
        return items if kind == "list" else tuple(items)
    if kind == "range":
        return range(*(int(v) for v in data["v"][:3]))
    if kind == "dict":
        return {str(key): decode(item, depth + 1) for key, item in dict(data["v"]).items()}
    if kind == "scalar":
        return _array_from(data["v"])[()]
    if kind == "ndarray":
        return _array_from(data["v"])
    if kind == "tensor":
        import torch

        return torch.from_numpy(_array_from(data["v"]))
    if kind == "opaque":
        name, text = str(data.get("type", "object"))[:80], str(data.get("repr", ""))[:300]
        if data.get("iterator"):
            return OpaqueIterator(name, text)
        if data.get("set"):
            return OpaqueCollection(name, text)
        return Opaque(name, text)
    raise ValueError(f"unknown value kind {kind!r}")


# ------------------------------------------------------------------------------------------------
# The learner's process ("runner"): started once per submission, it forks one child per exercise
# from a state where no learner code has run; the child is limited, then defines the answer.

# fmt: off
SYSCALLS_X86_64 = {
    # new processes and programs, signals to others, tracing, sockets, namespaces
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "kill": 62, "tkill": 200, "tgkill": 234,
    "ptrace": 101, "socket": 41, "socketpair": 53, "setsid": 112, "setpgid": 109, "unshare": 272,
    "setns": 308, "process_vm_writev": 311, "pidfd_send_signal": 424, "rt_sigqueueinfo": 129,
    "rt_tgsigqueueinfo": 297, "io_uring_setup": 425, "bpf": 321, "mount": 165, "umount2": 166,
    # every change to the file system
    "creat": 85, "unlink": 87, "unlinkat": 263, "rename": 82, "renameat": 264, "renameat2": 316, "rmdir": 84,
    "mkdir": 83, "mkdirat": 258, "truncate": 76, "link": 86, "linkat": 265, "symlink": 88, "symlinkat": 266,
    "chmod": 90, "fchmodat": 268, "chown": 92, "lchown": 94, "fchownat": 260, "mknod": 133, "mknodat": 259,
    "utimes": 235, "utimensat": 280, "setxattr": 188, "removexattr": 197, "openat2": 437, "setrlimit": 160,
}
# fmt: on
_OPEN, _OPENAT, _CLONE, _CLONE3, _PRLIMIT64 = 2, 257, 56, 435, 302
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_CLONE_THREAD = 0x00010000


def seccomp_available() -> bool:
    return sys.platform == "linux" and platform.machine() == "x86_64"


def _install_seccomp() -> None:
    """A system-call filter for this process and its threads: see SYSCALLS_X86_64 (EPERM)."""
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, deny, nosys = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
    prog: list[tuple[int, int, int, int]] = [
        (ld, 0, 0, 4),  # arch
        (jeq, 1, 0, 0xC000003E),
        (ret, 0, 0, 0x80000000),  # another ABI: kill the process
        (ld, 0, 0, 0),  # syscall number
        (jge, 0, 1, 0x40000000),  # the x32 ABI
        (ret, 0, 0, deny),
    ]
    for number in sorted(SYSCALLS_X86_64.values()):
        prog += [(jeq, 0, 1, number), (ret, 0, 0, deny)]
    prog += [(jeq, 0, 1, _CLONE3), (ret, 0, 0, nosys)]  # glibc then uses clone, whose flags we can read
    # prlimit64 reads limits (glibc's getrlimit) with new_limit NULL: allowed; changing one is refused
    prog += [(jeq, 0, 6, _PRLIMIT64), (ld, 0, 0, 32), (jeq, 0, 3, 0), (ld, 0, 0, 36), (jeq, 0, 1, 0)]
    prog += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    prog += [(jeq, 0, 4, _CLONE), (ld, 0, 0, 16), (jset, 1, 0, _CLONE_THREAD), (ret, 0, 0, deny), (ret, 0, 0, allow)]
    prog += [(jeq, 0, 4, _OPENAT), (ld, 0, 0, 32), (jset, 0, 1, _WRITE_FLAGS), (ret, 0, 0, deny), (ret, 0, 0, allow)]
    prog += [(jeq, 0, 4, _OPEN), (ld, 0, 0, 24), (jset, 0, 1, _WRITE_FLAGS), (ret, 0, 0, deny), (ret, 0, 0, allow)]
    prog += [(ret, 0, 0, allow)]

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    filters = (Filter * len(prog))(*[Filter(*step) for step in prog])
    program = Program(len(prog), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    if libc.prctl(22, 2, ctypes.byref(program), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP failed")


class _Sink(io.TextIOBase):
    """What the answer prints: counted, the first PRINT_LIMIT characters kept, the rest dropped."""

    def __init__(self):
        self.kept, self.count = [], 0

    def writable(self) -> bool:
        return True

    def write(self, text: Any) -> int:
        text = str(text) if not isinstance(text, str) else text
        room = PRINT_LIMIT - self.count
        if room > 0:
            self.kept.append(text[:room])
        self.count += len(text)
        return len(text)


class _Tripwire:
    """Stands in for a course function inside the learner's process and remembers that it was called."""

    def __init__(self, name: str, function: Any, calls: list):
        self.name, self.function, self.calls = name, function, calls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(self.name)
        return self.function(*args, **kwargs)


class _ForbiddenModule:
    def __init__(self, calls: list):
        object.__setattr__(self, "_calls", calls)

    def __getattr__(self, name: str) -> Any:
        self._calls.append("exercises")
        raise AttributeError("the grader's checkers are not available to an answer")


def _lazy_setup(source: str, namespace: dict) -> None:
    """The chapter's own imports; torch and TensorFlow only when an answer first uses them."""
    import importlib

    class Lazy:
        def __init__(self, module: str, attribute: str | None = None):
            object.__setattr__(self, "_where", (module, attribute))

        def _load(self) -> Any:
            module, attribute = object.__getattribute__(self, "_where")
            if module == "tf_bridge.frameworks":
                return importlib.import_module("course_utils.tf_bridge").frameworks()[attribute]
            loaded = importlib.import_module(module)
            return loaded if attribute is None else getattr(loaded, attribute)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._load(), name)

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return self._load()(*args, **kwargs)

    heavy = (
        "torch",
        "tensorflow",
        "keras",
        "matplotlib",
        "course_utils.blocks",
        "course_utils.backbones",
        "course_utils.degridding",
        "course_utils.probe",
        "course_utils.tf_bridge",
        "course_utils.demos",
        "course_utils.plotting",
        "course_utils.images",
        "course_utils.widgets",
        "course_utils.anim",
        "course_utils.timing",
    )
    for node in ast.parse(_without_magics(source)).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                target = alias.name if alias.asname else alias.name.split(".")[0]
                lazy = target.startswith(heavy)
                namespace[name] = Lazy(target) if lazy else importlib.import_module(target)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full.startswith(heavy) or node.module.startswith(heavy):
                    namespace[alias.asname or alias.name] = Lazy(node.module, alias.name)
                    continue
                module = importlib.import_module(node.module)
                try:
                    value = getattr(module, alias.name)
                except AttributeError:
                    value = importlib.import_module(full)
                namespace[alias.asname or alias.name] = value
    if "tf_bridge.frameworks()" in source:
        namespace["tf"], namespace["keras"] = Lazy("tf_bridge.frameworks", 0), Lazy("tf_bridge.frameworks", 1)


def _answer_statements(source: str, *, earlier: bool = False) -> tuple[list[ast.stmt], str]:
    """The definitions of a cell (functions, classes, imports, assignments); the rest does not run.

    An earlier exercise's cell (whose functions a later answer may call) gives its functions,
    classes and imports only, so an assignment that never ends there cannot stop the later exercises.
    """
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError as error:
        return [], f"SyntaxError: {error.msg} (line {error.lineno})"
    kept = KEPT_STATEMENTS[:5] if earlier else KEPT_STATEMENTS
    return [node for node in tree.body if isinstance(node, kept) and not _is_checker_call(node)], ""


def _limit_child() -> None:
    import resource

    for limit, value in (
        (resource.RLIMIT_AS, MEMORY_LIMIT),
        (resource.RLIMIT_CPU, CPU_LIMIT),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, 64),
    ):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(limit, (value, value))


def _run_exercise(message: dict, base: dict, proto_in: int, proto_out: int) -> None:
    """In the forked child: limit, define the learner's cells, then answer calls until told to stop."""
    import importlib

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    for fd in range(3, 256):  # nothing open but the two pipes to the grader
        if fd not in (proto_in, proto_out):
            with contextlib.suppress(OSError):
                os.close(fd)
    sink = _Sink()
    sys.stdout = sys.stderr = sink
    calls: list[str] = []
    for dotted in message["wrapped"]:
        module_name, function = dotted.rsplit(".", 1)
        with contextlib.suppress(Exception):
            module = importlib.import_module(f"course_utils.{module_name}")
            setattr(module, function, _Tripwire(dotted, getattr(module, function), calls))
    forbidden = _ForbiddenModule(calls)
    sys.modules["course_utils.exercises"] = forbidden  # type: ignore[assignment]
    with contextlib.suppress(Exception):
        import course_utils

        course_utils.exercises = forbidden
    namespace = dict(base)
    namespace["exercises"] = forbidden
    namespace["__name__"] = "__main__"
    # The chapter's heavy imports (torch, TensorFlow, matplotlib) wait until an answer names them: load
    # those it names now, before the limits, so a first call does not spend its time importing.
    named = set()
    for source in message["cells"]:
        with contextlib.suppress(SyntaxError, ValueError):
            named.update(node.id for node in ast.walk(ast.parse(_without_magics(source))) if isinstance(node, ast.Name))
    for name in sorted(named):
        if type(namespace.get(name)).__name__ == "Lazy":
            with contextlib.suppress(Exception):
                namespace[name] = namespace[name]._load()
    if message.get("tensors"):
        importlib.import_module("torch")
    _limit_child()
    if message["seccomp"]:
        _install_seccomp()
    errors = []
    for index, source in enumerate(message["cells"]):
        statements, problem = _answer_statements(source, earlier=index < len(message["cells"]) - 1)
        if problem and index == len(message["cells"]) - 1:
            errors.append(problem)
        for statement in statements:
            try:
                exec(compile(ast.Module([statement], []), "<exercise cell>", "exec"), namespace)  # noqa: S102
            except BaseException as error:  # noqa: BLE001 -- the learner's code: report, never crash
                if index == len(message["cells"]) - 1:
                    errors.append(f"{type(error).__name__}: {_clip(_str_of(error))}")
    learner = namespace.get(message["function"])
    _send(proto_out, {"event": "ready", "callable": callable(learner), "errors": errors[:3]})
    while True:
        request = _receive(proto_in)
        if request.get("op") != "call":
            os._exit(0)
        del calls[:]
        args = decode(request["args"])
        kwargs = decode(request["kwargs"])
        try:
            value = learner(*args, **kwargs)
            reply = {"status": "value", "value": encode(value)}
        except SystemExit as stop:
            reply = {"status": "exit", "code": _safe_text(stop.code, 80)}
        except BaseException as error:  # noqa: BLE001
            reply = {"status": "raised", "type": type(error).__name__[:80], "message": _clip(_str_of(error))}
        reply["tripped"] = sorted(set(calls))[:5]
        reply["printed"] = sink.count
        _send(proto_out, reply)


def _str_of(error: BaseException) -> str:
    try:
        return str(error)
    except BaseException:  # noqa: BLE001
        return "<its message could not be shown: str() failed>"


def _clip(text: str, limit: int = 300) -> str:
    text = re.sub(r"0x[0-9a-fA-F]{6,}", "0x...", " ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def runner_main() -> None:
    """``grade.py --runner``: the learner's side. Reads the set-up, then one exercise at a time."""
    proto_in, proto_out = 0, os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.path.insert(0, str(ROOT))
    start = _receive(proto_in)
    import random

    import numpy as np

    import course_utils

    random.seed(course_utils.SEED)  # as course_utils.setup() does, without importing torch for every answer
    np.random.seed(course_utils.SEED)  # noqa: NPY002
    np.set_printoptions(precision=4, suppress=True, linewidth=100)
    base: dict[str, Any] = {"__builtins__": __builtins__}
    with contextlib.suppress(Exception):
        _lazy_setup(start["setup"], base)
    _send(proto_out, {"event": "started"})
    while True:
        message = _receive(proto_in)
        if message.get("op") != "exercise":
            return
        pid = os.fork()
        if pid == 0:
            try:
                _run_exercise(message, base, proto_in, proto_out)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        event = {"event": "exited"}
        if os.WIFSIGNALED(status):
            event["signal"] = os.WTERMSIG(status)
        else:
            event["code"] = os.WEXITSTATUS(status)
        _send(proto_out, event)


# ------------------------------------------------------------------------------------------------
# The grader's side of one submission


BWRAP_SYSTEM = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
BWRAP_FLAGS = ["--unshare-all", "--die-with-parent", "--new-session"]


def bwrap_arguments() -> list[str]:
    """bwrap's view: the system read-only, an empty /tmp, and (read-only again, over that /tmp) the
    course and the Python that runs it, which a checkout or a .venv under /tmp would otherwise lose."""
    keep = sorted({str(ROOT), sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent)})
    binds = [arg for path in keep if Path(path).is_dir() for arg in ("--ro-bind", path, path)]
    return [*BWRAP_SYSTEM, *binds, *BWRAP_FLAGS]


UNSHARE = ["--user", "--map-root-user", "--net", "--ipc", "--uts", "--pid", "--fork", "--kill-child"]
SANDBOXES = ("auto", "bwrap", "unshare", "none")


def protection(choice: str = "auto") -> tuple[list[str], str]:
    """The command prefix that isolates the learner's process, and its description.

    ``auto`` takes bwrap where it works, else unshare, else neither (and says so); ``bwrap`` and
    ``unshare`` insist on one (ValueError when it is missing or refused); ``none`` uses neither.
    """
    if choice not in SANDBOXES:
        raise ValueError(f"sandbox must be one of {', '.join(SANDBOXES)}, got {choice!r}")
    layers = ["resource limits (time, CPU, memory, output)"]
    if seccomp_available():
        layers.insert(0, "a system-call filter (no processes, files, network or signals)")
    else:
        layers.append("no system-call filter on this platform: answers could change files, run on Linux x86-64")
    bwrap, unshare = shutil.which("bwrap"), shutil.which("unshare")
    if choice in ("auto", "bwrap") and bwrap and _works([bwrap, *bwrap_arguments(), "true"]):
        how = "bwrap (read-only file system, no network, own process tree)"
        return [bwrap, *bwrap_arguments()], "; ".join([how, *layers])
    if choice in ("auto", "unshare") and unshare and _works([unshare, *UNSHARE, "true"]):
        return [unshare, *UNSHARE], "; ".join(["unshare (no network, own process tree)", *layers])
    if choice in ("bwrap", "unshare"):
        raise ValueError(f"--sandbox {choice}: {choice} is not installed here or the system refuses its namespaces")
    first = "namespaces not used (--sandbox none)" if choice == "none" else "no bwrap or unshare on this system"
    return [], "; ".join([first, *layers])


def _works(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class Died(Exception):
    """The learner's process ended or broke the conversation."""


class Runner:
    """One learner process for a submission (restarted after a timeout or a crash)."""

    def __init__(self, prefix: list[str], setup: str):
        self.prefix, self.setup, self.process, self.scratch = prefix, setup, None, None

    def start(self) -> None:
        self.scratch = tempfile.mkdtemp(prefix="grade-scratch-")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": self.scratch,
            "TMPDIR": self.scratch,
            "MPLCONFIGDIR": self.scratch,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "LC_ALL": "C.UTF-8",
        }
        prefix = list(self.prefix)
        if prefix and Path(prefix[0]).name == "bwrap":  # the scratch folder is the only writable place
            prefix += ["--bind", self.scratch, self.scratch, "--chdir", self.scratch]
        command = [*prefix, sys.executable, "-E", "-s", str(Path(__file__).resolve()), "--runner"]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=self.scratch,
            env=env,
            start_new_session=True,
        )
        _send(self.process.stdin.fileno(), {"setup": self.setup})
        reply = self.receive(time.monotonic() + 60)
        if reply.get("event") != "started":
            raise Died("the grader could not start Python for this submission")

    def send(self, message: dict) -> None:
        try:
            _send(self.process.stdin.fileno(), message)
        except OSError as error:
            raise Died("the answer's process stopped") from error

    def receive(self, deadline: float) -> dict:
        try:
            return _receive(self.process.stdout.fileno(), deadline)
        except TimeoutError:
            raise
        except (EOFError, OSError, ValueError, struct.error, UnicodeDecodeError) as error:
            raise Died(f"the answer's process broke off ({_clip(str(error) or type(error).__name__, 120)})") from error

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.process.kill()
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                with contextlib.suppress(Exception):
                    stream.close()
            self.process = None
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


@dataclass
class Outcome:
    verdict: str  # one of VERDICTS
    message: str


@dataclass
class Record:
    timed_out: bool = False
    died: str = ""
    tripped: set = field(default_factory=set)
    printed: int = 0


def _exception_class(name: str) -> type[BaseException]:
    import builtins

    known = getattr(builtins, name, None)
    if isinstance(known, type) and issubclass(known, Exception):
        return known
    safe = re.sub(r"\W", "_", name)[:80] or "Error"
    if not safe.isidentifier():
        safe = "Error"
    return type(safe, (Exception,), {})


def _exit_reason(event: dict) -> str:
    if "signal" in event:
        number = event["signal"]
        if number == signal.SIGXCPU:
            return f"it used more than {CPU_LIMIT} s of CPU time and was stopped"
        if number == signal.SIGKILL:
            return "it was killed (out of memory or over a limit)"
        if number == signal.SIGSYS:
            return "it made a system call the grader forbids and was stopped"
        return f"its Python process died (signal {number})"
    return f"it ended its Python process (exit status {event.get('code')}) instead of returning"


def grade_exercise(runner: Runner, exercise: Exercise, cells: list[str], seccomp: bool) -> Outcome:
    from course_utils import exercises

    record = Record()
    flagged = _static_flags(exercise, cells[-1])
    deadline = time.monotonic() + EXERCISE_LIMIT
    if runner.process is None:
        runner.start()
    runner.send(
        {
            "op": "exercise",
            "cells": cells,
            "function": exercise.function,
            "wrapped": list(WRAPPED[exercise.checker]),
            "seccomp": seccomp,
            "tensors": exercise.checker in TENSOR_CHECKERS,
        }
    )
    try:
        ready = runner.receive(min(deadline, time.monotonic() + READY_LIMIT))
    except TimeoutError:
        runner.stop()
        return Outcome("timeout", f"defining {exercise.function} took more than {READY_LIMIT:g} s")
    except Died as error:
        runner.stop()
        return Outcome("error", f"the cell of {exercise.function} could not run: {error}")
    if ready.get("event") == "exited":
        return Outcome("error", f"the cell of {exercise.function} stopped Python: {_exit_reason(ready)}")
    cell_errors = [str(e) for e in ready.get("errors", [])][:3]
    if not ready.get("callable"):
        _end_exercise(runner)
        if flagged:
            return Outcome("flagged", flagged)
        detail = f" (the cell raised {cell_errors[0]})" if cell_errors else ""
        return Outcome("error", f"the exercise cell does not define a function named {exercise.function}{detail}")

    def learner(*args: Any, **kwargs: Any) -> Any:
        if record.died:
            raise Died(record.died)
        try:
            runner.send({"op": "call", "args": encode(args), "kwargs": encode(kwargs)})
            reply = runner.receive(min(deadline, time.monotonic() + CALL_LIMIT + 0.5))
        except TimeoutError:
            record.timed_out = True
            raise exercises._TimedOut from None
        except Died as error:
            record.died = str(error)
            raise
        except BaseException:  # the checker's own alarm while waiting: the process is stopped afterwards
            record.timed_out = True
            raise
        if reply.get("event") == "exited":
            record.died = _exit_reason(reply)
            raise Died(record.died)
        record.tripped.update(str(name) for name in reply.get("tripped", [])[:5])
        record.printed = max(record.printed, int(reply.get("printed", 0)))
        status = reply.get("status")
        if status == "value":
            try:
                return decode(reply.get("value"))
            except (ValueError, TypeError, KeyError, OverflowError) as error:
                raise Died(f"it returned a value the grader cannot read ({_clip(str(error), 120)})") from None
        if status == "exit":
            raise SystemExit(str(reply.get("code", ""))[:80])
        if status == "raised":
            raise _exception_class(str(reply.get("type", "Error")))(str(reply.get("message", ""))[:300])
        record.died = "it sent something that is not an answer"
        raise Died(record.died)

    learner.__name__ = learner.__qualname__ = exercise.function
    output = io.StringIO()
    checker = getattr(exercises, exercise.checker)
    with contextlib.redirect_stdout(output):
        try:
            checker(learner)
        except Died:
            pass
        except Exception as error:  # noqa: BLE001 -- never let one answer stop the others
            record.died = record.died or f"the checker could not judge it ({type(error).__name__})"
    if record.timed_out or record.died:
        runner.stop()
    else:
        _end_exercise(runner)
    printed_lines = output.getvalue().strip().splitlines()  # the verdict, then any lines that explain it
    line = _clip(" ".join(printed_lines[:6]), 900)
    if record.tripped or flagged:
        names = ", ".join(sorted(record.tripped))
        return Outcome(
            "flagged",
            flagged
            or f"{exercise.function} calls the course's own {names}, the function the "
            "exercise asks you to write; write it yourself",
        )
    if record.timed_out and time.monotonic() >= deadline:
        return Outcome(
            "timeout", f"the hidden cases of {exercise.function} took more than {EXERCISE_LIMIT:g} s together"
        )
    if record.timed_out:
        return Outcome("timeout", f"{exercise.function} did not return within {CALL_LIMIT:g} s (an endless loop?)")
    if record.died:
        return Outcome("error", f"{exercise.function}: {record.died}")
    printed = f" (it printed {record.printed} characters)" if record.printed > PRINT_LIMIT else ""
    if line.startswith(exercises.PASS):
        return Outcome("pass", line + printed)
    if " raised " in line and " should raise " not in line:
        return Outcome("error", line + _raised_hint(line) + printed)
    return Outcome("not yet", (line or f"{exercise.function} was not judged") + printed)


def _end_exercise(runner: Runner) -> None:
    """Tell the exercise's process to stop and wait for it; a process that does not stop is killed."""
    try:
        runner.send({"op": "end"})
        while runner.receive(time.monotonic() + 5).get("event") != "exited":
            pass
    except (Died, TimeoutError):
        runner.stop()


def _raised_hint(line: str) -> str:
    if "PermissionError" in line or "Operation not permitted" in line:
        return " (answers may not start processes, change files or open connections)"
    if "MemoryError" in line:
        return f" (it ran out of memory: the limit is {MEMORY_LIMIT >> 30} GB)"
    return ""


def _static_flags(exercise: Exercise, source: str) -> str:
    """An answer whose cell names the course function it must implement, or the checkers' module."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return ""
    short = {dotted.rsplit(".", 1)[1]: dotted for dotted in WRAPPED[exercise.checker]}
    for node in tree.body:
        if _is_checker_call(node):
            continue
        for inner in ast.walk(node):
            name = None
            if isinstance(inner, ast.Attribute) and inner.attr in short:
                name = short[inner.attr]
            elif isinstance(inner, ast.ImportFrom) and inner.module and inner.module.startswith("course_utils"):
                hit = [a.name for a in inner.names if a.name in short or a.name == "exercises"]
                if hit or inner.module.endswith("exercises"):
                    name = short.get(hit[0], "exercises") if hit else "exercises"
            elif isinstance(inner, ast.Constant) and isinstance(inner.value, str) and inner.value in short:
                name = short[inner.value]
            elif isinstance(inner, ast.Name) and inner.id == "exercises":
                name = "exercises"
            elif isinstance(inner, ast.Attribute) and inner.attr == "exercises":
                name = "exercises"
            if name == "exercises":
                return (
                    f"{exercise.function} uses the checkers' own module (course_utils.exercises); "
                    "write the answer yourself"
                )
            if name:
                return (
                    f"{exercise.function} calls the course's own {name}, the function the exercise asks you to write; "
                    "write it yourself"
                )
    return ""


def _is_checker_call(node: ast.stmt) -> bool:
    """``exercises.check_x(f)`` at the top of a cell (or its result assigned): the learner running the checker."""
    return (
        isinstance(node, ast.Expr | ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and isinstance(node.value.func.value, ast.Name)
        and node.value.func.value.id == "exercises"
        and node.value.func.attr.startswith("check_")
    )


# ------------------------------------------------------------------------------------------------
# One submission


@dataclass
class Graded:
    file: str
    chapter: int | None
    note: str  # "" or the one line for a file that was not graded
    outcomes: list[Outcome]


def _load_notebook(path: Path) -> tuple[dict | None, str]:
    try:
        size = path.stat().st_size
        if size > FILE_LIMIT:
            return None, f"not graded: {size >> 20} MB, larger than a notebook of this course can be"
        raw = path.read_bytes()
    except OSError as error:
        return None, f"not graded: the file cannot be read ({error.strerror})"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not graded: not a notebook (the file is not text)"
    except json.JSONDecodeError as error:
        if not raw.strip():
            return None, "not graded: the file is empty"
        if raw.lstrip().startswith(b"{") and not raw.rstrip().endswith(b"}"):
            return None, "not graded: the notebook is truncated (it ends in the middle); ask for the file again"
        return None, f"not graded: not a notebook (invalid JSON at character {error.pos})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, "not graded: not a Jupyter notebook (no list of cells)"
    return data, ""


def _cells(data: dict) -> list[dict]:
    cells = []
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if isinstance(source, str):
            cells.append({"id": str(cell.get("id", "")), "source": source})
    return cells


def _detect_chapter(cells: list[dict], chapters: dict[int, Chapter]) -> int | None:
    ids = {cell["id"] for cell in cells}
    calls = {name for cell in cells for name in _checker_calls(cell["source"])}
    scores = {
        number: sum(ex.cell_id in ids or ex.checker in calls for ex in chapter.exercises)
        for number, chapter in chapters.items()
        if chapter.exercises
    }
    best = max(scores.items(), key=lambda item: (item[1], -item[0]), default=(None, 0))
    return best[0] if best[1] else None


def _named_chapter(path: Path, chapters: dict[int, Chapter]) -> int | None:
    match = re.match(r"0?([1-9])(?:_|\b|$)", path.stem)
    if match and int(match.group(1)) in chapters:
        return int(match.group(1))
    for number, chapter in chapters.items():
        if chapter.name.split("_", 1)[1] in path.stem:
            return number
    return None


def _answer_cells(cells: list[dict], chapter: Chapter) -> list[str | None]:
    """The learner's cell of each exercise: by cell id, else by its checker call, else by its function name."""
    found = []
    for exercise in chapter.exercises:
        match = next((c for c in cells if c["id"] and c["id"] == exercise.cell_id), None)
        match = match or next((c for c in cells if exercise.checker in _checker_calls(c["source"])), None)
        match = match or next(
            (c for c in reversed(cells) if exercise.function in _defined_functions(c["source"])), None
        )
        found.append(match["source"] if match else None)
    return found


def grade_submission(path: Path, chapter_number: int, chapters: dict[int, Chapter], prefix: list[str]) -> Graded:
    chapter = chapters[chapter_number]
    data, problem = _load_notebook(path)
    if data is None:
        return Graded(path.name, None, problem, [])
    cells = _cells(data)
    found = _detect_chapter(cells, chapters)
    if found is None:
        return Graded(path.name, None, "not graded: no exercise of the course in it (not a course chapter?)", [])
    if found != chapter_number:
        named = _named_chapter(path, chapters)
        title = re.sub(r"^Chapter \d+\s*\W\s*", "", chapters[found].title)
        how = f", though its name says chapter {named}" if named is not None and named != found else ""
        note = f"not graded: this is chapter {found} ({title}){how}; chapter {chapter_number} was handed out"
        return Graded(path.name, found, note, [])
    answers = _answer_cells(cells, chapter)
    runner = Runner(prefix, chapter.setup)
    outcomes = []
    seccomp = seccomp_available()
    try:
        for index, (exercise, source) in enumerate(zip(chapter.exercises, answers, strict=True)):
            if source is None:
                outcomes.append(Outcome("error", f"the cell of {exercise.function} is missing from the notebook"))
                continue
            earlier = [s for s in answers[:index] if s is not None]
            try:
                outcomes.append(grade_exercise(runner, exercise, [*earlier, source], seccomp))
            except Died as error:
                runner.stop()
                outcomes.append(Outcome("error", f"{exercise.function}: {error}"))
    finally:
        runner.stop()
    return Graded(path.name, chapter_number, "", outcomes)


def _grade_one(task: tuple[str, int, dict, list[str], float]) -> Graded:
    global CALL_LIMIT
    path, chapter_number, chapters, prefix, CALL_LIMIT = task
    from course_utils import exercises

    exercises.REVEAL_EXPECTED = False  # this process runs no learner code: the feedback never shows them
    exercises.TIME_LIMIT = CALL_LIMIT
    try:
        return grade_submission(Path(path), chapter_number, chapters, prefix)
    except Exception as error:  # noqa: BLE001 -- the grader's own failure: one line, the rest go on
        return Graded(
            Path(path).name,
            None,
            f"not graded: the grader failed on it ({type(error).__name__}: {_clip(str(error), 200)})",
            [],
        )


# ------------------------------------------------------------------------------------------------
# Outputs


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def _page_name(file: str, taken: set) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", Path(file).stem)[:80] or "submission"
    name, n = f"{stem}.html", 2
    while name in taken:
        name, n = f"{stem}-{n}.html", n + 1
    taken.add(name)
    return name


STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3rem .6rem;text-align:left;vertical-align:top}
.pass{background:#dff0d8}.not-yet{background:#fcf8e3}.error,.timeout{background:#f2dede}.flagged{background:#e0d4f5}
code{font-size:.95em}"""


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


HINTS = {
    "pass": "Well done.",
    "not yet": "The line above names the first hidden case that fails, and the typical mistake it looks like if any.",
    "error": "The function raised an error or stopped Python: run the cell in your notebook to see it.",
    "timeout": "The function did not finish: look for a loop that never ends.",
    "flagged": "The answer was not graded: it uses the course's own solution instead of computing the result.",
}


def feedback_page(graded: Graded, chapter: Chapter) -> str:
    rows = []
    for exercise, outcome in zip(chapter.exercises, graded.outcomes, strict=True):
        css = outcome.verdict.replace(" ", "-")
        rows.append(
            f'<tr class="{css}"><td><code>{html.escape(exercise.function)}</code></td>'
            f"<td><b>{html.escape(outcome.verdict)}</b></td><td>{html.escape(outcome.message)}<br>"
            f"<i>{html.escape(HINTS[outcome.verdict])}</i></td></tr>\n"
        )
    passed = sum(o.verdict == "pass" for o in graded.outcomes)
    body = (
        f"<h1>Feedback: {html.escape(graded.file)}</h1>\n<p>{html.escape(chapter.title)}. "
        f"{passed} of {len(chapter.exercises)} exercises pass the hidden cases.</p>\n"
        "<table>\n<tr><th>Exercise</th><th>Verdict</th><th>What the checker says</th></tr>\n"
        + "".join(rows)
        + "</table>\n<p>Each answer was run on its own, outside your notebook, on cases you did not see.</p>\n"
    )
    return _page(f"Feedback: {graded.file}", body)


def note_page(graded: Graded) -> str:
    return _page(
        f"Feedback: {graded.file}",
        f"<h1>Feedback: {html.escape(graded.file)}</h1>\n<p>{html.escape(graded.note)}</p>\n",
    )


def summary_page(results: list[Graded], chapter: Chapter, pages: dict[str, str], how: str) -> str:
    graded = [g for g in results if not g.note]
    bars, width, height, slot = [], 60, 200, 190  # a slot holds a bar and its exercise's name
    for i, exercise in enumerate(chapter.exercises):
        passed = sum(g.outcomes[i].verdict == "pass" for g in graded)
        rate = passed / len(graded) if graded else 0.0
        x, h = 60 + i * slot + (slot - width) // 2, round(rate * height)
        bars.append(
            f'<rect x="{x}" y="{20 + height - h}" width="{width}" height="{h}" fill="#3b6ea5"/>'
            f'<text x="{x + width / 2:g}" y="{14 + height - h}" text-anchor="middle" font-size="12">'
            f"{round(100 * rate)}% ({passed}/{len(graded)})</text>"
            f'<text x="{x + width / 2:g}" y="{40 + height}" text-anchor="middle" font-size="11">'
            f"{html.escape(exercise.function)}</text>"
        )
    chart_width = 60 + len(chapter.exercises) * slot
    chart = (
        f'<svg role="img" aria-label="Pass rate per exercise" width="{chart_width}" height="{height + 60}" '
        f'viewBox="0 0 {chart_width} {height + 60}" xmlns="http://www.w3.org/2000/svg">'
        f'<line x1="55" y1="20" x2="55" y2="{20 + height}" stroke="#333"/>'
        f'<text x="50" y="24" text-anchor="end" font-size="11">100%</text>'
        f'<text x="50" y="{24 + height}" text-anchor="end" font-size="11">0%</text>' + "".join(bars) + "</svg>"
    )
    head = "".join(f"<th>{html.escape(e.function)}</th>" for e in chapter.exercises)
    rows = []
    for g in results:
        link = f'<a href="feedback/{html.escape(pages[g.file])}">{html.escape(g.file)}</a>'
        if g.note:
            rows.append(
                f'<tr><td>{link}</td><td colspan="{len(chapter.exercises) + 1}">{html.escape(g.note)}</td></tr>\n'
            )
            continue
        cells = "".join(f'<td class="{o.verdict.replace(" ", "-")}">{o.verdict}</td>' for o in g.outcomes)
        rows.append(f"<tr><td>{link}</td>{cells}<td>{sum(o.verdict == 'pass' for o in g.outcomes)}</td></tr>\n")
    body = (
        f"<h1>Grades: {html.escape(chapter.title)}</h1>\n"
        f"<p>{len(results)} files, {len(graded)} graded. Pass rate per exercise:</p>\n{chart}\n"
        f"<table>\n<tr><th>Submission</th>{head}<th>Total</th></tr>\n" + "".join(rows) + "</table>\n"
        f"<p>Protection of the grading: {html.escape(how)}.</p>\n"
    )
    return _page(f"Grades: chapter {chapter.number}", body)


def _cell(text: str) -> str:
    """A student's file name in the gradebook: never read as a formula by a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_outputs(out: Path, results: list[Graded], chapter: Chapter, how: str) -> None:
    taken: set = set()
    pages = {g.file: _page_name(g.file, taken) for g in results}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", *(e.function for e in chapter.exercises), "total", "note"])
    for g in results:
        if g.note:
            writer.writerow([_cell(g.file), *([""] * len(chapter.exercises)), 0, g.note])
        else:
            total = sum(o.verdict == "pass" for o in g.outcomes)
            writer.writerow([_cell(g.file), *(o.verdict for o in g.outcomes), total, ""])
    for g in results:
        page = note_page(g) if g.note else feedback_page(g, chapter)
        _atomic_write(out / "feedback" / pages[g.file], page)
    for stale in sorted((out / "feedback").glob("*.html")):  # pages of files no longer in the folder
        if stale.name not in pages.values():
            stale.unlink()
    _atomic_write(out / "summary.html", summary_page(results, chapter, pages, how))
    _atomic_write(out / "gradebook.csv", buffer.getvalue())


# ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", type=Path, help="folder of returned notebooks (*.ipynb)")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="folder for the gradebook (default: grades)")
    parser.add_argument("--chapter", type=int, help="the chapter handed out (default: the one most files hold)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    parser.add_argument(
        "--call-limit", type=float, default=CALL_LIMIT, help=f"seconds per call of an answer (default {CALL_LIMIT:g})"
    )
    parser.add_argument(
        "--sandbox", choices=SANDBOXES, default="auto", help="namespaces for the answers (default: bwrap, else unshare)"
    )
    args = parser.parse_args(argv)
    if not 0.1 <= args.call_limit <= 60:
        print(f"grade: --call-limit must be between 0.1 and 60 seconds, got {args.call_limit:g}", file=sys.stderr)
        return 2
    if not args.submissions.is_dir():
        print(f"grade: SUBMISSIONS must be a folder of notebooks, got {str(args.submissions)!r}", file=sys.stderr)
        return 2
    out = args.out.resolve()
    for protected in (ROOT / "notebooks", ROOT / "course_utils", ROOT / "tools", ROOT / "tests", ROOT / ".git"):
        if out == protected or protected in out.parents or out in protected.parents and out != protected:
            print(f"grade: refusing to write grades into {out} (it holds the course's sources)", file=sys.stderr)
            return 2
    if out.exists() and any(out.iterdir()) and not (out / "gradebook.csv").exists():
        print(f"grade: {out} exists and holds other files; name an empty or new folder with --out", file=sys.stderr)
        return 2
    files = sorted(p for p in args.submissions.iterdir() if p.suffix == ".ipynb" and p.is_file())
    if not files:
        print(f"grade: no .ipynb files in {args.submissions}", file=sys.stderr)
        return 2
    chapters = course_chapters()
    chapter_number = args.chapter
    if chapter_number is None:
        votes: dict[int, int] = {}
        for path in files:
            data, _ = _load_notebook(path)
            number = _detect_chapter(_cells(data), chapters) if data else None
            if number is not None:
                votes[number] = votes.get(number, 0) + 1
        if not votes:
            print("grade: no file in the folder holds a chapter of the course", file=sys.stderr)
            return 2
        chapter_number = max(votes.items(), key=lambda item: (item[1], -item[0]))[0]
    if chapter_number not in chapters or not chapters[chapter_number].exercises:
        print(f"grade: --chapter must be one of {sorted(chapters)}, got {chapter_number}", file=sys.stderr)
        return 2
    try:
        prefix, how = protection(args.sandbox)
    except ValueError as error:
        print(f"grade: {error}", file=sys.stderr)
        return 2
    print(f"Grading {len(files)} files of chapter {chapter_number}; protection: {how}", file=sys.stderr)
    tasks = [(str(path), chapter_number, chapters, prefix, args.call_limit) for path in files]
    results = _run_all(tasks, max(1, args.jobs))
    write_outputs(out, results, chapters[chapter_number], how)
    counts = {v: sum(o.verdict == v for g in results for o in g.outcomes) for v in VERDICTS}
    print(
        f"{len(results)} files -> {out / 'gradebook.csv'}, {out / 'summary.html'}, feedback/ "
        f"({', '.join(f'{n} {v}' for v, n in counts.items())}; {sum(bool(g.note) for g in results)} not graded)",
        file=sys.stderr,
    )
    return 0


def _run_all(tasks: list[tuple], jobs: int) -> list[Graded]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    results: dict[str, Graded] = {}
    tqdm.monitor_interval = 0  # no monitor thread in a process that forks the workers
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with (
        ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool,
        tqdm(
            total=len(tasks),
            unit="notebook",
            file=sys.stderr,
            disable=None if sys.stderr.isatty() else False,
            ascii=True,
            dynamic_ncols=True,
            mininterval=0.5,
        ) as bar,
    ):
        futures = {pool.submit(_grade_one, task): task[0] for task in tasks}
        for future in as_completed(futures):
            graded = future.result()
            results[futures[future]] = graded
            bar.update(1)
    return [results[task[0]] for task in tasks]


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--runner":
        runner_main()
        sys.exit(0)
    sys.exit(main())
