"""Build the course's static site from the stored notebooks: pages, slides, student copies.

Usage: python tools/build_site.py [OUTPUT_DIR]      (default: site/)

Nothing is executed: every page is nbconvert's rendering of the notebook as stored. The result works
opened from disk with no network: every script, style sheet and font is a trimmed copy of a package
that `npm ci` installed from the committed package-lock.json (run here when node_modules is missing
or older than the lock file).

    index.html                      front page: chapters, what each teaches, links
    notebooks/NN_name.html          one page per chapter (lab template, local MathJax 2, widgets)
    notebooks/NAME.html             every notebooks/*.md, rendered in the same look
    docs/lecturers_guide.html       the lecturer's guide
    slides/NN_name.slides.html      one reveal.js deck per chapter
    anim/*.gif                      the GIFs the Markdown links as ../anim/NAME.gif
    student/notebooks/*.ipynb       student copies: cells tagged `solution` removed, exercise outputs cleared
    student.zip                     the same student folder as one download
    handouts/NN.pdf                 per chapter: a page per slide with its speaker notes, "n / N" (system Chromium)
    lib/                            require.js, jQuery, MathJax 2, reveal.js 5, the widgets html-manager
    .course-site                    the marker: only a folder holding it is ever replaced by a later build

The output folder must be new or one this script built (the marker); the checkout, a folder above it
and its source folders are refused. HTML from the notebooks is sanitized (nh3) before it reaches a page.
"""

from __future__ import annotations

import copy
import functools
import html
import itertools
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# jsonschema (through nbformat) imports an IRI syntax checker whose grammar takes seconds to build;
# notebooks hold no IRI fields, and jsonschema skips the checker when the import fails.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "site_templates"
NODE_MODULES = ROOT / "node_modules"
STUDENT_DIR = "dilated-convolutions-student"
SOLUTION_TAG = "solution"
EXERCISE_MARK = "exercises.check_"
REVEAL_THEME = "white"  # its only font is the Source Sans Pro copy shipped beside it, copied below

# lib/ paths as the pages see them, relative to site/ (pages live one folder down: prefix "../").
LIB = {
    "require_js_url": "lib/require.js",
    "jquery_url": "lib/jquery.min.js",
    "mathjax_url": "lib/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    "widget_renderer_url": "lib/html-manager/embed-amd.js",
    "reveal_url_prefix": "lib/reveal.js",
}


class BuildError(RuntimeError):
    pass


# --------------------------------------------------------------------------- what may be written where

MARKER = ".course-site"  # written into every folder this script builds; only such a folder is replaced
MARKER_TEXT = "Built by tools/build_site.py of the dilated-convolutions course; rebuilt (replaced) by it.\n"
SOURCES = ("notebooks", "course_utils", "tools", "tests", "docs", "anim", "benchmarks", ".git")


def check_output_dir(site: Path) -> None:
    """Refuse an output folder this script did not make, and any folder that holds the course's sources.

    A folder is replaced only when it holds the marker file an earlier build wrote. The checkout, any
    folder above it, and its source folders are refused even with a marker (a copied marker must not
    turn `build_site.py .` into a deletion of the course)."""
    site = site.resolve()
    root = ROOT.resolve()
    if site == root or root.is_relative_to(site):
        raise BuildError(f"refusing to write the site into {site}: it holds the course's sources")
    for name in SOURCES:
        if site.is_relative_to(root / name):
            raise BuildError(f"refusing to write the site into {site}: it is inside the course's {name}/ folder")
    if site.exists() or site.is_symlink():
        if not site.is_dir() or site.is_symlink():
            raise BuildError(f"refusing to replace {site}: it is not a folder this script built")
        if any(site.glob("*.ipynb")) or (site / ".git").exists():
            raise BuildError(f"refusing to replace {site}: it holds notebooks or a git repository")
        if not (site / MARKER).is_file() and not _legacy_build(site):
            raise BuildError(
                f"refusing to replace {site}: it exists and was not built by this script (no {MARKER} file); "
                "name a new folder or remove it yourself"
            )


LAYOUT = {"index.html", "lib", "notebooks", "slides", "docs", "anim", "student", "student.zip", "handouts"}


def _legacy_build(site: Path) -> bool:
    """The default site/ as builds before the marker file left it: only the site's own entries."""
    if site != (ROOT / "site").resolve():
        return False
    names = {path.name for path in site.iterdir()}
    return bool(names) and names <= LAYOUT and (site / "lib" / "require.js").is_file()


# --------------------------------------------------------------------------- untrusted HTML


