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
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # pinned in package.json, injected by the tests
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_AXE_RUN = (
    "() => axe.run(document, {runOnly: {type: 'tag', values: " + repr(AXE_TAGS) + "}})"
    ".then(result => result.violations.map(v => v.id + ' x' + v.nodes.length + ': '"
    " + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(', ')))"
)


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


def _deck_cells(nb):
    """The deck's cells: no solutions, tall slides split by the builder (`fit_deck`)."""
    nb = nbformat.from_dict(dict(nb, cells=_without_solutions(nb)))
    return build_site.fit_deck(nb).cells


def _deck_cases():
    cases = []
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        cells = _deck_cells(nb)
        visible = [c for c in cells if c.metadata.get("slideshow", {}).get("slide_type", "-") not in ("skip", "notes")]
        md = [c.source for c in visible if c.cell_type == "markdown"]
        views = _stored_views(nb, visible)
        cases.append((f"slides/{path.stem}.slides.html", _has_math(md), views, _slide_count(cells)))
    return cases


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def site(tmp_path_factory, request):
    """The site, built once per session; its handouts are printed by the session's browser (Playwright's
    sync API runs once per process), or left out where there is no browser."""
    reason = _node_missing()
    if reason:
        pytest.skip(reason)
    try:
        browser = request.getfixturevalue("browser")
    except pytest.skip.Exception:
        browser = None
    out = tmp_path_factory.mktemp("site") / "site"
    build_site.build(out, workers=1, handouts=browser is not None, browser=browser)
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

    def axe(self) -> list[str]:
        """axe-core's WCAG 2.0/2.1 A and AA violations of the page as it is now."""
        self.page.add_script_tag(path=str(AXE))
        return self.page.evaluate(_AXE_RUN)

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
    assert size <= 30e6, f"site is {size / 1e6:.1f} MB (handouts included)"
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
        assert visit.axe() == [], "axe-core WCAG 2.0/2.1 A and AA violations"
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
        assert visit.axe() == [], "axe-core WCAG 2.0/2.1 A and AA violations on the deck's first slide"
    finally:
        visit.close()


# --------------------------------------------------------------------------- decks that fit the screen

SCREENS = [(1024, 768), (1280, 720), (1920, 1080)]
MIN_CODE_PX, MIN_PROSE_PX = 18, 22  # on screen at 1280x720

# Every slide of the deck in one pass: go to it, then compare every element's box with the visible slide
# area (the scaled .slides box) and look for content that an element cuts off (scrolls or hides).
_WALK = """() => {
    const out = [];
    const area = document.querySelector('.reveal .slides').getBoundingClientRect();
    const scale = Reveal.getScale();
    Reveal.getSlides().forEach((slide, n) => {
        const at = Reveal.getIndices(slide);
        Reveal.slide(at.h, at.v);
        const problems = [];
        if (slide.scrollHeight > slide.clientHeight + 1) problems.push('the slide scrolls');
        let code = Infinity, prose = Infinity, bars = 0, drawn = 0;
        const figures = [];
        for (const el of slide.querySelectorAll('*')) {
            if (el.closest('aside.notes, .MJX_Assistive_MathML, script, style')) continue;
            const style = getComputedStyle(el);
            if (style.display === 'none' || style.visibility === 'hidden') continue;
            const r = el.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue;
            const name = el.tagName + ' "' + (el.textContent || '').trim().slice(0, 30) + '"';
            const k = el.offsetWidth ? r.width / el.offsetWidth : 1;  // screen px per CSS px of this element
            const right = style.overflowX === 'visible' ? Math.max(r.right, r.left + el.scrollWidth * k) : r.right;
            const bottom = style.overflowY === 'visible' ? Math.max(r.bottom, r.top + el.scrollHeight * k) : r.bottom;
            const out_by = Math.max(right - area.right, area.left - r.left, bottom - area.bottom, area.top - r.top);
            if (out_by > 1) problems.push(name + ' ' + Math.round(out_by) + ' px outside the slide');
            for (const [axis, overflow, scroll, client] of [['x', style.overflowX, el.scrollWidth, el.clientWidth],
                                                            ['y', style.overflowY, el.scrollHeight, el.clientHeight]]) {
                if (overflow !== 'visible' && scroll > client + 1) problems.push(name + ' cuts ' + (scroll - client) + ' px (' + axis + ')');
            }
            const size = parseFloat(style.fontSize) * scale;
            const text = [...el.childNodes].some(c => c.nodeType === 3 && c.textContent.trim());
            if (text && el.closest('.jp-InputArea-editor')) code = Math.min(code, size);
            if (text && el.closest('.jp-RenderedMarkdown') && el.matches('p, li, p *, li *') && !el.closest('code, .MathJax_CHTML, .mjx-chtml, sup, sub'))
                prose = Math.min(prose, size);
            if (el.matches('.jp-RenderedImage img')) figures.push([r.width / area.width, r.height / area.height]);
        }
        for (const bar of slide.querySelectorAll('.widget-hprogress .progress-bar')) {  // hidden ones too
            const r = bar.getBoundingClientRect();
            bars += 1;
            if (r.width > 0 && r.height > 0 && bar.checkVisibility()) drawn += 1;
        }
        out.push({n: n + 1, problems, code, prose, figures, bars, drawn});
    });
    return out;
}"""


