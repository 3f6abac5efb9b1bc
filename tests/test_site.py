"""The static site (`make site`), checked in a real browser, and the student copies, run.

The browser tests drive the system Chromium through Playwright (never a downloaded browser) and open
every page and deck from disk with every request that is not file:// aborted and counted. They skip
with a one-line reason where Chromium, Playwright or Node.js is missing; the student-copy tests need
neither and always run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
WAIT_MS = 30_000  # an upper bound for MathJax and the widget manager on a busy machine, not a speed test


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_site", module)
    spec.loader.exec_module(module)
    return module


build_site = _load_builder()
CHAPTERS = build_site.chapters()
MARKDOWN = build_site.markdown_pages()


def _node_missing() -> str | None:
    lock = ROOT / "package-lock.json"
    stamp = ROOT / "node_modules" / ".package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return None
    if shutil.which("npm") is None or shutil.which("node") is None:
        return "Node.js/npm not found: the site's scripts cannot be installed"
    return None


# --------------------------------------------------------------------------- what the sources say


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def _without_solutions(nb):
    return [cell for cell in nb.cells if "solution" not in _tags(cell)]


def _slide_count(cells) -> int:
    """nbconvert's rule, written out independently: the first cell that is neither notes nor skip
    opens a slide, then every later 'slide' or 'subslide' cell opens one."""
    kinds = [cell.metadata.get("slideshow", {}).get("slide_type", "-") for cell in cells]
    first = next(i for i, kind in enumerate(kinds) if kind not in ("notes", "skip"))
    return 1 + sum(kind in ("slide", "subslide") for kind in kinds[first + 1 :])


_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
_MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$[^$\s][^$\n]*?\$", re.S)


def _has_math(markdown_texts) -> bool:
    return any(_MATH.search(_CODE.sub("", text)) for text in markdown_texts)


def _stored_views(nb, cells=None) -> int:
    """Widget outputs (of `cells`, default all) whose model is in the notebook's stored widget state."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    count = 0
    for cell in nb.cells if cells is None else cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view and view.get("model_id") in state:
                count += 1
    return count


def _page_cases():
    cases = [("index.html", False, 0)]
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        md = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
        cases.append((f"notebooks/{path.stem}.html", _has_math(md), _stored_views(nb)))
    for path in MARKDOWN:
        site_path = build_site.site_path_of(path.relative_to(ROOT).as_posix())
        cases.append((site_path, _has_math([path.read_text(encoding="utf-8")]), 0))
    return cases


def _deck_cases():
    cases = []
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        cells = _without_solutions(nb)
        visible = [c for c in cells if c.metadata.get("slideshow", {}).get("slide_type", "-") not in ("skip", "notes")]
        md = [c.source for c in visible if c.cell_type == "markdown"]
        views = _stored_views(nb, visible)
        cases.append((f"slides/{path.stem}.slides.html", _has_math(md), views, _slide_count(cells)))
    return cases


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    reason = _node_missing()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("site") / "site"
    build_site.build(out, workers=1)
    return out