# What the pages keep of the HTML in a notebook (Markdown cells, text/html and text/markdown outputs,
# HTML widgets' values): an allow-list, applied by nh3 (the Ammonia sanitizer). Scripts, event
# handlers, iframes, forms, styles that position things and javascript: URLs are dropped; the
# course's own cells use nothing beyond this list, so its pages are unchanged.
def sanitize_html(fragment) -> str:
    import nh3

    attributes = {tag: set(values) for tag, values in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = {"class", "id", "title", "lang", "dir", "aria-hidden", "aria-label"}
    for tag in ("th", "td", "span", "div", "p"):
        attributes.setdefault(tag, set()).add("style")
    attributes["a"] |= {"title", "download"}
    return nh3.clean(
        str(fragment),
        tags=(set(nh3.ALLOWED_TAGS) | {"input", "label"}) - {"map", "area"},
        clean_content_tags={"script", "style"},
        attributes=attributes | {"input": {"type", "checked", "disabled"}},
        filter_style_properties={"text-align", "color", "background-color", "font-weight", "font-style"},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


_HTML_WIDGETS = ("HTMLModel", "HTMLMathModel")


def sanitize_notebook(nb):
    """The notebook with every piece of HTML that reaches a page passed through `sanitize_html` and
    every JavaScript output removed; the widget state keeps only data (its views are drawn by the
    widget manager, whose own scripts are the only ones that run)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "raw":
            cell.source = ""
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            for mime in list(data):
                if "javascript" in mime or mime in ("text/vnd.mermaid",):
                    del data[mime]
                elif mime == "image/svg+xml":
                    del data[mime]  # SVG can carry scripts; the course's figures are PNG
            if not data:
                data["text/plain"] = ""
    widgets = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    for model in widgets.get("state", {}).values():
        state = model.get("state", {})
        if model.get("model_name") in _HTML_WIDGETS and isinstance(state.get("value"), str):
            state["value"] = sanitize_html(state["value"])
        for key in ("description", "tooltip", "placeholder"):
            if isinstance(state.get(key), str) and ("<" in state[key] or "&" in state[key]):
                state[key] = sanitize_html(state[key])
    return nb


# --------------------------------------------------------------------------- JavaScript packages


def ensure_node_modules() -> None:
    """Run `npm ci` when node_modules is missing or older than package-lock.json."""
    lock = ROOT / "package-lock.json"
    stamp = NODE_MODULES / ".package-lock.json"  # npm writes it on every install
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise BuildError(
            "make site needs Node.js and npm to install the pages' scripts (package-lock.json); "
            "install Node.js 18 or newer and run it again"
        )
    print("site: npm ci (package-lock.json) ...", flush=True)
    subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
    stamp.touch()


def _copy_tree(src: Path, dst: Path, keep=lambda rel: True) -> None:
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src).as_posix()
        if path.is_file() and keep(rel):
            target = dst / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _mathjax_file(rel: str) -> bool:
    """MathJax 2 with the TeX input and the CommonHTML output the pages configure, fonts as woff."""
    if rel in ("MathJax.js", "LICENSE", "config/TeX-AMS_CHTML-full.js", "config/Safe.js"):
        return True
    if rel.startswith("extensions/"):
        return not rel.startswith("extensions/a11y/")  # the accessibility explorer loads only from its menu
    if rel.startswith(("jax/input/TeX/", "jax/element/", "jax/output/CommonHTML/")):
        return True
    if rel.startswith(("jax/output/PreviewHTML/", "jax/output/NativeMML/", "jax/output/PlainSource/")):
        return True  # fast preview, and the light renderers the math menu may switch to
    return rel.startswith("fonts/HTML-CSS/TeX/woff/")


def copy_libraries(site: Path) -> None:
    lib = site / "lib"
    nm = NODE_MODULES
    lib.mkdir(parents=True, exist_ok=True)
    shutil.copy2(nm / "requirejs/require.js", lib / "require.js")
    shutil.copy2(nm / "jquery/dist/jquery.min.js", lib / "jquery.min.js")
    _copy_tree(nm / "mathjax", lib / "mathjax", _mathjax_file)
    # The widget manager and the Font Awesome files its CSS names (woff2/woff: what browsers pick).
    _copy_tree(
        nm / "@jupyter-widgets/html-manager/dist",
        lib / "html-manager",
        lambda rel: rel == "embed-amd.js" or rel.endswith((".woff2", ".woff")),
    )
    reveal = nm / "reveal.js"
    for rel in ("dist/reveal.js", "dist/reveal.css", "dist/reset.css", "plugin/notes/notes.js", "LICENSE"):
        target = lib / "reveal.js" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(reveal / rel, target)
    _copy_tree(
        reveal / "dist/theme",
        lib / "reveal.js/dist/theme",
        lambda rel: (
            rel == f"{REVEAL_THEME}.css" or (rel.startswith("fonts/source-sans-pro/") and not rel.endswith(".eot"))
        ),
    )
    for rel in ("jquery/LICENSE.txt", "requirejs/LICENSE", "@jupyter-widgets/html-manager/LICENSE"):
        if (nm / rel).exists():
            target = lib / "licenses" / rel.replace("/", "_")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(nm / rel, target)


# --------------------------------------------------------------------------- links between pages


def site_path_of(repo_path: str) -> str | None:
    """Where a repository file lives in the site, or None when the site has no page for it."""
    if repo_path.startswith("notebooks/") and repo_path.endswith(".ipynb"):
        return repo_path[: -len(".ipynb")] + ".html"
    if repo_path.endswith(".md") and (repo_path.startswith(("notebooks/", "docs/"))):
        return repo_path[: -len(".md")] + ".html"
    if repo_path.startswith("anim/"):
        return repo_path
    return None


_HREF = re.compile(r'(href|src)="([^"]*)"')


def rewrite_links(page_html: str, source_repo_path: str, page_site_path: str) -> str:
    """Point relative links at the site's pages: X.ipynb -> X.html, X.md -> X.html, resolved from
    where the link was written (the source file) to where the page now lives."""
    source_dir = posixpath.dirname(source_repo_path)
    page_dir = posixpath.dirname(page_site_path)

    def fix(match: re.Match) -> str:
        attr, url = match.group(1), html.unescape(match.group(2))
        if not url or url.startswith(("#", "/", "data:", "javascript:")) or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
            return match.group(0)
        path, sep, fragment = url.partition("#")
        if not path.endswith((".ipynb", ".md", ".gif", ".png", ".jpg", ".svg")):
            return match.group(0)
        target = site_path_of(posixpath.normpath(posixpath.join(source_dir, path)))
        if target is None:
            return match.group(0)
        new = posixpath.relpath(target, page_dir or ".") + sep + fragment
        return f'{attr}="{html.escape(new, quote=True)}"'

    return _HREF.sub(fix, page_html)


# --------------------------------------------------------------------------- notebooks


def read_notebook(path: Path):
    """The notebook at `path`, or a BuildError naming the file and what is wrong with it."""
    try:
        return nbformat.read(path, as_version=4)
    except OSError as error:
        raise BuildError(f"cannot read {path}: {error.strerror or error}") from None
    except Exception as error:  # truncated JSON, not a notebook, an unknown nbformat
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BuildError(f"{path} is not a readable notebook ({type(error).__name__}: {reason[:160]})") from None


def chapters() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def markdown_pages() -> list[Path]:
    pages = sorted((ROOT / "notebooks").glob("*.md"))
    guide = ROOT / "docs" / "lecturers_guide.md"
    return pages + ([guide] if guide.exists() else [])


def without_solutions(nb):
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])]
    return nb


def is_exercise(cell) -> bool:
    return cell.cell_type == "code" and EXERCISE_MARK in cell.source


def student_copy(nb):
    """Solution cells (and the Markdown that points at them, tagged the same) removed; the exercise
    cells' stored verdicts cleared, so the learner's own run is the first one they see."""
    nb = without_solutions(nb)
    for cell in nb.cells:
        if is_exercise(cell):
            cell.outputs = []
            cell.execution_count = None
    return nb


# --------------------------------------------------------------------------- decks that fit

# The deck is 1200x675 deck pixels (the template's layout: code 18 px on 1.3 lines, prose 23 px on 1.4).
# Before a chapter becomes a deck, every slide is measured in estimated deck pixels and one that would
# not fit is split at the source's own boundaries: between cells, between the paragraphs of a long
# Markdown cell, between a code cell and its output, and between the lines of a long printed output.
# The pieces become sub-slides that follow in reading order (the arrow keys walk them).
SLIDE_BUDGET = 610  # deck pixels a slide's content may take (the slide is 675 high; margins and slack)
CODE_LINE, CODE_CHARS = 24, 104  # px per line, characters per line before a long line wraps
PROSE_LINE, PROSE_CHARS = 33, 108
OUTPUT_PIECE = "deck-output-only"  # tag of a cell that shows only its outputs (the template skips its code)


def _slide_type(cell) -> str:
    return cell.metadata.get("slideshow", {}).get("slide_type", "-")


def _set_slide_type(cell, kind: str) -> None:
    cell.metadata.setdefault("slideshow", {})["slide_type"] = kind


def _wrapped_lines(text: str, width: int) -> int:
    return sum(max(1, -(-len(line) // width)) for line in text.split("\n"))


def _png_size(b64: str) -> tuple[int, int]:
    import base64
    import struct

    head = base64.b64decode(b64[:44])
    return struct.unpack(">II", head[16:24]) if head[12:16] == b"IHDR" else (800, 500)


def _markdown_height(text: str) -> int:
    height, in_math = 0, False
    for block in re.split(r"\n\s*\n", text.strip()):
        stripped = block.strip()
        if not stripped:
            continue
        if stripped.startswith("# "):
            height += 80
        elif stripped.startswith("## "):
            height += 66
        elif stripped.startswith("### "):
            height += 52
        elif stripped.startswith("$$") or in_math:
            height += 40 + 32 * stripped.count("\\\\") + (40 if "\\sum" in stripped or "\\frac" in stripped else 0)
        elif stripped.startswith("|"):
            height += 38 * stripped.count("\n") + 40
        elif stripped.startswith("```"):
            height += CODE_LINE * (stripped.count("\n") - 1) + 20
        else:
            height += PROSE_LINE * _wrapped_lines(re.sub(r"\]\([^)]*\)|[*`$]", "", stripped), PROSE_CHARS) + 14
        in_math = stripped.startswith("$$") and stripped.count("$$") == 1
    return height


_WIDGET_STATE: dict = {}  # the widget state of the notebook being fitted (set by fit_deck)


def _figure_height(png_b64: str) -> int:
    width, height = _png_size(png_b64)
    scale = min(max(1.0, 600 / max(width, 1)), 1200 / max(width, 1), 560 / max(height, 1))
    return int(height * scale * 1.1) + 12


def _widget_height(model_id: str, png_b64: str | None, depth: int = 0) -> int:
    """Estimated height of a stored widget: boxes stack (VBox) or sit side by side (HBox)."""
    model = _WIDGET_STATE.get(model_id.removeprefix("IPY_MODEL_"), {})
    name, state = model.get("model_name", ""), model.get("state", {})
    children = [c for c in state.get("children", []) if isinstance(c, str)]
    if children and depth < 8:
        heights = [_widget_height(child, png_b64, depth + 1) for child in children]
        return max(heights) if name == "HBoxModel" else sum(heights) + 4 * len(heights)
    if name == "ImageModel":
        return min(_figure_height(png_b64), 412) if png_b64 else 412  # the deck caps it at 400 px
    if name in ("HTMLModel", "HTMLMathModel", "OutputModel"):
        return 36 * max(1, str(state.get("value", "")).count("<br") + str(state.get("value", "")).count("<tr") + 1)
    return 40


def _output_height(output) -> int:
    data = output.get("data", {})
    if output.get("output_type") == "stream":
        return CODE_LINE * _wrapped_lines(output.get("text", "").rstrip("\n"), CODE_CHARS) + 8
    view = data.get("application/vnd.jupyter.widget-view+json")
    if view and view.get("model_id") in _WIDGET_STATE:  # the page draws the widget, not the static picture
        return _widget_height(view["model_id"], data.get("image/png")) + 12
    if "image/png" in data:
        return _figure_height(data["image/png"])
    if view:
        return 56
    if "text/html" in data:
        return 40 * max(1, str(data["text/html"]).count("<tr"))
    if "text/plain" in data:
        return CODE_LINE * _wrapped_lines(str(data["text/plain"]), CODE_CHARS) + 8
    return 0


def cell_height(cell) -> int:
    """Estimated height of a cell on a slide, in deck pixels (0 for notes and skipped cells)."""
    if _slide_type(cell) in ("notes", "skip"):
        return 0
    if cell.cell_type == "markdown":
        return _markdown_height(cell.source)
    if cell.cell_type != "code":
        return 0
    tags = cell.metadata.get("tags", [])
    height = CODE_LINE * _wrapped_lines(cell.source, CODE_CHARS) + 26
    if OUTPUT_PIECE in tags or not cell.source.strip():
        height = 0
    return height + sum(_output_height(output) for output in cell.get("outputs", []))


_PIECES = itertools.count(1)


def _new_cell_like(cell, **changes):
    piece = copy.deepcopy(cell)
    for key, value in changes.items():
        piece[key] = value
    if "id" in cell:
        piece["id"] = f"{cell['id']}-p{next(_PIECES)}"  # HTML ids stay unique
    return piece


def _split_cell(cell) -> list:
    """A cell too tall for one slide, as pieces that each fit (the first keeps the cell's slide type)."""
    if cell_height(cell) <= SLIDE_BUDGET:
        return [cell]
    pieces = []
    if cell.cell_type == "markdown":
        blocks, current = re.split(r"\n\s*\n", cell.source.strip()), []
        for block in blocks:
            candidate = "\n\n".join(current + [block])
            text = "\n\n".join(current)
            balanced = text.count("$$") % 2 == 0 and text.count("```") % 2 == 0
            if current and balanced and _markdown_height(candidate) > SLIDE_BUDGET:
                pieces.append(_new_cell_like(cell, source="\n\n".join(current)))
                current = [block]
            else:
                current.append(block)
        pieces.append(_new_cell_like(cell, source="\n\n".join(current)))
    elif cell.cell_type == "code":
        head = _new_cell_like(cell, outputs=[])
        pieces = [head] if cell.source.strip() and OUTPUT_PIECE not in cell.metadata.get("tags", []) else []
        group, used = [], 0
        for output in cell.get("outputs", []):
            parts = [output]
            if output.get("output_type") == "stream" and _output_height(output) > SLIDE_BUDGET:
                chunks, current, rows = [], [], 0
                for line in output["text"].rstrip("\n").split("\n"):
                    need = _wrapped_lines(line, CODE_CHARS)
                    if current and (rows + need) * CODE_LINE + 8 > SLIDE_BUDGET * 0.85:
                        chunks.append(current)
                        current, rows = [], 0
                    current.append(line)
                    rows += need
                chunks.append(current)
                parts = [nbformat.from_dict(dict(copy.deepcopy(output), text="\n".join(c) + "\n")) for c in chunks]
            for part in parts:
                height = _output_height(part)
                if group and used + height > SLIDE_BUDGET:
                    pieces.append(_output_piece(cell, group))
                    group, used = [], 0
                group.append(part)
                used += height
        if group:
            if pieces and pieces[-1] is head and cell_height(_new_cell_like(cell, outputs=group)) <= SLIDE_BUDGET:
                pieces[-1] = _new_cell_like(cell, outputs=group)
            else:
                pieces.append(_output_piece(cell, group))
    else:
        return [cell]
    for piece in pieces[1:]:
        _set_slide_type(piece, "subslide")
    return pieces


def _output_piece(cell, outputs):
    piece = _new_cell_like(cell, outputs=outputs)
    piece.metadata["tags"] = list(piece.metadata.get("tags", [])) + [OUTPUT_PIECE]
    return piece


# --------------------------------------------------------------------------- prose that fits

# A slide carries at most about PROSE_BUDGET characters of visible Markdown prose (headings, figures,
# code and outputs not counted). The notebook keeps all of its text, for the learner who reads it;
# the deck keeps the lead of an over-long slide: its heading, its first paragraphs up to the budget
# (lists and formulas whole where they fit, a paragraph cut only between sentences or list items),
# and the first sentences of the paragraph after the slide's code, which says what the code or figure
# shows. The rest moves, in order, into that slide's speaker notes, under MOVED_PROSE, where the
# speaker view and the handouts show it. A Summary or References slide continues on sub-slides instead:
# its list is what the audience reads. This runs before the slides are measured for height.
PROSE_BUDGET = 600  # visible characters of prose a slide keeps
PROSE_ATOMIC = 640  # a formula, table or glued lead-in may take a slide up to this, rather than move
MOVED_PROSE = "*On the slide in the notebook:*"
MOVED_TAG = "deck-moved-prose"  # tag of a speaker-notes cell holding prose moved off its slide
CONTINUED_SLIDES = re.compile(r"^#{1,3} +(Summary|References)\b", re.I)

_ABBREVIATION = re.compile(r"(^|[\s(])(?:[A-Z][a-z]?|[A-Z]\.-[A-Z]|e\.g|i\.e|cf|vs|al|Fig|Eq|Sec|no|pp?)\.$")
_SENTENCE_GAP = re.compile(r"[.!?][*_)\"'\u201d\u2019]*(\s+)(?=[A-Z(\[*`$\"\u201c])")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)]) ", re.M)