def _walk(page, size):
    """Resize the window, let reveal.js lay the deck out for it (scale and position settled), walk it."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    settled = """(size) => {
        const c = Reveal.getConfig(), m = 1 - c.margin;
        const scale = Math.min(size[0] * m / c.width, size[1] * m / c.height);
        Reveal.layout();
        const r = document.querySelector('.reveal .slides').getBoundingClientRect();
        return window.innerWidth === size[0] && Math.abs(Reveal.getScale() - scale) < 1e-3
            && Math.abs(r.width - scale * c.width) < 1 && Math.abs(r.left + r.width / 2 - size[0] / 2) < 2
            && Math.abs(r.top + r.height / 2 - size[1] / 2) < 2;
    }"""
    page.wait_for_function(settled, arg=list(size), timeout=WAIT_MS)
    page.wait_for_timeout(100)
    return page.evaluate(_WALK)


@pytest.mark.parametrize(("deck", "views"), [(case[0], case[2]) for case in _deck_cases()], ids=str)
def test_deck_fits_every_screen(browser, site, deck, views):
    """At 1024x768, 1280x720 and 1920x1080 no element of any slide leaves the visible slide area or is
    cut off by its own box, nothing scrolls; at 1280x720 code is at least 18 CSS px and prose 22 on
    screen, a figure fills at least half the slide's width (or most of its height), progress bars are
    drawn."""
    visit = Visit(browser, (site / deck).as_uri())
    try:
        visit.page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=WAIT_MS)
        visit.broken_images()
        visit.wait_for_math()
        assert visit.rendered_views(views) == views
        for size in SCREENS:
            slides = _walk(visit.page, size)
            cut = {s["n"]: s["problems"][:2] for s in slides if s["problems"]}
            assert cut == {}, f"{deck} at {size[0]}x{size[1]}: slides with content outside the slide area: {cut}"
            if size == (1280, 720):
                small = {
                    s["n"]: (round(s["code"], 1), round(s["prose"], 1))
                    for s in slides
                    if s["code"] < MIN_CODE_PX - 0.05 or s["prose"] < MIN_PROSE_PX - 0.05
                }
                assert small == {}, f"{deck}: slides whose (code, prose) px are below ({MIN_CODE_PX}, {MIN_PROSE_PX})"
                narrow = {s["n"]: s["figures"] for s in slides if any(w < 0.5 and h < 0.75 for w, h in s["figures"])}
                assert narrow == {}, f"{deck}: figures narrower than half the slide: {narrow}"
                hidden = {s["n"]: (s["drawn"], s["bars"]) for s in slides if s["drawn"] < s["bars"]}
                assert hidden == {}, f"{deck}: progress bars not drawn (drawn, present): {hidden}"
    finally:
        visit.close()


@pytest.mark.parametrize("overflow", ["visible", "auto", "hidden"])
def test_walk_catches_a_long_code_line(browser, tmp_path, overflow):
    """The walk's rule on a slide laid out the old way (chapter 7 slide 19 before the fix: a long print
    line of the context-module cell in a fixed-width box): the line is reported whether it runs past the
    slide's edge, scrolls sideways or is clipped."""
    line = 'print("receptive field after each layer:", [3 + 2 * d for d in (1, 2, 4, 8, 16)], "score", "signed")'
    page_html = f"""<html><body><div class="reveal"><div class="slides" style="width:600px;height:400px">
        <section style="width:600px"><div class="jp-InputArea-editor" style="overflow-x:{overflow}">
        <pre style="white-space:pre;font-size:16px;margin:0">{line}</pre></div></section></div></div>
        <script>window.Reveal = {{getScale: () => 1, getSlides: () => [...document.querySelectorAll('section')],
        getIndices: () => ({{h: 0, v: 0}}), slide: () => null}};</script></body></html>"""
    (tmp_path / "deck.html").write_text(page_html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 800, "height": 600})
    try:
        page.goto((tmp_path / "deck.html").as_uri())
        slides = page.evaluate(_WALK)
    finally:
        page.close()
    assert slides[0]["problems"], "a code line wider than the slide went unnoticed"
    assert any("outside the slide" in p or "cuts" in p for p in slides[0]["problems"])


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


