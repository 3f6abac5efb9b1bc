"""Re-execute notebooks top to bottom in the project's environment and store their outputs.

Usage: python tools/refresh.py [--remeasure] [--timeout SECONDS] notebooks/*.ipynb

Each notebook runs in a fresh kernel started from this interpreter (the .venv), from its own folder,
so relative links such as ../anim/NAME.gif resolve as they do in JupyterLab. Execution counts
come out as 1..n. The result is written to a temporary file beside the notebook and renamed over
it only when the whole run succeeded: a failing refresh leaves the old notebook intact. A cell
that runs longer than ``--timeout`` seconds (default 600) fails the run. A notebook whose file
changed while it ran (saved from JupyterLab) is left as saved, with one line saying so; a symlinked
notebook stays a link and its target is written.

Two refreshes in a row store the same bytes:
- widget model ids (random in the kernel) are renumbered in order of appearance, the same way in
  the outputs and in the stored widget state; integral floats in that state are stored as
  integers, as JupyterLab writes them back;
- adjacent stream outputs of one name are merged (the kernel splits a printout at random);
- a cell tagged ``nbval-ignore-output`` whose new output differs from the stored one only in its
  numbers and pictures (a timing table, a plot of timings) keeps the stored output; ``--remeasure``
  stores the new measurement (do that after changing what such a cell measures).

What a reader without a kernel sees: the stored widget state is kept in the notebook metadata (the
static HTML page renders widgets from it), and each progress bar's text/plain fallback is rewritten
from the bar's final state ("local: 100%|██████████| 200/200, loss=0.0362", not "0%| | 0/200").

What JupyterLab writes back on opening is stored already (the kernel's ``language_info`` with its
version, the kernelspec), so opening an untouched chapter does not mark it modified.

Ctrl-C or SIGTERM stops the run at once: the kernel is shut down, one line is printed, and the
notebook being refreshed is left as it was (those finished before stay refreshed).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import copy
import html
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the Jupyter stack is imported when needed: a Ctrl-C during its slow import is clean too
    from jupyter_client.manager import AsyncKernelManager
    from nbformat import NotebookNode

KERNEL_SPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
IGNORE_OUTPUT_TAG = "nbval-ignore-output"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
MODEL_ID = re.compile(r"[0-9a-f]{32}")
NUMBER = re.compile(r"[ \t]*[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?[ \t]*")  # with the padding that aligns it
ID_NAMESPACE = uuid.UUID("5b0c3c9e-6d0e-4c55-9d8e-0a7f1c2b3d4e")  # any fixed value: ids stay stable


class Stopped(BaseException):
    """Raised in the main thread by SIGINT or SIGTERM (a BaseException, like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _on_stop_signal(signum: int, _frame: Any) -> None:
    for sig in STOP_SIGNALS:  # a second Ctrl-C while shutting down must not interrupt the clean-up
        signal.signal(sig, signal.SIG_IGN)
    raise Stopped(signum)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back (they are delivered on exit), so a rename is never half-reported."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _venv_kernel_manager() -> type[AsyncKernelManager]:
    from jupyter_client.manager import AsyncKernelManager

    class VenvKernelManager(AsyncKernelManager):
        """Start the kernel with this very interpreter, whatever kernelspecs the machine has."""

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            connection_file = os.path.realpath(self.connection_file)
            return [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, *(extra_arguments or [])]

    return VenvKernelManager


class _Execution(threading.Thread):
    """Runs one notebook in a worker thread, so that the main thread keeps the signal handlers
    (nbclient's own handlers only schedule a clean-up and let the run go on)."""

    def __init__(self, nb: NotebookNode, cwd: Path, timeout: int) -> None:
        super().__init__(name="refresh-kernel", daemon=True)
        self.nb, self.cwd, self.timeout = nb, cwd, timeout
        self.km: AsyncKernelManager | None = None
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self._lock = threading.Lock()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._execute())
        except asyncio.CancelledError:
            pass
        except BaseException as error:  # handed to the main thread, which reports it in one place
            self.error = error
        finally:
            self.finished.set()

    async def _execute(self) -> None:
        from nbclient import NotebookClient

        client = NotebookClient(
            self.nb,
            kernel_name="python3",
            kernel_manager_class=_venv_kernel_manager(),
            timeout=self.timeout,
            allow_errors=False,
            record_timing=False,
            shutdown_kernel="immediate",
            # The kernel's start-up notice ("running over TCP without encryption") is noise here.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            resources={"metadata": {"path": str(self.cwd)}},
        )
        with self._lock:
            if self._stopping:
                return
            self.km = client.create_kernel_manager()
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        try:
            await client.async_execute()
        finally:
            # nbclient shuts its kernel down when it owns it, except when cancelled during start-up;
            # its exit-time clean-up would then run on another thread's sockets and hang: drop it.
            atexit.unregister(client._cleanup_kernel)
            with contextlib.suppress(Exception):
                if self.km.has_kernel:
                    await self.km.shutdown_kernel(now=True)

    def stop(self, grace: float = 3.0) -> None:
        """Cancel the run and wait for the kernel to be shut down; kill it if that takes too long."""
        with self._lock:
            self._stopping = True
            if self._loop is not None and self._task is not None:
                with contextlib.suppress(RuntimeError):  # the loop may have just closed
                    self._loop.call_soon_threadsafe(self._task.cancel)
        if not self.finished.wait(grace):
            provisioner = getattr(self.km, "provisioner", None)
            pgid = getattr(provisioner, "pgid", None)
            with contextlib.suppress(OSError, TypeError):
                os.killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.km.cleanup_connection_file()


