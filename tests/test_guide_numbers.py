"""The lecturer's guide quotes the numbers the chapters print, not numbers from an older run.

The guide says: "Numbers quoted below are the ones the chapters print in their stored outputs".
This checks it. The guide is split into its sections ("## Chapter 6 · ..."); every decimal number
(0.72, 3.902, 18.31) and every integer of three digits or more (1104, 36928) a chapter's section
quotes must appear, as a whole token, in that chapter's notebook: its stored outputs (stream text,
text/plain, text/markdown, text/html) or its cells' source. 0.7 does not match inside 0.75, 10.7 or
0.7.1. Not checked: fractions (1/27), percentages and numbers glued to letters (28%, 1e-12, 33x33,
AVX2), and integers of one or two digits, which are too common to mean anything.

Numbers that do not come from the notebook are handled explicitly:
- the section's first paragraph ("Notebook: ... Duration ... Run All: ...") holds the duration
  and the Run All time, measured by the benchmarks, not printed by the notebook; it is skipped
  here, and its Run All time must equal the quiet time of the timing table instead;
- the general sections (slides, timing, grading) belong to no chapter: their only decimals are the
  timing table's, and they must quote no other decimal;
- anything else goes into NOT_FROM_THE_NOTEBOOK below, with the reason.

README.md quotes no chapter results (only set-up sizes, versions and benchmark ratios), so it is
not checked here.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "lecturers_guide.md"
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = range(1, 8)

# (chapter, number as the guide writes it): why the number is not in the chapter's notebook.
# Empty today; add an entry only for a number that legitimately comes from elsewhere.
NOT_FROM_THE_NOTEBOOK: dict[tuple[int, str], str] = {}

OUTPUT_MIMES = ("text/plain", "text/markdown", "text/html")

# A decimal (3.64) or an integer of 3+ digits (1104), not part of a longer token: no letter, digit
# or '.' before it; after it no digit, no '.digit' (a version 2.4.6), no letter except a multiplier
# 'x' (7.9x, but not the 256 of 256x256).
NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+|\d{3,})(?!\.\d|x\d|[^\Wx])")
HEADING = re.compile(r"^## (.+)$", re.MULTILINE)
CHAPTER_HEADING = re.compile(r"Chapter (\d+) · ")
# A block is a paragraph, a list item or a table row; a sentence ends at . ! ? before a capital.
BLOCK_START = re.compile(r"\n\s*\n|\n(?=- |\d+\. |\|)")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(*`$\[])")


def _sections():
    """{title: (offset of the body in the guide, body)} for every '## ' section and the introduction."""
    text = GUIDE.read_text(encoding="utf-8")
    heads = list(HEADING.finditer(text))
    sections = {"(introduction)": (0, text[: heads[0].start()])}
    for h, nxt in zip(heads, heads[1:] + [None], strict=True):
        sections[h.group(1)] = (h.end(), text[h.end() : nxt.start() if nxt else len(text)])
    return text, sections


def _chapter_sections():
    """{chapter number: (offset, body)}."""
    _, sections = _sections()
    found = {}
    for title, value in sections.items():
        m = CHAPTER_HEADING.match(title)
        if m:
            found[int(m.group(1))] = value
    return found


def _blocks(body):
    """(start, end) of each paragraph, list item or table row of a section body."""
    cuts = [0] + [m.end() for m in BLOCK_START.finditer(body)] + [len(body)]
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if body[a:b].strip()]


def _sentence(block, at):
    """The sentence of `block` around offset `at`, on one line, without a list item's dash."""
    start, end = 0, len(block)
    for m in SENTENCE_END.finditer(block):
        if m.start() >= at:
            end = m.start()
            break
        start = m.end()
    return " ".join(block[start:end].split()).removeprefix("- ")


def _quoted_numbers(offset, body, skip_first_paragraph):
    """(number, line in the guide, sentence) for every number the section quotes."""
    guide = GUIDE.read_text(encoding="utf-8")
    blocks = _blocks(body)
    if skip_first_paragraph:
        assert body[slice(*blocks[0])].strip().startswith("Notebook:"), body[:200]
        blocks = blocks[1:]
    for a, b in blocks:
        block = body[a:b]
        for m in NUMBER.finditer(block):
            line = guide.count("\n", 0, offset + a + m.start()) + 1
            yield m.group(1), line, _sentence(block, m.start())