def prose_chars(markdown: str) -> int:
    """Characters of prose a reader sees in `markdown`, about as the page renders it: no headings,
    pictures, link targets, emphasis marks, table rules or list markers; whitespace counted once."""
    held = []  # code spans and inline math keep every character (a * or | in them is shown)

    def hold(match: re.Match) -> str:
        held.append(match.group(1))
        return "\x00" * len(match.group(1))

    text = re.sub(r"`([^`\n]*)`", hold, markdown)
    text = re.sub(r"(\$[^$\n]+\$)", hold, text)
    text = re.sub(r"^ {0,3}#{1,6} .*$", "", text, flags=re.M)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"^ *\|?[-:| ]+\|? *$", "", text, flags=re.M)
    text = re.sub(r"^ *(?:[-*+]|\d+[.)]) ", "", text, flags=re.M)
    text = re.sub(r"[*|`]", "", text)
    return len(" ".join(text.split()))


def _blocks(source: str) -> list[str]:
    """The Markdown blocks of a cell: split at blank lines, never inside a $$ formula or a ``` fence."""
    blocks, current = [], []
    for line in source.strip().split("\n"):
        text = "\n".join(current)
        if not line.strip() and text.count("$$") % 2 == 0 and text.count("```") % 2 == 0:
            if current:
                blocks.append(text)
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _block_kind(block: str) -> str:
    if re.match(r"^ {0,3}#{1,6} ", block):
        return "heading"
    if not re.sub(r"!\[[^\]]*\]\([^)]*\)", "", block).strip():
        return "figure"
    if block.startswith(("$$", "|", "```", "<")):
        return "atomic"
    if _LIST_ITEM.match(block):
        return "list"
    return "paragraph"