def execute(path: Path, timeout: int = 600) -> NotebookNode:
    """The notebook at ``path`` executed in a fresh kernel (raises Stopped on SIGINT/SIGTERM)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = dict(KERNEL_SPEC)
    run = _Execution(nb, path.parent.resolve(), timeout)
    try:
        run.start()
        # Not Thread.join: a signal that interrupts join() can leave the thread marked as stopped.
        while not run.finished.is_set():
            time.sleep(0.05)
    except Stopped:
        run.stop()
        raise
    if run.error is not None:
        raise run.error
    return nb


# --- making the stored notebook byte-stable and readable without a kernel -------------------------


def coalesce_streams(outputs: list) -> list:
    """Merge adjacent stream outputs of the same name (stdout, stdout -> one block).

    Linear in the total text: each run's pieces are collected and joined once (joining as it goes
    copies the growing text at every piece: 1,600 pieces of 5 KB took minutes)."""
    merged: list = []
    pieces: list[str] = []  # the texts of the run of streams that ends in merged[-1]

    def close_run() -> None:
        if len(pieces) > 1:
            merged[-1]["text"] = "".join(pieces)
        pieces.clear()

    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and pieces
            and output.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            pieces.append("".join(output["text"]))
            continue
        close_run()
        merged.append(output)
        if output.get("output_type") == "stream":
            pieces.append("".join(output["text"]))
    close_run()
    return merged


def _model_refs(value: Any, known: dict) -> list[str]:
    """Model ids referenced from a JSON value (``IPY_MODEL_<id>``, nested ``model_id``), in order."""
    return [m for m in MODEL_ID.findall(json.dumps(value, sort_keys=True)) if m in known]


def renumber_widgets(nb: NotebookNode, name: str) -> dict[str, str]:
    """Give widget models ids that depend only on their order of appearance; return old -> new.

    Order: the models each widget output shows (depth first through the models they reference),
    cell by cell, then any model not shown, in the order the kernel created them.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state")
    if not state:
        return {}
    order: list[str] = []

    def visit(model_id: str) -> None:
        if model_id in state and model_id not in order:
            order.append(model_id)
            for ref in _model_refs(state[model_id].get("state", {}), state):
                visit(ref)

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view:
                visit(view.get("model_id", ""))
    for model_id in state:
        visit(model_id)
    mapping = {old: uuid.uuid5(ID_NAMESPACE, f"{name}/{index}").hex for index, old in enumerate(order)}

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            return MODEL_ID.sub(lambda m: mapping.get(m.group(0), m.group(0)), value)
        if isinstance(value, dict):
            return {rename(k): rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        if isinstance(value, float) and value.is_integer():
            return int(value)  # JupyterLab (JavaScript) writes 300.0 back as 300
        return value

    nb.metadata.widgets[WIDGET_STATE]["state"] = {mapping[old]: rename(state[old]) for old in order}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view:
                output["data"][WIDGET_VIEW] = rename(dict(view))
    return mapping


def _strip_html(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text)).replace("\u2007", " ")  # tqdm pads with figure spaces


