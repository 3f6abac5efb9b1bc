"""plot_maps draws maps on offset axes (centre = 0) with a labelled colour bar."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from course_utils import plotting  # noqa: E402
from course_utils import receptive_field as rf  # noqa: E402


def test_offset_axes_and_paths_label():
    fig = plotting.plot_maps([rf.gradient_map((1, 2), 7), rf.gradient_map((2,), 11)], ["a", "b"], annotate=True)
    panels = [ax for ax in fig.axes if ax.images]
    assert [tuple(ax.images[0].get_extent()) for ax in panels] == [(-3.5, 3.5, 3.5, -3.5), (-5.5, 5.5, 5.5, -5.5)]
    assert all(ax.get_xlabel() == "column offset" and ax.get_ylabel() == "row offset" for ax in panels)
    colorbars = [ax for ax in fig.axes if not ax.images]
    assert len(colorbars) == 2 and all(ax.get_ylabel() == "paths" for ax in colorbars)
    # annotations sit on the offsets: the centre's count is written at (0, 0)
    centre = [t for t in panels[0].texts if t.get_position() == (0, 0)]
    assert [t.get_text() for t in centre] == [f"{rf.gradient_map((1, 2), 7)[3, 3]:g}"]
    plt.close(fig)


def test_colorbar_label_is_configurable():
    fig = plotting.plot_maps([np.ones((3, 3))], ["erf"], colorbar_label="mean |gradient| (max = 1)")
    assert any(ax.get_ylabel() == "mean |gradient| (max = 1)" for ax in fig.axes)
    plt.close(fig)