def _balanced(text: str) -> bool:
    """True when `text` can end a piece of Markdown: no emphasis, code, math, link or bracket left open."""
    text = re.sub(r"`[^`]*`", "", text)  # code spans and math may hold * [ ( of their own
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", "", text, flags=re.S)
    bold = text.count("**")
    return (
        "$" not in text
        and "`" not in text
        and bold % 2 == 0
        and (text.count("*") - 2 * bold) % 2 == 0
        and text.count("[") == text.count("]")
        and text.count("(") == text.count(")")
    )


def _units(block: str, kind: str) -> list[tuple[int, int]]:
    """Where `block` may be cut: sentences of a paragraph, top-level items of a list (start, end)."""
    if kind == "list":
        starts = [m.start() for m in _LIST_ITEM.finditer(block)]
        return [(s, e - 1 if e < len(block) else e) for s, e in itertools.pairwise([*starts, len(block)])]
    if kind != "paragraph":
        return [(0, len(block))]
    units, start = [], 0
    for gap in _SENTENCE_GAP.finditer(block):
        end = gap.start(1)
        if _ABBREVIATION.search(block[:end].rstrip("*_)\"'\u201d\u2019")) or not _balanced(block[:end]):
            continue
        units.append((start, end))
        start = gap.end(1)
    units.append((start, len(block)))
    return units


class _Unit:
    """A piece of a slide's prose that stays or moves as one: a sentence, a list item, a formula."""

    def __init__(self, cell: int, block: int, start: int, end: int, text: str, kind: str):
        self.cell, self.block, self.start, self.end, self.kind = cell, block, start, end, kind
        self.cost = 0 if kind in ("heading", "figure") else prose_chars(text)
        self.text = text
        self.glue = False  # stays or moves with the unit after it
        self.keep = kind in ("heading", "figure")
        self.page = 0


def _slides_of(cells) -> list[list[int]]:
    """Indices of `cells` grouped by slide (nbconvert's rule: 'slide' and 'subslide' open one)."""
    groups, started = [[]], False
    for i, cell in enumerate(cells):
        kind = _slide_type(cell)
        if started and kind in ("slide", "subslide"):
            groups.append([])
        started = started or kind not in ("notes", "skip")
        groups[-1].append(i)
    return [group for group in groups if group]