def progress_text(model_id: str, state: dict) -> str | None:
    """The text a tqdm progress bar shows in its final state, from its widget models, or None.

    tqdm's notebook bar is an HBox of an HTML (description and percentage), a progress bar and an
    HTML (counts and postfix).
    """
    box = state.get(model_id, {}).get("state", {})
    children = [ref.removeprefix("IPY_MODEL_") for ref in box.get("children", [])]
    models = [state.get(child, {}) for child in children]
    kinds = [m.get("model_name") for m in models]
    if box.get("_model_name") != "HBoxModel" or len(kinds) != 3 or kinds[0] != "HTMLModel" or kinds[2] != "HTMLModel":
        return None
    if kinds[1] not in ("FloatProgressModel", "IntProgressModel"):
        return None
    left, bar, right = (m["state"] for m in models)
    span = bar.get("max", 1) - bar.get("min", 0)
    filled = round(10 * (bar.get("value", 0) - bar.get("min", 0)) / span) if span else 10
    filled = min(max(filled, 0), 10)
    drawn = "█" * filled + " " * (10 - filled)
    return f"{_strip_html(left.get('value', ''))}|{drawn}|{_strip_html(right.get('value', ''))}"


def progress_fallbacks(nb: NotebookNode) -> int:
    """Rewrite each progress bar's text/plain from its stored final state; return how many."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            text = progress_text(view.get("model_id", ""), state) if view else None
            if text is not None:
                output["data"]["text/plain"] = text
                count += 1
    return count


def _ignores_output(cell: NotebookNode) -> bool:
    return IGNORE_OUTPUT_TAG in cell.metadata.get("tags", []) or "# NBVAL_IGNORE_OUTPUT" in cell.source


def _masked(outputs: list) -> str:
    """Outputs as JSON with every number in their text (and its column padding) replaced by ' # '
    and every picture by a placeholder."""
    plain = []
    for output in outputs:
        output = copy.deepcopy(dict(output))
        output.pop("execution_count", None)
        if "text" in output:
            output["text"] = NUMBER.sub(" # ", "".join(output["text"]))
        data = output.get("data", {})
        for key in ("text/plain", "text/html", "text/markdown"):
            if key in data:
                data[key] = NUMBER.sub(" # ", "".join(data[key]))
        for key in ("image/png", "image/jpeg"):  # a plot of this run's timings
            if key in data:
                data[key] = "<picture>"
        plain.append(output)
    return json.dumps(plain, sort_keys=True)


def keep_measurements(nb: NotebookNode, stored: NotebookNode) -> int:
    """Keep the stored outputs of ignore-output cells whose new outputs differ only in numbers."""
    if len(nb.cells) != len(stored.cells):
        return 0
    kept = 0
    for cell, old in zip(nb.cells, stored.cells, strict=True):
        if cell.cell_type != "code" or old.cell_type != "code" or old.source != cell.source:
            continue
        if not _ignores_output(cell) or cell.outputs == old.outputs:
            continue
        old_outputs = coalesce_streams(copy.deepcopy(old.outputs))
        if _masked(old_outputs) == _masked(cell.outputs):
            for output in old_outputs:  # the execution count is this run's
                if "execution_count" in output:
                    output["execution_count"] = cell.execution_count
            cell.outputs = old_outputs
            kept += 1
    return kept


def _cell_ids(nb: NotebookNode, name: str) -> None:
    """nbformat 4.5 with a unique id on every cell, as JupyterLab writes it (else: modified on open)."""
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        nb.nbformat, nb.nbformat_minor = 4, 5
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        if not cell.get("id") or cell["id"] in seen:
            cell["id"] = uuid.uuid5(ID_NAMESPACE, f"{name}/cell/{index}").hex[:12]
        seen.add(cell["id"])


def tidy(nb: NotebookNode, name: str, stored: NotebookNode | None = None) -> dict[str, int]:
    """Make an executed notebook byte-stable and readable without a kernel (see the module doc)."""
    _cell_ids(nb, name)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    renumbered = renumber_widgets(nb, name)
    bars = progress_fallbacks(nb)
    kept = keep_measurements(nb, stored) if stored is not None else 0
    return {"widgets": len(renumbered), "progress_bars": bars, "kept": kept}


class ChangedOnDisk(Exception):
    """The notebook's file changed while it ran (saved from JupyterLab, say): it is not overwritten."""


