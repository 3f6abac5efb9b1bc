"""The explorer, driven headlessly: values in, map and numbers out, messages for bad entries."""

import numpy as np
import pytest

from course_utils import receptive_field as rf
from course_utils.widgets import MAX_LAYERS, parse_rates, receptive_field_explorer


def test_initial_state_matches_the_analytic_toolkit():
    explorer = receptive_field_explorer()
    np.testing.assert_array_equal(explorer.grid, rf.gradient_map((1, 2, 4), 21))
    assert explorer.numbers["receptive_field"] == 15
    assert (explorer.numbers["centre_weight"], explorer.numbers["max_weight"]) == (1, 9)
    assert bytes(explorer.image.value)[:4] == b"\x89PNG"
    assert "15 x 15" in explorer.summary.value and explorer.message.value == ""
    assert "M2 = 2 &lt;= K = 3" in explorer.summary.value and "HDC verdict" in explorer.summary.value


def test_changing_each_control_updates_the_map_and_numbers():
    explorer = receptive_field_explorer()
    explorer.rates.value = "2, 2, 2, 2"
    assert explorer.numbers["holes"] == 17 * 17 - 81 and not explorer.numbers["hdc_ok"]
    assert explorer.numbers["hdc_m2"] == 2 and explorer.numbers["hdc_common_factor"] == 2
    assert "fails: the rates share the common factor 2" in explorer.summary.value
    assert explorer.numbers["holes_in_image"] == 17 * 17 - 81
    explorer.size.value = 11  # the field (17) no longer fits: truncated, fewer cells
    assert explorer.grid.shape == (11, 11) and "cut at the edges" in explorer.summary.value
    explorer.kernel_size.value = 5
    np.testing.assert_array_equal(explorer.grid, rf.gradient_map((2, 2, 2, 2), 11, 5))
    explorer.size.value = 129
    explorer.rates.value = "1 1 2 3 5 8 13 21"
    assert explorer.numbers["rates"] == (1, 1, 2, 3, 5, 8, 13, 21) and explorer.numbers["holes"] == 0
    before = explorer.grid
    explorer.weights.value = "random"
    assert explorer.grid.shape == before.shape and not np.array_equal(explorer.grid, before)
    assert np.array_equal(explorer.grid > 0, before > 0)  # same support, other weights


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1, a, 4", "&#x27;a&#x27; is not a whole number"),
        ("0", "dilation rates must be &gt;= 1, got 0"),
        ("-3, 2", "dilation rates must be &gt;= 1, got -3"),
        ("", "enter at least one dilation rate"),
        ("2.5", "&#x27;2.5&#x27; is not a whole number"),
        ("1000", "dilation rates above 512"),
        (" ".join(["1"] * (MAX_LAYERS + 1)), f"at most {MAX_LAYERS} layers"),
    ],
)
def test_bad_entries_show_a_message_and_clear_the_stale_map(text, message):
    explorer = receptive_field_explorer()
    explorer.rates.value = text  # must not raise
    assert message in explorer.message.value
    # the old map and numbers belonged to other settings: nothing is left on screen as if valid
    assert explorer.grid is None and explorer.numbers == {} and explorer.summary.value == ""
    assert bytes(explorer.image.value) == b""
    explorer.rates.value = "1, 2"
    assert explorer.message.value == "" and explorer.numbers["rates"] == (1, 2)
    assert bytes(explorer.image.value)[:4] == b"\x89PNG" and "receptive field" in explorer.summary.value


@pytest.mark.parametrize(
    ("control", "value", "message"),
    [
        ("kernel_size", 4, "kernel 4 is refused (even: a kernel must have a centre pixel)"),
        ("kernel_size", 11, "kernel 11 is refused (outside the explorer&#x27;s range)"),
        ("size", 200, "image size 200 is refused: the explorer draws images of 5 to 129 pixels"),
        ("size", 40, "image size 40 is refused: it must be odd"),
    ],
)
def test_kernel_and_size_are_never_changed_silently(control, value, message):
    explorer = receptive_field_explorer()
    getattr(explorer, control).value = value
    assert getattr(explorer, control).value == value  # not clamped to 129 nor skipped
    assert message in explorer.message.value and explorer.grid is None


def test_a_hint_says_to_run_the_cell_and_the_fallback_says_it_is_still():
    explorer = receptive_field_explorer()
    assert "run the cell" in explorer.hint.value
    assert "a still picture: run the cell to explore" in explorer._repr_mimebundle_()["text/plain"]


def test_parse_rates():
    assert parse_rates("1,2, 4  8") == (1, 2, 4, 8)
    with pytest.raises(TypeError, match=r"text must be a string, got 3 \(int\)"):
        parse_rates(3)
