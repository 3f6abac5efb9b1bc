"""course_utils as a package: light to import, setup() seeds and styles, shared helpers."""

import json
import subprocess
import sys

import numpy as np
import pytest

import course_utils


def _fresh_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout


def test_import_leaves_heavy_frameworks_unimported():
    out = _fresh_python(
        "import sys, json, course_utils;"
        "print(json.dumps(sorted(m for m in ('torch', 'tensorflow', 'keras', 'matplotlib') if m in sys.modules)))"
    )
    assert json.loads(out) == []


@pytest.mark.parametrize("module", ["conv", "receptive_field", "sequences"])
def test_numpy_only_modules_import_no_framework(module):
    out = _fresh_python(
        f"import sys, json, course_utils.{module};"
        "print(json.dumps(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules)))"
    )
    assert json.loads(out) == []


def test_import_sets_quiet_tensorflow_environment():
    out = _fresh_python(
        "import os, course_utils; print(os.environ['TF_CPP_MIN_LOG_LEVEL'], os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    )
    assert out.split() == ["3", "0"]


def test_submodules_load_lazily_and_unknown_names_fail():
    assert course_utils.conv.effective_kernel_size(3, 2) == 5
    with pytest.raises(AttributeError, match="no_such_module"):
        course_utils.no_such_module  # noqa: B018


def test_setup_seeds_numpy_and_torch_and_sets_style():
    import matplotlib as mpl
    import torch

    course_utils.setup(7)
    first = (np.random.rand(), torch.rand(1).item())
    course_utils.setup(7)
    assert (np.random.rand(), torch.rand(1).item()) == first
    assert mpl.rcParams["figure.facecolor"] == "white"
    assert mpl.rcParams["image.interpolation"] == "none"


def test_max_abs_diff_rounds_and_checks_shapes():
    assert course_utils.max_abs_diff([1.0, 2.0], [1.0, 2.0 + 1e-14]) == 0.0
    assert course_utils.max_abs_diff([1.0, 2.0], [1.0, 2.5]) == 0.5
    assert str(course_utils.max_abs_diff([-1e-17], [0.0])) == "0.0"
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        course_utils.max_abs_diff([1, 2], [1, 2, 3])


def test_sample_photo_ships_with_matplotlib_and_is_normalised():
    photo = course_utils.images.sample_photo(64)
    assert photo.shape == (64, 64)
    assert 0.0 <= photo.min() < photo.max() <= 1.0
    assert course_utils.images.sample_photo(None, gray=False).shape == (600, 512, 3)
    with pytest.raises(ValueError, match="size must be >= 8, got 2"):
        course_utils.images.sample_photo(2)


def test_setup_filters_only_the_known_pytorch_same_padding_notice():
    import warnings

    import torch
    import torch.nn.functional as F

    course_utils.setup()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        course_utils.setup()  # re-installs its filters after simplefilter reset them
        F.conv1d(torch.zeros(1, 1, 7), torch.zeros(1, 1, 2), padding="same")
        warnings.warn("a different UserWarning", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["a different UserWarning"]
