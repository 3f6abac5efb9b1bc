"""GIFs: right frame counts, right cells highlighted, deterministic bytes, small, written atomically."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_utils import anim
from course_utils.conv import conv_output_size

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("config", anim.SLIDES, ids=lambda c: c.name)
def test_slide_frames_highlight_exactly_the_taps_and_the_output_cell(config):
    frames, geometry = anim.slide_frames(config)
    n_out = conv_output_size(config.input_size, config.kernel_size, config.stride, config.padding, config.dilation)
    assert len(frames) == n_out * n_out
    padded = config.input_size + 2 * config.padding
    for index, frame in enumerate(frames):
        i, j = divmod(index, n_out)
        assert frame.output == (i, j)
        expected = {
            (i * config.stride + p * config.dilation, j * config.stride + q * config.dilation)
            for p in range(config.kernel_size)
            for q in range(config.kernel_size)
        }
        assert set(frame.taps) == expected
        rgb = frame.image.convert("RGB")
        for r, c in np.ndindex(padded, padded):
            colour = rgb.getpixel(geometry.input_cell_centre(r, c))
            inside = config.padding <= r < padded - config.padding and config.padding <= c < padded - config.padding
            assert colour == (anim.TAP if (r, c) in expected else anim.INPUT if inside else anim.PADDING), (index, r, c)
        for r, c in np.ndindex(n_out, n_out):
            colour = rgb.getpixel(geometry.output_cell_centre(r, c))
            want = anim.OUTPUT_NOW if (r, c) == (i, j) else anim.OUTPUT_DONE if r * n_out + c < index else anim.WHITE
            assert colour == want, (index, r, c)


def test_committed_gifs_are_up_to_date_small_and_have_the_right_frame_counts(tmp_path):
    written = anim.write_all(tmp_path)
    expected_frames = {
        "dilation_1.gif": 25,
        "dilation_2.gif": 9,
        "dilation_2_padding_2.gif": 49,
        "dilation_2_stride_2_padding_1.gif": 9,
        "fibonacci_growth.gif": 6,
        "gridding_vs_fibonacci.gif": 5,
    }
    assert sorted(p.name for p in written) == sorted(expected_frames)
    for path in written:
        committed = ROOT / "anim" / path.name
        assert committed.is_file(), f"anim/{path.name} is missing: run `make anim`"
        assert committed.read_bytes() == path.read_bytes(), f"anim/{path.name} is stale: run `make anim`"
        assert path.stat().st_size < 1_000_000
        with Image.open(path) as gif:
            assert gif.n_frames == expected_frames[path.name]
            assert gif.info.get("loop") == 0


def test_same_bytes_twice(tmp_path):
    first = anim.write_gif(tmp_path / "a.gif", anim.fibonacci_growth_frames(3)).read_bytes()
    second = anim.write_gif(tmp_path / "b.gif", anim.fibonacci_growth_frames(3)).read_bytes()
    assert first == second


def test_fibonacci_frames_show_the_analytic_maps():
    from course_utils.receptive_field import gradient_map

    frames = anim.fibonacci_growth_frames(4, size=21, cell=10)
    for n, frame in enumerate(frames, start=1):
        rgb = np.asarray(frame.convert("RGB"))
        grid = gradient_map([1, 1, 2, 3][:n], 21)
        cells = rgb[26 + 5 : 26 + 210 : 10, 6 + 5 : 6 + 210 : 10]  # one pixel per cell centre
        assert np.array_equal(np.all(cells == 255, axis=-1), grid == 0)  # white exactly where no path


def test_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "x.gif"
    target.write_bytes(b"old")

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(anim.os, "replace", explode)
    with pytest.raises(KeyboardInterrupt):
        anim.write_gif(target, anim.fibonacci_growth_frames(2))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.gif"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="frames must not be empty"):
        anim.write_gif("unused.gif", [])
    with pytest.raises(ValueError, match="repeated and fixed must have equal depth, got 2 and 3 layers"):
        anim.gridding_comparison_frames((2, 2), (1, 1, 2))
    with pytest.raises(ValueError, match="dilation must be >= 1, got 0"):
        anim.SlideConfig("bad", dilation=0)
    with pytest.raises(ValueError, match="grid must be 2D"):
        anim.heatmap_image(np.ones(3), "t")