def _visible_markdown(cell) -> bool:
    return cell.cell_type == "markdown" and _slide_type(cell) not in ("notes", "skip")


def _split_at_headings(cells: list) -> list:
    """A slide's cells with every heading after its first visible block opening a sub-slide (a new
    heading is a new topic: its prose gets its own budget)."""
    out, seen = [], False
    for cell in cells:
        if not _visible_markdown(cell):
            out.append(cell)
            seen = seen or _slide_type(cell) not in ("notes", "skip")
            continue
        blocks = _blocks(cell.source)
        cuts = [j for j, block in enumerate(blocks) if j > 0 and _block_kind(block) == "heading"]
        opens = seen and bool(blocks) and _block_kind(blocks[0]) == "heading"
        if not cuts and not opens:
            out.append(cell)
        else:
            bounds = [0, *cuts, len(blocks)]
            for k, (a, b) in enumerate(itertools.pairwise(bounds)):
                piece = _new_cell_like(cell, source="\n\n".join(blocks[a:b])) if cuts else copy.deepcopy(cell)
                if k > 0 or opens:
                    _set_slide_type(piece, "subslide")
                out.append(piece)
        seen = True
    return out


def _choose(units: list[_Unit], used: int, budget: int, first: bool) -> int:
    """Keep `units` from the start while the slide's prose (`used` so far) stays within `budget`; a
    glued run counts as one, and a run holding a formula, table or list item may take the slide to
    PROSE_ATOMIC. With `first`, the first run is kept whatever its size. Returns the prose used."""
    i = 0
    while i < len(units):
        j = i
        while units[j].glue and j + 1 < len(units):
            j += 1
        run = units[i : j + 1]
        cost = sum(u.cost for u in run)
        atomic = len(run) > 1 or any(u.kind in ("atomic", "list") for u in run)
        if cost and not first and used + cost > (max(budget, PROSE_ATOMIC) if atomic else budget):
            break
        for unit in run:
            unit.keep = True
        used += cost
        first = first and not cost
        i = j + 1
    return used