def _notebook_path(chapter):
    paths = sorted(NOTEBOOKS.glob(f"{chapter:02d}_*.ipynb"))
    assert len(paths) == 1, f"chapter {chapter}: expected one notebook, found {paths}"
    return paths[0]


def _notebook_text(chapter):
    """Every cell's source and every stored text output of the chapter's notebook."""
    nb = nbformat.read(_notebook_path(chapter), as_version=4)
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for mime in OUTPUT_MIMES:
                value = out.get("data", {}).get(mime)
                if value is not None:
                    parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def _contains(text, number):
    return re.search(rf"(?<![\d.]){re.escape(number)}(?!\.?\d)", text) is not None


def test_the_guide_has_a_section_per_chapter():
    assert sorted(_chapter_sections()) == list(CHAPTERS)


def test_number_matching_is_by_whole_token():
    assert [m.group(1) for m in NUMBER.finditer("0.75, 7.9x, 256x256, 2.4.6, 1e-12, 28%, 1104.")] == [
        "0.75",
        "7.9",
        "1104",
    ]
    assert _contains("mIoU 0.7 here", "0.7")
    assert not _contains("mIoU 0.75, 10.7 and 0.7.1", "0.7")
    assert _contains("at the end of a sentence: 0.7.", "0.7")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_number_the_guide_quotes_is_in_the_chapters_notebook(chapter):
    offset, body = _chapter_sections()[chapter]
    text = _notebook_text(chapter)
    name = _notebook_path(chapter).name
    missing = {}  # sentence -> (first line, numbers), in the guide's order
    for number, line, sentence in _quoted_numbers(offset, body, skip_first_paragraph=True):
        if (chapter, number) in NOT_FROM_THE_NOTEBOOK or _contains(text, number):
            continue
        missing.setdefault(sentence, (line, []))[1].append(number)
    assert not missing, (
        f"chapter {chapter}: the guide quotes numbers that {name} does not print (stale? use the "
        "stored outputs' numbers, or add the number to NOT_FROM_THE_NOTEBOOK with the reason):\n"
        + "\n".join(
            f"  {', '.join(numbers)} (docs/lecturers_guide.md line {line}): {sentence}"
            for sentence, (line, numbers) in missing.items()
        )
    )


def test_the_allow_list_is_still_needed():
    """An entry whose number is no longer in the guide, or is now in the notebook, goes."""
    chapters = _chapter_sections()
    for (chapter, number), reason in NOT_FROM_THE_NOTEBOOK.items():
        assert reason.strip(), (chapter, number)
        quoted = {n for n, _, _ in _quoted_numbers(*chapters[chapter], skip_first_paragraph=True)}
        assert number in quoted, f"chapter {chapter}: {number} is no longer in the guide"
        assert not _contains(_notebook_text(chapter), number), f"chapter {chapter}: the notebook now prints {number}"


def _timing_table():
    """{chapter: quiet Run All time} from the table of the general sections."""
    row = re.compile(r"^\| (\d) · [^|]*\|[^|]*\| ([\d.]+) s / ([\d.]+) s \|", re.MULTILINE)
    return {int(m.group(1)): m.group(2) for m in row.finditer(GUIDE.read_text(encoding="utf-8"))}


def test_each_chapters_run_all_time_is_the_timing_tables():
    table = _timing_table()
    assert sorted(table) == list(CHAPTERS), table
    for chapter, (_, body) in _chapter_sections().items():
        m = re.search(r"Run All:\s+([\d.]+) s", body)
        assert m, f"chapter {chapter}: no 'Run All: ... s' in its first paragraph"
        assert m.group(1) == table[chapter], (
            f"chapter {chapter}: Run All {m.group(1)} s in its section, {table[chapter]} s in the timing table"
        )


def test_the_general_sections_quote_no_decimal_but_the_timing_tables():
    _, sections = _sections()
    stray = []
    for title, (offset, body) in sections.items():
        if CHAPTER_HEADING.match(title):
            continue
        for number, line, sentence in _quoted_numbers(offset, body, skip_first_paragraph=False):
            if "." in number and not sentence.startswith("|"):
                stray.append(f"  {title}: {number} (line {line}): {sentence}")
    assert not stray, "a general section quotes a decimal that no test checks:\n" + "\n".join(stray)