# --------------------------------------------------------------------------- print view, handouts


@pytest.mark.parametrize("deck", [case[0] for case in _deck_cases()], ids=str)
def test_deck_print_view_is_accessible(browser, site, deck):
    """The print view lays out every slide at once (with its notes): axe-core checks all of them."""
    visit = Visit(browser, (site / deck).as_uri() + "?print-pdf")
    try:
        visit.page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=WAIT_MS)
        visit.wait_for_math()
        assert visit.axe() == [], "axe-core WCAG 2.0/2.1 A and AA violations in the deck's slides"
    finally:
        visit.close()


@pytest.mark.parametrize(("deck", "has_math", "views", "slides"), _deck_cases(), ids=lambda v: str(v))
def test_handout_pages_match_the_deck(browser, site, deck, has_math, views, slides):
    """One page per slide (the title slide on one page), numbered "n / N", with selectable text."""
    pypdf = pytest.importorskip("pypdf")
    name = Path(deck).name[: -len(".slides.html")]
    pdf = site / build_site.handout_name(name)
    assert pdf.is_file(), f"no handout {pdf.name}"
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) == slides
    texts = [page.extract_text() for page in reader.pages]
    for number, text in enumerate(texts, start=1):
        assert re.search(rf"(?<![\d.]){number} / {slides}(?![\d.])", text), f"page {number}: no '{number} / {slides}'"
        assert not re.search(r"(?<![\d.])\d+\.\d+\s*$", text.strip()), f"page {number} numbered h.v"
    title = build_site.chapter_title(nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4))
    words = re.findall(r"\w+", title.split("·")[-1])
    assert " ".join(words) in " ".join(re.findall(r"\w+", texts[0])), "the title is not on page 1"
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    notes = [c.source for c in _without_solutions(nb) if c.metadata.get("slideshow", {}).get("slide_type") == "notes"]
    flat = " ".join(" ".join(texts).split())
    for note in notes:
        words = " ".join(re.sub(r"[*`_\"]", "", note).split()[:5])
        assert words in re.sub(r"[*`_\"]", "", flat), f"speaker note missing from the handout: {words!r}"


# --------------------------------------------------------------------------- pages, index, decks