def _trim_slide(cells: list, continued: bool = False) -> list:
    """One slide's cells with its prose cut to the budget (see PROSE_BUDGET); `continued`: the slide
    goes on from a Summary or References slide and continues on sub-slides like it."""
    units: list[_Unit] = []
    after_code, shows = False, None
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and _slide_type(cell) not in ("notes", "skip") and cell.get("outputs"):
            after_code = True
        if not _visible_markdown(cell):
            continue
        for b, block in enumerate(_blocks(cell.source)):
            kind = _block_kind(block)
            if after_code and shows is None and kind in ("paragraph", "list"):
                shows = len(units)
            for start, end in _units(block, kind):
                units.append(_Unit(i, b, start, end, block[start:end], kind))
    if sum(u.cost for u in units) <= PROSE_BUDGET:
        return cells
    for unit, after in itertools.pairwise(units):
        text = unit.text.strip()
        run_in = re.fullmatch(r"\*\*[^*]+\*\*", text) is not None  # "**Learning goals.**" leads into what follows
        continues = unit.kind == "atomic" and after.kind == "paragraph" and after.text[:1].islower()
        unit.glue = bool(after.cost) and after.cell == unit.cell and (text.endswith(":") or run_in or continues)

    prose = [k for k, u in enumerate(units) if u.cost]
    if continued:  # everything stays, on as few sub-slides as hold it, about equally full

        def paginate(share: int) -> int:
            page, used = 0, 0
            for unit in units:
                if unit.cost and used and used + unit.cost > share:
                    page, used = page + 1, 0
                unit.page, unit.keep, used = page, True, used + unit.cost
            return page + 1

        fewest = paginate(PROSE_BUDGET)
        total = sum(u.cost for u in units)
        share = -(-total // fewest)
        while share < PROSE_BUDGET and paginate(share) > fewest:
            share += 10
        if share >= PROSE_BUDGET:
            paginate(PROSE_BUDGET)
        return _rebuild(cells, units)
    used = _choose([units[k] for k in prose], 0, PROSE_BUDGET, first=True)
    if shows is not None and not units[shows].keep:
        # keep room for the start of what the code shows: the lead gets the budget less that
        end = shows
        while units[end].glue and end + 1 < len(units):
            end += 1
        reserve = sum(u.cost for u in units[shows : end + 1])
        for k in prose:
            units[k].keep = False
        used = _choose([units[k] for k in prose if k < shows], 0, PROSE_BUDGET - reserve, first=True)
        _choose([units[k] for k in prose if k >= shows], used, PROSE_BUDGET, first=False)
    else:
        # A list, formula or table that does not fit goes on, with what follows it, on a sub-slide of
        # its own (trimmed the same way) rather than into the notes: it is what the audience reads.
        page = 0
        while True:
            cut = next((k for k in prose if not units[k].keep), None)
            if cut is None or not any(u.kind in ("list", "atomic") for u in units[cut : _run_end(units, cut) + 1]):
                break
            page += 1
            for unit in units[cut:]:
                unit.page = page
            _choose([units[k] for k in prose if k >= cut], 0, PROSE_BUDGET, first=True)
    for before, unit in itertools.pairwise(units):
        if not unit.cost:
            unit.page = before.page  # a heading or figure stays with the prose before it
    return _rebuild(cells, units)


def _run_end(units: list[_Unit], start: int) -> int:
    end = start
    while units[end].glue and end + 1 < len(units):
        end += 1
    return end


def _rebuild(cells: list, units: list[_Unit]) -> list:
    """The slide's cells with each Markdown cell cut into runs: kept runs stay visible (a run on a later
    page opens a sub-slide), moved runs become speaker-notes cells right where their text was."""
    out, page = [], 0
    for i, cell in enumerate(cells):
        own = [u for u in units if u.cell == i]
        if not own or all(u.keep and u.page == page for u in own):
            out.append(cell)
            continue
        blocks = _blocks(cell.source)
        runs: list[list] = []  # [keep, page, [(block, start, end), ...]]
        for unit in own:
            if not runs or (runs[-1][0], runs[-1][1]) != (unit.keep, unit.page):
                runs.append([unit.keep, unit.page, []])
            spans = runs[-1][2]
            if spans and spans[-1][0] == unit.block:
                spans[-1] = (unit.block, spans[-1][1], unit.end)
            else:
                spans.append((unit.block, unit.start, unit.end))
        shown = False
        for keep, run_page, spans in runs:
            source = "\n\n".join(blocks[b][s:e].strip() for b, s, e in spans)
            if keep:
                piece = _new_cell_like(cell, source=source)
                if run_page != page:
                    _set_slide_type(piece, "subslide")
                elif shown:
                    _set_slide_type(piece, "-")
                shown, page = True, run_page
            else:
                piece = _new_cell_like(cell, source=f"{MOVED_PROSE}\n\n{source}")
                _set_slide_type(piece, "notes")
                piece.metadata["tags"] = [MOVED_TAG]
                piece.metadata.pop("alt", None)
            out.append(piece)
    return out


def trim_prose(cells: list) -> list:
    """The deck's cells with every slide's visible prose cut to PROSE_BUDGET (see above)."""
    out, continued = [], False
    for group in _slides_of(cells):
        slide = [cells[i] for i in group]
        first = next((c.source.lstrip() for c in slide if _visible_markdown(c)), "")
        if first.startswith("#"):  # a slide with its own heading; one without goes on from the last
            continued = CONTINUED_SLIDES.match(first) is not None
        if sum(prose_chars(c.source) for c in slide if _visible_markdown(c)) <= PROSE_BUDGET:
            out += slide
            continue
        split = _split_at_headings(slide)
        for part in _slides_of(split):
            out += _trim_slide([split[i] for i in part], continued)
    return out


def fit_deck(nb):
    """The deck's notebook with each slide's prose cut to the budget (the rest in its speaker notes) and
    every slide that would still overflow split into sub-slides (see above)."""
    nb = copy.deepcopy(nb)
    nb.cells = trim_prose(nb.cells)
    _WIDGET_STATE.clear()
    _WIDGET_STATE.update(
        nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    )
    cells, used, started = [], 0, False
    for cell in nb.cells:
        kind = _slide_type(cell)
        for piece in _split_cell(cell):
            kind = _slide_type(piece)
            height = cell_height(piece)
            if kind in ("slide", "subslide") or not started:
                used = 0
            elif height and used + height > SLIDE_BUDGET and used > 0:
                _set_slide_type(piece, "subslide")
                used = 0
            if kind not in ("notes", "skip"):
                started = True
            used += height
            cells.append(piece)
    nb.cells = cells
    return nb


def expected_slide_count(nb) -> int:
    """Vertical slides of the deck, per nbconvert's rules: the first visible cell opens a slide, then
    every 'slide' or 'subslide' cell opens one."""
    types = [cell.metadata.get("slideshow", {}).get("slide_type", "-") for cell in nb.cells]
    visible = [i for i, kind in enumerate(types) if kind not in ("notes", "skip")]
    if not visible:
        return 0
    return 1 + sum(kind in ("slide", "subslide") for kind in types[visible[0] + 1 :])


def chapter_title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "Untitled"


def learning_goals(nb) -> list[str]:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "Learning goals" in cell.source:
            text = cell.source.split("Learning goals", 1)[1]
            goals, current = [], None
            for line in text.splitlines():
                if line.startswith("- "):
                    current = line[2:].strip()
                    goals.append(current)
                elif current is not None and line.startswith("  ") and line.strip():
                    goals[-1] += " " + line.strip()
                elif goals and not line.strip():
                    break
            return goals
    return []


def _urls(depth: int) -> dict[str, str]:
    prefix = "../" * depth
    return {key: prefix + value for key, value in LIB.items()}


@functools.cache
def _exporter(kind: str, depth: int):
    """One exporter per kind and folder depth and process: its templates compile once."""
    from nbconvert import HTMLExporter, SlidesExporter
    from traitlets.config import Config

    urls = _urls(depth)
    config = Config()
    for cls in ("HTMLExporter", "SlidesExporter"):
        config[cls].require_js_url = urls["require_js_url"]
        config[cls].jquery_url = urls["jquery_url"]
        config[cls].mathjax_url = urls["mathjax_url"]
        config[cls].widget_renderer_url = urls["widget_renderer_url"]
        config[cls].extra_template_basedirs = [str(TEMPLATES)]
    # Markdown cells, text/html and text/markdown outputs go through `clean_html`, which is nh3 here
    # (registered below); JavaScript outputs are not written at all.
    config.HTMLExporter.sanitize_html = True
    if kind == "slides":
        config.SlidesExporter.reveal_url_prefix = urls["reveal_url_prefix"]
        config.SlidesExporter.reveal_theme = REVEAL_THEME
        config.SlidesExporter.reveal_transition = "none"
        config.SlidesExporter.reveal_number = "c/t"
        config.SlidesExporter.reveal_width = "1200"  # the template sets the same size (and the layout)
        config.SlidesExporter.reveal_height = "675"
        exporter = SlidesExporter(config=config, template_name="course_reveal")
    else:
        exporter = HTMLExporter(config=config, template_name="course_lab")
    exporter.register_filter("clean_html", sanitize_html)
    return exporter


def _nav(page_site_path: str, items: list[tuple[str, str]]) -> str:
    page_dir = posixpath.dirname(page_site_path)
    links = []
    for label, target in items:
        href = posixpath.relpath(target, page_dir or ".")
        plain = f'<a href="{html.escape(href)}">{html.escape(label)}</a>'
        links.append(_download(label, href) if target.endswith(".ipynb") else plain)
    return "".join(links)


def _write_page(out: Path, body: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")


def build_chapter(args) -> tuple[str, str, int]:
    """Page and deck of one chapter (runs in a worker process)."""
    path, site, nav_items = args
    name = path.stem
    nb = sanitize_notebook(read_notebook(path))
    title = chapter_title(nb)
    nb.metadata["title"] = title
    repo_path = f"notebooks/{path.name}"

    page_path = f"notebooks/{name}.html"
    resources = {"metadata": {"name": name}, "site_nav": _nav(page_path, nav_items)}
    body, _ = _exporter("page", 1).from_notebook_node(nb, resources=resources)
    _write_page(Path(site) / page_path, rewrite_links(body, repo_path, page_path))

    deck = fit_deck(without_solutions(nb))
    deck_path = f"slides/{name}.slides.html"
    body, _ = _exporter("slides", 1).from_notebook_node(deck, resources={"metadata": {"name": name}})
    _write_page(Path(site) / deck_path, rewrite_links(body, repo_path, deck_path))
    return name, title, expected_slide_count(deck)


def markdown_notebook(text: str, title: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    nb.metadata["title"] = title
    return nb


def build_markdown(args) -> str:
    path, site, nav_items = args
    repo_path = path.relative_to(ROOT).as_posix()
    page_path = site_path_of(repo_path)
    text = path.read_text(encoding="utf-8")
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
    resources = {"metadata": {"name": path.stem}, "site_nav": _nav(page_path, nav_items)}
    body, _ = _exporter("page", page_path.count("/")).from_notebook_node(
        markdown_notebook(text, title), resources=resources
    )
    _write_page(Path(site) / page_path, rewrite_links(body, repo_path, page_path))
    return page_path


PAGE_LABELS = {
    "docs/lecturers_guide.html": "Lecturer's guide: durations, key points, misconceptions, presenting offline",
    "notebooks/sources_and_errata.html": "Sources and errata: claims taken from sources, and what the checks found",
}


def _download(label: str, href: str) -> str:
    """A link that downloads its file (a notebook would otherwise open as raw JSON in the browser)."""
    name = posixpath.basename(href)
    return f'<a href="{html.escape(href)}" download="{html.escape(name)}">{html.escape(label)}</a>'


def handout_name(chapter: str) -> str:
    return f"handouts/{chapter[:2]}.pdf"


def build_index(site: Path, entries: list[dict], pages: list[str], handouts: bool = True) -> None:
    """The front page: the guide and the decks first (what a lecturer opens), then each chapter."""
    guide = "docs/lecturers_guide.html"
    lines = [
        "# Dilated convolutions, from scratch to real networks",
        "",
        "An open course on dilated (atrous) convolutions: why they grow the receptive field without",
        "losing resolution or adding parameters, how to compute them from scratch, how PyTorch and Keras",
        "spell them, what goes wrong (the gridding problem), how to fix it, and where they live in real",
        "networks (ASPP, WaveNet, dilated backbones, the TCN). Every claim is checked in code.",
        "",
        "## Teach it",
        "",
    ]
    if guide in pages:
        lines.append(
            f"- [Lecturer's guide]({guide}): how long each chapter takes, what to stress, the keys that drive "
            "the slides (→ or Space, S for speaker notes, O, F, G, ?, B)."
        )
    lines.append("- Slides, one deck per chapter (each links back here and has a menu of its sections, key M):")
    lines.append("")
    for entry in entries:
        count = f"{entry['slides']} slide" + ("s" if entry["slides"] != 1 else "")
        handout = f" · [handout PDF]({handout_name(entry['name'])})" if handouts else ""
        lines.append(f"    - [{html.escape(entry['title'])}](slides/{entry['name']}.slides.html) ({count}){handout}")
    lines += [
        "",
        f"- Student copies: {_download('all chapters as one zip', 'student.zip')}, the chapters without "
        "worked solutions, the GIFs and a short read-me. Unzip it inside the course folder and open it "
        "with `make lab`.",
        "",
        "## Chapters",
        "",
    ]
    for entry in entries:
        lines.append(f"### {html.escape(entry['title'])}")
        lines.append("")
        if entry["goals"]:
            lines.append("After this chapter you can:")
            lines.append("")
            lines += [f"- {html.escape(goal, quote=False)}" for goal in entry["goals"]]
            lines.append("")
        student = f"student/{STUDENT_DIR}/notebooks/{entry['name']}.ipynb"
        lines.append(
            f"[Read the chapter](notebooks/{entry['name']}.html) · "
            f"[Slides](slides/{entry['name']}.slides.html) · " + _download("Student copy (.ipynb)", student)
        )
        lines.append("")
    lines += ["## More", ""]
    for page in pages:
        if page == guide:
            continue
        label = PAGE_LABELS.get(page, Path(page).stem.replace("_", " ").capitalize())
        lines.append(f"- [{label}]({page})")
    lines.append("")
    nb = markdown_notebook("\n".join(lines), "Dilated convolutions: a course")
    body, _ = _exporter("page", 0).from_notebook_node(nb, resources={"metadata": {"name": "index"}})
    _write_page(site / "index.html", body)


# --------------------------------------------------------------------------- handouts

CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
HANDOUT_NOTES_MIN = 140  # deck pixels below each slide for its speaker notes (more when a note needs it)


def handouts_unavailable() -> str | None:
    """Why the handouts cannot be printed here (no Chromium, no Playwright), or None."""
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed"
    return None


_HANDOUT_LAYOUT = """(minNotes) => {
    // Each printed page: the slide on top, its speaker notes below, "n / N" at the bottom right.
    const pages = [...document.querySelectorAll('.pdf-page')];
    const slideH = Reveal.getConfig().height, slideW = Reveal.getConfig().width;
    let notesH = minNotes;
    for (const page of pages) {
        const notes = page.querySelector('.speaker-notes-pdf');
        if (notes) {
            notes.style.cssText = 'position:absolute;left:0;top:' + slideH + 'px;width:' + slideW + 'px;' +
                'height:auto;padding:12px 36px;box-sizing:border-box;font-size:19px;line-height:1.35;' +
                'border-top:2px solid #666;background:#fff;color:#222;text-align:left';
            notesH = Math.max(notesH, notes.scrollHeight + 8);
        }
    }
    const total = pages.length;
    pages.forEach((page, i) => {
        page.style.height = (slideH + notesH) + 'px';
        page.style.width = slideW + 'px';
        const section = page.querySelector(':scope > section');
        if (section) { section.style.top = '0px'; section.style.left = '0px'; }
        let number = page.querySelector('.slide-number-pdf');
        if (!number) {
            number = document.createElement('div');
            number.className = 'slide-number-pdf';
            page.appendChild(number);
        }
        number.textContent = (i + 1) + ' / ' + total;
        number.style.cssText =
            'position:absolute;right:12px;bottom:8px;font:16px sans-serif;color:#222;background:#fff';
    });
    const style = document.createElement('style');
    style.textContent = '@page { size: ' + slideW + 'px ' + (slideH + notesH) + 'px; margin: 0; }';
    document.head.appendChild(style);
    return {pages: total, width: slideW, height: slideH + notesH};
}"""


_MATH_DONE = "() => new Promise(done => (window.MathJax && MathJax.Hub) ? MathJax.Hub.Queue(() => done(1)) : done(0))"


def build_handouts(site: Path, decks: list[str], browser=None, timeout_ms: int = 60_000) -> dict[str, int]:
    """One PDF per deck in site/handouts/: every slide on its own page with its speaker notes below it,
    printed by the system Chromium through Playwright from the deck's print view, offline (every
    request that is not a file of the site is refused). `browser`: a Playwright Chromium already
    running (the tests pass theirs); by default one is started. Returns the page count of each PDF."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
            own = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            try:
                return build_handouts(site, decks, own, timeout_ms)
            finally:
                own.close()
    out = site / "handouts"
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        context.route(re.compile(r"^(?!file:)"), lambda route: route.abort())  # offline: files of the site only
        page = context.new_page()
        for name in decks:
            deck = site / "slides" / f"{name}.slides.html"
            page.goto(deck.as_uri() + "?print-pdf", wait_until="load", timeout=timeout_ms)
            page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=timeout_ms)
            page.wait_for_function("() => document.querySelectorAll('.pdf-page').length > 0", timeout=timeout_ms)
            page.evaluate(_MATH_DONE)
            layout = page.evaluate(_HANDOUT_LAYOUT, HANDOUT_NOTES_MIN)
            page.pdf(
                path=str(site / handout_name(name)),
                width=f"{layout['width']}px",
                height=f"{layout['height']}px",
                print_background=True,
                prefer_css_page_size=True,
            )
            counts[name] = layout["pages"]
    finally:
        context.close()
    return counts


STUDENT_README = """Student copies of the course "Dilated convolutions, from scratch to real networks"

These notebooks are the chapters without their worked solutions: write each exercise yourself and
run its cell; the checker under it says PASS or NOT YET and names the first case that fails.

They need the course's environment (course_utils and the pinned packages). Unzip this folder
inside the course folder (the one with the Makefile), then run `make lab` there and open
{folder}/notebooks/ in JupyterLab's file browser.
"""


def build_student(site: Path) -> None:
    base = site / "student" / STUDENT_DIR
    (base / "notebooks").mkdir(parents=True, exist_ok=True)
    for path in chapters():
        nb = student_copy(read_notebook(path))
        nbformat.write(nb, base / "notebooks" / path.name)
    for page in sorted((ROOT / "notebooks").glob("*.md")):
        shutil.copy2(page, base / "notebooks" / page.name)
    shutil.copytree(ROOT / "anim", base / "anim", dirs_exist_ok=True)
    (base / "README.txt").write_text(STUDENT_README.format(folder=STUDENT_DIR), encoding="utf-8")
    with zipfile.ZipFile(site / "student.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(base.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(site / "student").as_posix())


def build(site: Path, workers: int = 2, handouts: bool = True, browser=None) -> dict:
    """Build the whole site into `site` (replaced if an earlier build made it). Returns what was built.

    Everything is written into a fresh temporary folder beside `site`, which replaces `site` only
    when complete; on any error (a broken notebook, a full disk, Ctrl-C) it is removed and `site`
    is left as it was."""
    start = time.perf_counter()
    site = site.resolve()
    check_output_dir(site)
    ensure_node_modules()
    site.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{site.name}.tmp-", dir=site.parent))
    try:
        report = _build_into(tmp, workers, handouts, browser)
        (tmp / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        check_output_dir(site)  # still ours (nothing appeared there meanwhile)
        old = None
        if site.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{site.name}.old-", dir=site.parent))
            site.rename(old / "site")
        tmp.rename(site)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    return {**report, "bytes": size, "seconds": time.perf_counter() - start}


def _build_into(tmp: Path, workers: int, handouts: bool = True, browser=None) -> dict:

    copy_libraries(tmp)
    shutil.copytree(ROOT / "anim", tmp / "anim", ignore=shutil.ignore_patterns("*.tmp"))
    md = markdown_pages()
    md_site = [site_path_of(p.relative_to(ROOT).as_posix()) for p in md]

    common = [("Course home", "index.html")]
    for path, target in zip(md, md_site, strict=True):
        if path.name == "sources_and_errata.md":
            common.append(("Sources and errata", target))
    if (ROOT / "docs/lecturers_guide.md").exists():
        common.append(("Lecturer's guide", "docs/lecturers_guide.html"))

    names = [p.stem for p in chapters()]
    chapter_jobs = []
    for i, path in enumerate(chapters()):
        items = list(common[:1])
        if i > 0:
            items.append(("← previous chapter", f"notebooks/{names[i - 1]}.html"))
        if i + 1 < len(names):
            items.append(("next chapter →", f"notebooks/{names[i + 1]}.html"))
        items += [
            ("Slides", f"slides/{path.stem}.slides.html"),
            ("Student copy", f"student/{STUDENT_DIR}/notebooks/{path.name}"),
        ] + common[1:]
        chapter_jobs.append((path, str(tmp), items))
    md_jobs = [(path, str(tmp), common) for path in md]

    if workers > 1:
        import nbconvert  # noqa: F401  (imported once here, shared by the forked workers)

        with ProcessPoolExecutor(max_workers=workers) as pool:
            md_done = pool.map(build_markdown, md_jobs)
            built = list(pool.map(build_chapter, chapter_jobs))
            md_done = list(md_done)
    else:
        md_done = [build_markdown(job) for job in md_jobs]
        built = [build_chapter(job) for job in chapter_jobs]

    entries = []
    for path, (name, title, slides) in zip(chapters(), built, strict=True):
        entries.append({"name": name, "title": title, "slides": slides, "goals": learning_goals(read_notebook(path))})
    skipped = (handouts_unavailable() if browser is None else None) if handouts else "not asked for"
    build_index(tmp, entries, md_done, handouts=skipped is None)
    build_student(tmp)
    report = {"chapters": entries, "pages": md_done, "handouts": {}, "handouts_skipped": skipped}
    if skipped is None:
        report["handouts"] = build_handouts(tmp, [entry["name"] for entry in entries], browser)
    return report


def main(argv: list[str]) -> int:
    site = Path(argv[0]) if argv else ROOT / "site"
    try:
        report = build(site, workers=min(2, os.cpu_count() or 1))
    except BuildError as error:
        print(f"site: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a full disk, a folder without write permission: the cause and the file
        where = f" ({error.filename})" if error.filename else ""
        print(f"site: cannot write the site: {error.strerror or error}{where}; nothing was changed", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"site: {' '.join(map(str, error.cmd))} failed with exit status {error.returncode}", file=sys.stderr)
        return 1
    slides = ", ".join(f"{entry['name'][:2]}: {entry['slides']}" for entry in report["chapters"])
    if report["handouts_skipped"]:
        print(f"site: handouts not printed ({report['handouts_skipped']})", file=sys.stderr)
    print(
        f"site: {len(report['chapters'])} chapters, {len(report['pages'])} Markdown pages, slides ({slides}), "
        f"{report['bytes'] / 1e6:.1f} MB in {report['seconds']:.1f} s -> open {site}/index.html"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