def write_atomic(nb: NotebookNode, path: Path, expected: bytes | None = None) -> None:
    """Write beside ``path`` and rename over it: readers never see a half-written notebook.

    A symlink is followed: its target is written and the link stays a link. With ``expected``,
    the file must still hold exactly those bytes just before the rename, or ``ChangedOnDisk`` is
    raised and the file is left as it is (edits saved during the run are never discarded).
    """
    import nbformat

    path = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        if expected is not None and path.read_bytes() != expected:
            raise ChangedOnDisk(str(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refresh(path: Path, timeout: int = 600, remeasure: bool = False) -> dict[str, Any]:
    """Execute ``path`` and store the result; return what was done (seconds, widget counts)."""
    import nbformat

    original = path.read_bytes()  # what the run starts from: the file must still hold it at the end
    stored = nbformat.reads(original.decode("utf-8"), as_version=4)
    start = time.perf_counter()
    nb = execute(path, timeout)
    elapsed = time.perf_counter() - start
    report: dict[str, Any] = tidy(nb, path.stem, None if remeasure else stored)
    with _signals_deferred():
        write_atomic(nb, path, expected=original)
    return {"seconds": elapsed, **report}


def _run(argv: list[str], done: list[Path]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument(
        "--remeasure", action="store_true", help="store new timings even where only their numbers changed"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=600,
        metavar="SECONDS",
        help="stop a notebook whose cell runs longer than this (default 600: a chapter's longest cell "
        "takes under a minute)",
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(Path("notebooks").glob("*.ipynb"))
    for path in paths:
        if not path.is_file():
            print(f"refresh: no such notebook: {path}", file=sys.stderr)
            return 2
    status = 0
    for path in paths:
        print(f"refresh: {path} ...", flush=True)
        try:
            report = refresh(path, timeout=args.timeout, remeasure=args.remeasure)
        except ChangedOnDisk:
            print(
                f"refresh: {path} changed on disk while it ran; left as it is (refresh it again to store outputs)",
                file=sys.stderr,
                flush=True,
            )
            status = 1
            continue
        except Exception as error:  # one clear message; the notebook is untouched
            print(f"refresh: {path} failed, left unchanged: {error}", file=sys.stderr)
            return 1
        kept = f"; kept {report['kept']} timing output(s), --remeasure to store new ones" if report["kept"] else ""
        print(f"refresh: {path} done in {report['seconds']:.1f} s{kept}", flush=True)
        done.append(path)
    return status


def _seconds(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"--timeout must be a whole number of seconds >= 1, got {text}")
    return value


def main(argv: list[str]) -> int:
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_stop_signal)
    done: list[Path] = []
    try:
        return _run(argv, done)
    except Stopped as stop:
        left = f"{len(done)} notebook(s) refreshed before it, the others" if done else "every notebook"
        print(
            f"refresh: stopped by {stop}; no kernel left running, {left} left as before",
            file=sys.stderr,
            flush=True,
        )
        sys.stdout.flush()
        # Nothing is left to save and the kernel is gone: skip the interpreter's exit-time clean-up
        # of half-closed ZeroMQ sockets, which can hang or abort after a cancelled run.
        os._exit(128 + stop.signum)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