def test_chapter_pages_hide_solutions_on_load(browser, site):
    """Every worked solution sits in a closed native <details> "Show solution": its code is not visible
    on load, one click shows it, and the pages say what they show (no "three dots" on the page alone)."""
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        solutions = [c for c in nb.cells if "solution" in _tags(c) and c.cell_type == "code"]
        visit = Visit(browser, (site / f"notebooks/{path.stem}.html").as_uri())
        try:
            state = visit.page.evaluate(
                """() => [...document.querySelectorAll('details.solution')].map(d => ({
                    open: d.open, summary: d.querySelector('summary').textContent.trim(),
                    visible: [...d.querySelectorAll('pre')].some(p => p.checkVisibility())}))"""
            )
            assert len(state) >= len(solutions), f"{path.name}: {len(state)} boxes for {len(solutions)} solutions"
            assert all(not s["open"] and not s["visible"] and s["summary"] == "Show solution" for s in state)
            elsewhere = {line.strip() for c in nb.cells if "solution" not in _tags(c) for line in c.source.splitlines()}
            for source in (c.source for c in solutions):
                own = [line.strip() for line in source.splitlines() if len(line.strip()) > 12]
                own = [line for line in own if line not in elsewhere][:1]
                shown = visit.page.evaluate(
                    "(t) => [...document.querySelectorAll('pre')].some(p => p.checkVisibility() && p.textContent.includes(t))",
                    own[0] if own else "\u0000",
                )
                assert not shown, f"{path.name}: solution visible on load: {own}"
            if state:
                visit.page.click("details.solution > summary")
                assert visit.page.evaluate("() => document.querySelector('details.solution').open")
        finally:
            visit.close()
        for cell in nb.cells:
            if cell.cell_type == "markdown" and "three dots" in cell.source:
                assert "Show solution" in cell.source, f"{path.name}: the text names only JupyterLab's dots"


def _anchors(page_html: str) -> list[dict]:
    from html.parser import HTMLParser

    found = []

    class Anchors(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "a":
                found.append(dict(attrs))

    Anchors().feed(page_html)
    return found


def test_index_puts_guide_and_decks_first_and_student_links_download(site):
    page = (site / "index.html").read_text(encoding="utf-8")
    chapters_at = page.index('id="Chapters"')
    assert page.index('href="docs/lecturers_guide.html"') < chapters_at
    for path in CHAPTERS:
        assert page.index(f'href="slides/{path.stem}.slides.html"') < chapters_at, path.stem
    links = _anchors(page)
    for path in CHAPTERS:
        student = f"student/{build_site.STUDENT_DIR}/notebooks/{path.name}"
        assert any(a.get("href") == student and a.get("download") == path.name for a in links), path.name
    assert any(a.get("href") == "student.zip" and a.get("download") for a in links)
    for path in CHAPTERS:
        chapter = _anchors((site / f"notebooks/{path.stem}.html").read_text(encoding="utf-8"))
        student = [a for a in chapter if a.get("href", "").endswith(".ipynb")]
        assert student and all(a.get("download") for a in student), f"{path.stem}: student copy opens as JSON"


def test_decks_link_home_and_have_a_section_menu(browser, site):
    for path in CHAPTERS[:1] + CHAPTERS[-1:]:
        visit = Visit(browser, (site / f"slides/{path.stem}.slides.html").as_uri())
        try:
            visit.page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=WAIT_MS)
            assert (
                visit.page.evaluate("() => document.querySelector('nav.deck-nav a').getAttribute('href')")
                == "../index.html"
            )
            visit.page.wait_for_function("() => document.querySelectorAll('#deck-menu li').length > 1", timeout=WAIT_MS)
            visit.page.keyboard.press("m")
            assert visit.page.evaluate("() => !document.getElementById('deck-menu').hidden")
            entries = visit.page.evaluate(
                "() => [...document.querySelectorAll('#deck-menu a')].map(a => a.textContent)"
            )
            headings = [
                line[3:].strip()
                for c in nbformat.read(path, as_version=4).cells
                if c.cell_type == "markdown"
                for line in c.source.splitlines()[:1]
                if line.startswith("## ")
            ]

            def norm(text):
                return re.sub(r"[^a-z0-9]", "", text.lower())[:24]

            assert headings and {norm(h) for h in headings} <= {norm(e) for e in entries}, (headings, entries)
            last = len(entries) - 1
            visit.page.click(f"#deck-menu li:nth-child({last + 1}) a")
            assert visit.page.evaluate("() => document.getElementById('deck-menu').hidden")
            assert visit.page.evaluate("() => Reveal.getIndices().h") > 0
        finally:
            visit.close()


def test_notes_belong_to_their_slide_not_a_fragment(site):
    """Speaker notes written after a fragment are moved to their slide on load, so the speaker view
    shows them when the slide opens (checked on the page as loaded)."""
    for path in CHAPTERS:
        deck = (site / f"slides/{path.stem}.slides.html").read_text(encoding="utf-8")
        assert 'querySelectorAll(".reveal .slides section .fragment aside.notes")' in deck


