"""Speaker notes: a learner can recognise them and skip them, and they hold no answers."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0*.ipynb"))
LABEL = "**For the lecturer.** "


def _notes(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if c.get("metadata", {}).get("slideshow", {}).get("slide_type") == "notes"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_speaker_note_is_labelled_and_gives_no_answer(path):
    for cell in _notes(path):
        text = "".join(cell["source"])
        assert cell["cell_type"] == "markdown" and text.startswith(LABEL), (cell["id"], text[:60])
        assert not re.search(r"\(answer|answer:", text, re.IGNORECASE), (cell["id"], text[:60])


def test_every_chapter_has_speaker_notes():
    assert len(NOTEBOOKS) == 7 and all(_notes(path) for path in NOTEBOOKS)