class Visit:
    """One page opened from disk, offline: what it requested, what went wrong."""

    def __init__(self, browser, url: str):
        self.network, self.page_errors, self.failed, self.console_errors = [], [], [], []
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("requestfailed", lambda request: self.failed.append(f"{request.url}: {request.failure}"))
        self.page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        self.page.goto(url, wait_until="load")

    def _route(self, route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.network.append(route.request.url)
            route.abort()

    def wait_for_math(self) -> None:
        self.page.wait_for_function("() => window.MathJax && MathJax.Hub", timeout=WAIT_MS)
        self.page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")

    def math_report(self) -> dict:
        return self.page.evaluate(
            """() => {
                const typeset = document.querySelectorAll('.MathJax_CHTML, .mjx-chtml').length;
                const raw = [];
                for (const el of document.querySelectorAll('.jp-RenderedMarkdown, .jp-MarkdownOutput')) {
                    const copy = el.cloneNode(true);
                    copy.querySelectorAll('code, pre, script, .MathJax_CHTML, .mjx-chtml, .MJX_Assistive_MathML')
                        .forEach(node => node.remove());
                    const text = copy.textContent;
                    if (text.includes('$$')) raw.push(text.slice(text.indexOf('$$'), text.indexOf('$$') + 40));
                    const inline = text.match(/\\$[^$\\s][^$\\n]*?\\$/);
                    if (inline) raw.push(inline[0].slice(0, 40));
                }
                return {typeset, raw};
            }"""
        )

    def broken_images(self) -> list[str]:
        self.page.wait_for_function("() => [...document.images].every(img => img.complete)", timeout=WAIT_MS)
        return self.page.evaluate("() => [...document.images].filter(i => !(i.naturalWidth > 0)).map(i => i.src)")

    def rendered_views(self, expected: int) -> int:
        """Views the html-manager drew: a widget-subarea holding widget DOM before each view script."""
        count = """() => [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
            .filter(s => { const area = s.previousElementSibling;
                           return area && area.classList.contains('widget-subarea')
                                  && area.querySelector('.jupyter-widgets') !== null; }).length"""
        try:
            self.page.wait_for_function(f"() => ({count})() >= {expected}", timeout=WAIT_MS)
        except Exception:  # report the count below rather than a bare timeout
            pass
        return self.page.evaluate(f"({count})()")

    def close(self) -> None:
        self.context.close()


def _check_clean(visit: Visit, has_math: bool, views: int) -> None:
    images = visit.broken_images()
    if has_math:
        visit.wait_for_math()
    drawn = visit.rendered_views(views) if views else 0
    math = visit.math_report()
    assert visit.network == [], f"requests off disk: {visit.network}"
    assert visit.page_errors == [], visit.page_errors
    assert visit.failed == [], visit.failed
    assert visit.console_errors == [], visit.console_errors
    assert images == [], f"broken images: {images}"
    if has_math:
        assert math["typeset"] > 0, "the Markdown has math but MathJax typeset none"
        assert math["raw"] == [], f"raw TeX left in the page: {math['raw']}"
    assert drawn == views, f"{drawn} of {views} stored widget views rendered"


# --------------------------------------------------------------------------- the site


def test_links_are_rewritten_from_where_they_were_written():
    page = (
        '<a href="02_numpy_from_scratch.ipynb#3-two-dimensions">x</a> <a href="sources_and_errata.md">x</a> '
        '<img src="../anim/dilation_2.gif"> <a href="https://example.org/a.md">x</a> <a href="#top">x</a>'
    )
    deck = build_site.rewrite_links(page, "notebooks/01_standard_vs_atrous.ipynb", "slides/01.slides.html")
    assert 'href="../notebooks/02_numpy_from_scratch.html#3-two-dimensions"' in deck
    assert 'href="../notebooks/sources_and_errata.html"' in deck
    assert 'src="../anim/dilation_2.gif"' in deck
    assert 'href="https://example.org/a.md"' in deck and 'href="#top"' in deck
    chapter = build_site.rewrite_links(page, "notebooks/01_standard_vs_atrous.ipynb", "notebooks/01.html")
    assert 'href="02_numpy_from_scratch.html#3-two-dimensions"' in chapter
    guide = build_site.rewrite_links(
        '<a href="../notebooks/05_fibonacci_fix.ipynb">x</a>', "docs/lecturers_guide.md", "docs/lecturers_guide.html"
    )
    assert guide == '<a href="../notebooks/05_fibonacci_fix.html">x</a>'


def test_missing_node_is_one_line(monkeypatch, tmp_path, capsys):
    """Without Node.js (and no installed scripts) the build stops with one line that says why."""
    monkeypatch.setattr(build_site, "NODE_MODULES", tmp_path / "node_modules")
    monkeypatch.setattr(build_site.shutil, "which", lambda name: None)
    assert build_site.main([str(tmp_path / "site")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "Node.js" in err
    assert not (tmp_path / "site").exists()


def test_site_layout_size_and_local_references(site):
    expected = ["index.html", "student.zip", "lib/require.js", "lib/jquery.min.js", "lib/mathjax/MathJax.js"]
    expected += [f"notebooks/{p.stem}.html" for p in CHAPTERS] + [f"slides/{p.stem}.slides.html" for p in CHAPTERS]
    expected += [build_site.site_path_of(p.relative_to(ROOT).as_posix()) for p in MARKDOWN]
    assert [rel for rel in expected if not (site / rel).is_file()] == []
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    lib = sum(p.stat().st_size for p in (site / "lib").rglob("*") if p.is_file())
    assert size <= 25e6, f"site is {size / 1e6:.1f} MB"
    assert lib <= 11e6, f"lib/ is {lib / 1e6:.1f} MB"
    remote = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(?:https?:)?//', re.I)
    for page in site.rglob("*.html"):
        if "lib" not in page.relative_to(site).parts:
            assert not remote.search(page.read_text(encoding="utf-8")), f"{page.name} references a remote file"


def test_links_point_at_site_pages(site):
    """Every relative link of every page resolves to a file of the site (.ipynb/.md rewritten)."""
    link = re.compile(r'<a\b[^>]*\bhref="([^"#:]+)(?:#[^"]*)?"')
    missing = []
    for page in site.rglob("*.html"):
        if "lib" in page.relative_to(site).parts:
            continue
        for target in link.findall(page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                missing.append(f"{page.relative_to(site)} -> {target}")
    assert missing == []


@pytest.mark.parametrize(("page", "has_math", "views"), _page_cases(), ids=lambda v: str(v))
def test_page_offline_in_browser(browser, site, page, has_math, views):
    visit = Visit(browser, (site / page).as_uri())
    try:
        _check_clean(visit, has_math, views)
    finally:
        visit.close()


@pytest.mark.parametrize(("deck", "has_math", "views", "slides"), _deck_cases(), ids=lambda v: str(v))
def test_deck_offline_in_browser(browser, site, deck, has_math, views, slides):
    visit = Visit(browser, (site / deck).as_uri())
    try:
        visit.page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=WAIT_MS)
        _check_clean(visit, has_math, views)
        assert visit.page.evaluate("() => Reveal.getTotalSlides()") == slides
        if slides > 1:
            at = "() => {{ const i = Reveal.getIndices(); return i.h === {h} && i.v === {v}; }}"
            # the arrow keys walk the slides in reading order: down a section's sub-slides first
            before = visit.page.evaluate("() => Reveal.getIndices()")
            down = visit.page.evaluate("() => Reveal.availableRoutes().down")
            expected = (before["h"], before["v"] + 1) if down else (before["h"] + 1, 0)
            for key, back in (("ArrowRight", "ArrowLeft"), ("Space", "Shift+Space")):
                visit.page.keyboard.press(key)
                visit.page.wait_for_function(f"() => !({at.format(**before)})()", timeout=WAIT_MS)
                after = visit.page.evaluate("() => Reveal.getIndices()")
                assert (after["h"], after["v"]) == expected, f"{key} went to {after}, not {expected}"
                visit.page.keyboard.press(back)
                visit.page.wait_for_function(at.format(**before), timeout=WAIT_MS)
        # a screen larger than the scaled deck: no box sized in viewport units may outgrow the slide area
        visit.page.set_viewport_size({"width": 1920, "height": 1200})
        cut = [s for s in visit.page.evaluate(_WALK_SLIDES) if not _reachable(s)]
        assert cut == [], f"slides cut off at the bottom of the {cut[0]['area']} px slide area: {cut}"
    finally:
        visit.close()


# Every slide of the deck in one pass: go to it, measure its section in the deck's own pixels.
_WALK_SLIDES = """() => {
    const area = Reveal.getConfig().height, out = [];
    document.querySelectorAll('.reveal .slides > section').forEach((top, h) => {
        const slides = top.classList.contains('stack') ? top.querySelectorAll(':scope > section') : [top];
        slides.forEach((_, v) => {
            Reveal.slide(h, v);
            const s = Reveal.getCurrentSlide();
            s.scrollTop = s.scrollHeight;  // as far down as the reader can scroll it
            const scrolled = s.scrollTop;
            s.scrollTop = 0;
            out.push({h, v, area, top: s.offsetTop, box: s.offsetHeight, client: s.clientHeight,
                      content: s.scrollHeight, scrolled,
                      text: s.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40)});
        });
    });
    return out;
}"""


def _reachable(slide: dict) -> bool:
    """The slide's box ends inside the slide area, and content taller than the box scrolls into view."""
    inside = slide["top"] + slide["box"] <= slide["area"] + 1
    hidden = slide["content"] - slide["client"]  # content below the box (0 when it fits)
    return inside and hidden <= slide["scrolled"] + 1


def test_reachable_rule_tells_cut_from_scrolling():
    short = {"area": 780, "top": 100, "box": 500, "client": 500, "content": 500, "scrolled": 0}
    assert _reachable(short)
    assert _reachable({**short, "top": 0, "box": 780, "client": 780, "content": 1058, "scrolled": 278})
    assert not _reachable({**short, "top": 0, "box": 840, "client": 840, "content": 840})  # taller than the area
    assert not _reachable({**short, "top": 0, "box": 780, "client": 780, "content": 1058})  # clipped, no scrolling
    assert not _reachable({**short, "top": 20, "box": 1140, "client": 1140, "content": 1200, "scrolled": 60})


def test_widget_page_draws_the_stored_state(browser, site):
    """Where a chapter stores widgets, the page shows them from the state: no kernel, no object repr."""
    stored = [(p, _stored_views(nbformat.read(p, as_version=4))) for p in CHAPTERS]
    stored = [(p, n) for p, n in stored if n]
    if not stored:
        pytest.skip("no chapter stores widget state")
    path, views = stored[0]
    visit = Visit(browser, (site / f"notebooks/{path.stem}.html").as_uri())
    try:
        assert visit.rendered_views(views) == views
        text = visit.page.evaluate(
            "() => [...document.querySelectorAll('.widget-subarea')].map(e => e.innerText).join(' ')"
        )
        assert "children=(" not in text and "Widget(" not in text
    finally:
        visit.close()


# --------------------------------------------------------------------------- student copies


@pytest.fixture(scope="session")
def student(tmp_path_factory):
    out = tmp_path_factory.mktemp("student_site")
    build_site.build_student(out)
    return out


def _student_notebooks(student):
    return sorted((student / "student" / build_site.STUDENT_DIR / "notebooks").glob("*.ipynb"))


def test_student_copies_hold_no_solution(student):
    copies = _student_notebooks(student)
    assert [p.name for p in copies] == [p.name for p in CHAPTERS]
    pointer = re.compile(r"(worked|collapsed|hidden) (solution|cell)", re.I)
    for path in copies:
        nb = nbformat.read(path, as_version=4)
        assert not any("solution" in _tags(cell) for cell in nb.cells), path.name
        assert not any(pointer.search(c.source) for c in nb.cells if c.cell_type == "markdown"), path.name
        original = nbformat.read(ROOT / "notebooks" / path.name, as_version=4)
        assert len(nb.cells) == len(_without_solutions(original))
        exercises = [c for c in nb.cells if build_site.is_exercise(c)]
        assert exercises, f"{path.name} has no exercise"
        assert all(c.outputs == [] for c in exercises)


def test_student_zip_matches_the_folder(student):
    base = student / "student"
    with zipfile.ZipFile(student / "student.zip") as archive:
        names = sorted(archive.namelist())
    on_disk = sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())
    assert names == on_disk
    assert any(name.endswith("anim/fibonacci_growth.gif") for name in names)


@pytest.mark.parametrize("name", [p.name for p in CHAPTERS])
def test_student_copy_runs_and_checkers_answer(student, name):
    """Top to bottom without error, from its own folder; every blank exercise's checker says NOT YET."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    path = student / "student" / build_site.STUDENT_DIR / "notebooks" / name
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name="python3")
    km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    NotebookClient(
        nb, km=km, timeout=600, allow_errors=False, resources={"metadata": {"path": str(path.parent)}}
    ).execute(env=env)
    for cell in nb.cells:
        if build_site.is_exercise(cell):
            text = "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")
            assert text.startswith("NOT YET"), f"checker said {text!r} for the blank exercise:\n{cell.source}"