def test_notes_visible_in_speaker_view_without_a_key_press(browser, site):
    """Every speaker note belongs to its slide (none waits inside a fragment for the next key press):
    reveal.js gives each note's slide its text as soon as the slide opens."""
    for path in CHAPTERS:
        notes = [
            c
            for c in _deck_cells(nbformat.read(path, as_version=4))
            if c.metadata.get("slideshow", {}).get("slide_type") == "notes"
        ]
        visit = Visit(browser, (site / f"slides/{path.stem}.slides.html").as_uri())
        try:
            visit.page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=WAIT_MS)
            assert visit.page.evaluate("() => document.querySelectorAll('.fragment aside.notes').length") == 0
            slides = visit.page.evaluate(
                "() => Reveal.getSlides().filter(s => s.querySelector(':scope > aside.notes'))"
                ".map(s => (Reveal.getSlideNotes(s) || '').trim().length)"
            )
            assert sum(1 for n in slides if n) >= min(1, len(notes)) and all(slides), (path.name, slides)
        finally:
            visit.close()


def test_no_default_alt_text_and_every_figure_described(site):
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
                alt = cell.metadata.get("alt", "")
                assert isinstance(alt, str) and len(alt) > 40, f"{path.name} cell {cell.get('id')}: no alt text"
    for page in list((site / "notebooks").glob("*.html")) + list((site / "slides").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert "No description has been provided" not in text, page.name
        assert not re.search(r'<img\b(?![^>]*\balt="[^"]{10,})', text), f"{page.name}: an image without alt text"


# --------------------------------------------------------------------------- build safety (issue 20)


def test_build_refuses_a_folder_it_did_not_make(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me", encoding="utf-8")
    assert build_site.main([str(foreign)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not built by this script" in err[0]
    assert (foreign / "thesis.tex").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@pytest.mark.parametrize("target", [".", "notebooks", "course_utils", "tests/sub", ".."])
def test_build_refuses_the_course_sources(target, capsys):
    before = sorted(p.name for p in (ROOT / "notebooks").iterdir())
    assert build_site.main([str(ROOT / target)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing" in err[0]
    assert sorted(p.name for p in (ROOT / "notebooks").iterdir()) == before


def test_build_replaces_only_its_own_output(tmp_path):
    ours = tmp_path / "site"
    ours.mkdir()
    with pytest.raises(build_site.BuildError):
        build_site.check_output_dir(ours)
    (ours / build_site.MARKER).write_text(build_site.MARKER_TEXT, encoding="utf-8")
    build_site.check_output_dir(ours)  # an earlier build's folder: replaced
    (ours / "notes.ipynb").write_text("{}", encoding="utf-8")
    with pytest.raises(build_site.BuildError):  # a marker next to notebooks is not enough
        build_site.check_output_dir(ours)


def _course_copy(tmp_path, monkeypatch, notebooks: dict[str, str]) -> Path:
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    (root / "anim").mkdir()
    for name, text in notebooks.items():
        (root / "notebooks" / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(build_site, "ROOT", root)
    monkeypatch.setattr(build_site, "ensure_node_modules", lambda: None)
    monkeypatch.setattr(build_site, "NODE_MODULES", ROOT / "node_modules")
    return root


def _single_process_build(monkeypatch):
    original = build_site.build
    monkeypatch.setattr(build_site, "build", lambda site, workers=2, **kw: original(site, workers=1, handouts=False))


def test_truncated_notebook_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    if _node_missing():
        pytest.skip(_node_missing())
    text = (CHAPTERS[0]).read_text(encoding="utf-8")
    _course_copy(tmp_path, monkeypatch, {"01_broken.ipynb": text[: len(text) // 2]})
    _single_process_build(monkeypatch)
    assert build_site.main([str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert "01_broken.ipynb" in err and "not a readable notebook" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course"]


def test_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    import errno

    if _node_missing():
        pytest.skip(_node_missing())
    _course_copy(tmp_path, monkeypatch, {"01_a.ipynb": nbformat.writes(nbformat.v4.new_notebook())})
    _single_process_build(monkeypatch)
    real_write = build_site._write_page

    def full(out, body):
        real_write(out, body[:100])
        raise OSError(errno.ENOSPC, "No space left on device", str(out))

    monkeypatch.setattr(build_site, "_write_page", full)
    assert build_site.main([str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course"]


HOSTILE = [
    "# Title <img src=x onerror=alert(1)>\n\n**Learning goals.** After this chapter you can:\n\n"
    "- <script>alert(2)</script> a goal\n\n<script>alert(3)</script>\n\n## Heading <img src=y onerror=alert(9)>",
]


def test_untrusted_html_is_sanitized(tmp_path, monkeypatch, browser):
    """A student's notebook: markdown scripts and handlers, HTML/Markdown/JavaScript outputs and an HTML
    widget value; nothing of it runs in the page, the deck or the index."""
    if _node_missing():
        pytest.skip(_node_missing())
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(HOSTILE[0]),
        nbformat.v4.new_code_cell(
            "x",
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": "<b onclick=alert(4)>hi</b><script>alert(5)</script>",
                        "application/javascript": "alert(6)",
                        "text/markdown": "<img src=z onerror=alert(7)>",
                    },
                )
            ],
        ),
    ]
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {"m1": {"model_name": "HTMLModel", "state": {"value": "<img src=w onerror=alert(8)>"}}},
            "version_major": 2,
            "version_minor": 0,
        }
    }
    _course_copy(tmp_path, monkeypatch, {"01_student.ipynb": nbformat.writes(nb)})
    out = tmp_path / "out"
    build_site.build(out, workers=1, handouts=False)
    for rel in ("index.html", "notebooks/01_student.html", "slides/01_student.slides.html"):
        text = (out / rel).read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]*>\s*(var element[^<]*)?alert", text), rel
        assert not re.search(r"<[^>]+\son(error|click)=", text), rel
        assert "alert(8)" not in text or "onerror=alert(8)" not in text.replace("&quot;", '"'), rel
        dialogs = []
        page = browser.new_page()
        page.on("dialog", lambda dialog, seen=dialogs: (seen.append(dialog.message), dialog.dismiss()))
        try:
            page.goto((out / rel).as_uri())
            page.wait_for_timeout(500)
        finally:
            page.close()
        assert dialogs == [], f"{rel} ran {dialogs}"
    cleaned = build_site.sanitize_notebook(nb)
    assert (
        "onerror"
        not in cleaned.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]["m1"]["state"]["value"]
    )


# --------------------------------------------------------------------------- the lecturer's guide


def test_guide_gives_one_duration_per_chapter_and_the_keys():
    guide = (ROOT / "docs" / "lecturers_guide.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d) · [^|]+\| (\d+) min\b", guide, re.M))
    sections = dict(re.findall(r"^## Chapter (\d) · .*?\*\*Duration\.\*\* (\d+) minutes", guide, re.M | re.S))
    assert sorted(table) == [p.name[1] for p in CHAPTERS] and table == sections, (table, sections)
    assert not re.search(r"also\s+fit a 45-minute lecture", guide)
    assert table["7"] == "90" and "**A 90-minute plan.**" in guide
    plan = guide.split("**A 90-minute plan.**", 1)[1].split("**Key points.**", 1)[0]
    ends = [int(m) for m in re.findall(r"^\| \d+-(\d+) \|", plan, re.M)]
    assert ends and ends == sorted(ends) and ends[-1] == 90
    keys = guide.split("In a deck:", 1)[1].split("\n\n", 2)[1]
    for key in ("→ or Space", "**S**", "**O**", "**F**", "**G**", "**?**", "**B**", "**M**"):
        assert key in keys, key


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name[:2])
def test_fitting_a_deck_loses_nothing(path):
    """Cutting long prose and splitting tall slides keeps every word (on a slide or in its notes), line of
    code and output, in order."""
    nb = nbformat.read(path, as_version=4)
    before = _without_solutions(nb)
    after = _deck_cells(nb)

    def code(cells):
        return [c.source for c in cells if c.cell_type == "code" and "deck-output-only" not in _tags(c)]

    def printed(cells):
        return "".join(
            o.get("text", "") for c in cells for o in c.get("outputs", []) if o.get("output_type") == "stream"
        )

    def pictures(cells):
        return [o["data"]["image/png"] for c in cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]

    def prose(cells):  # prose moved into speaker notes counts, without the line that says it was moved
        texts = [c.source.removeprefix(build_site.MOVED_PROSE) for c in cells if c.cell_type == "markdown"]
        return re.sub(r"\s+", "", "".join(texts))

    assert prose(after) == prose(before)
    assert code(after) == code(before)
    assert printed(after) == printed(before)
    assert pictures(after) == pictures(before)
    ids = [c.get("id") for c in after]
    assert len(ids) == len(set(ids)), "duplicate cell ids would give duplicate HTML ids"


# --------------------------------------------------------------------------- prose that fits a slide

MAX_SLIDE_PROSE = 650  # characters of visible prose per slide (the build aims at 600)
_PIECE = re.compile(r"(-p\d+)+$")


def _original_slides(nb) -> dict[str, int]:
    """Each deck cell's slide in the notebook (solutions left out), by cell id."""
    slides, number, started = {}, 0, False
    for cell in _without_solutions(nb):
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if started and kind in ("slide", "subslide"):
            number += 1
        started = started or kind not in ("notes", "skip")
        slides[cell.get("id")] = number
    return slides


def _rendered_text(node, headings: bool) -> str:
    import copy as copy_module

    body = copy_module.copy(node.select_one(".jp-RenderedMarkdown"))
    if body is None:
        return ""
    if not headings:
        for heading in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
            heading.decompose()
    return " ".join(body.get_text().split())


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name[:2])
def test_slides_keep_their_prose_short_and_lose_none(site, path):
    """Every slide shows at most MAX_SLIDE_PROSE characters of prose (headings, code and outputs not
    counted); the rest of a long slide's text is in that slide's speaker notes, so every character of
    each Markdown cell of the chapter is on a slide or in the notes of its slide, in order."""
    from bs4 import BeautifulSoup

    nb = nbformat.read(path, as_version=4)
    slide_of = _original_slides(nb)
    deck = BeautifulSoup((site / f"slides/{path.stem}.slides.html").read_text(encoding="utf-8"), "html.parser")
    page = BeautifulSoup((site / f"notebooks/{path.stem}.html").read_text(encoding="utf-8"), "html.parser")
    prefix = " ".join(BeautifulSoup(build_site.MOVED_PROSE, "html.parser").get_text().replace("*", "").split())

    long_slides, pieces, misplaced = {}, {}, []
    sections = [s for s in deck.select("div.slides section") if s.find("section") is None]
    for number, section in enumerate(sections, 1):
        shown, before = 0, None
        for cell in section.select("div.jp-Cell"):
            original = _PIECE.sub("", cell.get("id", "").removeprefix("cell-id="))
            in_notes = cell.find_parent("aside") is not None
            if "jp-MarkdownCell" in cell.get("class", []) and original in slide_of:
                text = _rendered_text(cell, headings=True)
                if in_notes and text.startswith(prefix):  # prose moved off its slide
                    text = text[len(prefix) :]
                    if before is None or slide_of.get(before) != slide_of[original]:
                        misplaced.append((number, original, before))
                pieces.setdefault(original, []).append(text)
                if not in_notes:
                    shown += len(_rendered_text(cell, headings=False))
            if not in_notes:
                before = original
        if shown > MAX_SLIDE_PROSE:
            long_slides[number] = shown
    assert long_slides == {}, f"{path.stem}: slides with more than {MAX_SLIDE_PROSE} characters of prose"
    assert misplaced == [], f"{path.stem}: moved prose not on the slide it came from (slide, cell, before)"

    lost = []
    for cell in _without_solutions(nb):
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if cell.cell_type != "markdown" or kind in ("notes", "skip"):
            continue
        whole = page.find(id=f"cell-id={cell.get('id')}")
        expected = re.sub(r"\s+", "", _rendered_text(whole, headings=True))
        found = re.sub(r"\s+", "", "".join(pieces.get(cell.get("id"), [])))
        if found != expected:
            lost.append((cell.get("id"), expected[:60], found[:60]))
    assert lost == [], f"{path.stem}: Markdown cells whose text differs between the page and the deck"
