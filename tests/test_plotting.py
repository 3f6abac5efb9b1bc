"""Figures build headlessly, with titles and labels on every panel; bad input fails clearly."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import plotting  # noqa: E402


def _titled(fig):
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    return all(ax.get_title() for ax in axes if ax.has_data() or ax.images)


def test_figures_have_titles():
    figures = [
        plotting.plot_dilated_kernels(3, (1, 2, 4)),
        plotting.show_images([np.eye(4), -np.eye(4)], ["a", "b"], symmetric=[False, True], cmap=["gray", "RdBu_r"]),
        plotting.plot_signal_taps(np.arange(10.0), 3, (1, 2), position=1),
        plotting.plot_maps([np.eye(5), np.ones((5, 5))], ["x", "y"], annotate=True),
        plotting.plot_aspp_branches((6, 12, 18), 33),
    ]
    for fig in figures:
        assert _titled(fig)
        plt.close(fig)


def test_plot_dilated_kernels_draws_the_right_number_of_taps():
    fig = plotting.plot_dilated_kernels(3, (2,))
    shown = fig.axes[0].images[0].get_array()
    assert np.count_nonzero(np.nan_to_num(np.asarray(shown)) == 1) == 9
    plt.close(fig)


def test_bad_input():
    with pytest.raises(ValueError, match="images and titles must have the same length, got 2 and 1"):
        plotting.show_images([np.eye(2), np.eye(2)], ["only one"])
    with pytest.raises(ValueError, match="reads past the signal of length 5"):
        plotting.plot_signal_taps(np.arange(5.0), 3, (3,), position=0)
    with pytest.raises(ValueError, match=r"dilations\[0\] must be >= 1, got 0"):
        plotting.plot_dilated_kernels(3, (0,))
    plt.close("all")
