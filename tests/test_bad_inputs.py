"""Every public callable of course_utils refuses bad arguments with an error that names them.

The test walks every module of ``course_utils._SUBMODULES`` (and the package itself), takes each
public callable defined there, and looks it up in TABLE. For every parameter it calls the
function with valid arguments except that one, set to each bad value of its list, and asserts a
ValueError or TypeError whose message contains the parameter's name (and, for a scalar bad value,
the value). A public callable without an entry FAILS ``test_every_public_callable_has_an_entry``.

HOW TO ADD AN ENTRY (a new function ``receptive_field.hdc(dilations, kernel_size=3)``, say):

    "receptive_field.hdc": E(dilations=((1, 2, 5), RATES), kernel_size=(D, ODD_KERNEL)),

- the key is ``"<module>.<name>"`` (no dot for a function of the package itself, e.g. ``"setup"``);
- each parameter is ``name=(valid value, bad values)``; ``D`` as the valid value keeps the default;
  the bad values are one of the tables below (POSITIVE_INT, RATES, ARRAY_2D, ...) or your own tuple;
- every parameter of the signature must appear, or be listed in ``_skip={"name": "why"}``;
- ``_run=False`` if the valid call itself is too slow or has side effects (it is not executed);
- a result record (a dataclass a function returns) goes in RECORDS; an exercise checker
  ``check_x(learner)`` needs no entry (it must answer a non-function with a NOT YET verdict).
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import course_utils

NAN = float("nan")
D = object()  # "keep the default" in an entry


@dataclass
class Entry:
    params: dict[str, tuple[Any, tuple]]
    skip: dict[str, str] = field(default_factory=dict)
    run: bool = True


def E(*, _skip: dict[str, str] | None = None, _run: bool = True, **params: tuple[Any, tuple]) -> Entry:
    return Entry(params, _skip or {}, _run)


# Tables of bad values, by the kind of parameter --------------------------------------------------
POSITIVE_INT = (0, -1, 1.5, NAN, "3", None, True)
NONNEG_INT = (-1, 1.5, NAN, "3", None, True)
ODD_KERNEL = (*POSITIVE_INT, 2, 4)
POSITIVE_REAL = (0, -1.0, NAN, math.inf, "x", None, True)
BOOL = ("yes", 1, None)
TEXT = (None, 3, b"x")
CALLABLE = (None, 3, "f")
RATES = ((), [0], [1, -2], [1.5], "124", 3, {1, 2}, None, [1, NAN])
CMAP = ("nope", None, 3)
RNG = (1, "abc", np.random.RandomState(0))
SIZE_FLOAT = (0, -1, NAN, "x", None, True, 1e9)
NCOLS = (0, -1, 1.5, "2", True)
RAGGED = [[1, 2], [3]]
# Issue 20, second round: values whose mask, layout or device NumPy would drop, and sizes beyond a limit
MASKED = np.ma.array([1.0, 99.0], mask=[False, True])
SPARSE, META = torch.ones(2).to_sparse(), torch.ones(2, device="meta")
HIDDEN = (MASKED, SPARSE, META)
HUGE_FIELD = [2**21]  # a receptive field past MAX_FIELD


def arrays(*wrong_shapes: Any) -> tuple:
    """None, a string, a ragged list, an empty list, and the wrong shapes given (as arrays of ones)."""
    return (None, "abc", RAGGED, [], *(np.ones(shape) for shape in wrong_shapes))


# Valid objects the entries share
X1, W1 = np.ones((1, 2, 10)), np.ones((4, 2, 3))
X2, W2 = np.ones((1, 2, 8, 8)), np.ones((3, 2, 3, 3))
TMP = Path(tempfile.mkdtemp(prefix="course_utils_bad_inputs_"))


def _image():
    from PIL import Image

    return Image.new("RGB", (4, 4), (255, 255, 255))


def _slide_config(**fields):
    from course_utils.anim import SlideConfig

    return SlideConfig("x", **fields)


def _wavenet():
    from course_utils.blocks import WaveNet

    return WaveNet(2, 2)


def _context_module():
    from course_utils.blocks import ContextModule

    return ContextModule(2, identity_init=False)


def _gridding_net():
    from course_utils.degridding import gridding_net

    return gridding_net("dense", 2)


def _labels():
    return torch.zeros(2, 4, 4, dtype=torch.long)


def _delay_batch():
    from course_utils import demos

    return demos.delay_batch(2, 8, 0)


CHECKER = "exercise checker"  # learner: a non-function gets a one-line NOT YET verdict, not an error
RECORDS = {
    "anim.Geometry": "pixel positions returned by slide_frames",
    "anim.SlideFrame": "one frame returned by slide_frames",
    "blocks.Causality": "the result of future_leaks",
    "receptive_field.GriddingReport": "the result of describe",
    "receptive_field.LayerRF": "a row of a ReceptiveField",
    "receptive_field.ReceptiveField": "the result of receptive_field",
    "backbones.Cost": "the result of measure_cost",
    "receptive_field.HDCVerdict": "the result of hdc",
}

TABLE: dict[str, Entry | str] = {
    # the package
    "setup": E(seed=(D, (-1, 1.7, "abc", None, True, 2**32, NAN)), plots=(False, BOOL), _run=False),
    "limit_threads": E(threads=(D, POSITIVE_INT)),
    "max_abs_diff": E(
        a=([1.0, 1.0], (None, "abc", RAGGED, *HIDDEN)),
        b=([1.0, 1.0], (None, "abc", [1.0], *HIDDEN)),
        decimals=(D, NONNEG_INT),
    ),
    # anim
    "anim.SlideConfig": E(
        name=("x", (None, "", 3)),
        input_size=(D, (*POSITIVE_INT, 65)),
        kernel_size=(D, (*POSITIVE_INT, 9)),
        dilation=(D, (*POSITIVE_INT, 4)),
        stride=(D, POSITIVE_INT),
        padding=(D, NONNEG_INT),
    ),
    "anim.slide_frames": E(
        config=(_slide_config(), (None, "x", {"name": "x"}, _slide_config(input_size=64))),
        cell=(D, (*POSITIVE_INT, 2, 1000)),
    ),
    "anim.heatmap_image": E(
        grid=(np.ones((3, 3)), (*arrays((3,)), np.full((2, 2), NAN), np.ones((2000, 2000)), MASKED[None])),
        title=("t", TEXT),
        caption=(D, TEXT),
        cell=(D, (*POSITIVE_INT, 1000)),
        cmap=(D, CMAP),
    ),
    "anim.fibonacci_growth_frames": E(
        n_layers=(2, (*POSITIVE_INT, 30, 41)), size=(9, (*POSITIVE_INT, 10**4)), cell=(2, POSITIVE_INT)
    ),
    "anim.gridding_comparison_frames": E(
        repeated=((2, 2), RATES), fixed=((1, 1), (*RATES, (1,))), size=(9, POSITIVE_INT), cell=(2, POSITIVE_INT)
    ),
    "anim.write_gif": E(
        path=(TMP / "x.gif", (None, 3, "", "/nonexistent-directory/x.gif")),
        frames=([_image()], (None, [], [1, 2], "abc", [np.ones((2, 2))])),
        duration_ms=(D, (*POSITIVE_INT, 5)),
    ),
    "anim.write_all": E(directory=(TMP / "anim", (None, 3, "")), _run=False),
    # backbones
    "backbones.ResidualUnit": E(
        in_channels=(4, (*POSITIVE_INT, 10**9)),
        out_channels=(8, (*POSITIVE_INT, 10**9)),
        stride=(D, POSITIVE_INT),
        dilation=(D, POSITIVE_INT),
        first_dilation=(D, (0, -1, 1.5, NAN, "3", True)),  # None is valid: the same as dilation
    ),
    "backbones.TinyResNet": E(
        width=(2, (*POSITIVE_INT, 10**5)),
        output_stride=(D, (*POSITIVE_INT, 2, 12, 64)),
        multi_grid=(D, RATES),
        in_channels=(D, (*POSITIVE_INT, 10**9)),
    ),
    "backbones.measure_cost": E(
        model=(torch.nn.Conv2d(1, 2, 3), (None, "m", lambda x: x)),
        input_shape=((1, 1, 8, 8), ((), "abc", None, 3, (1, 0, 8, 8), (1, 1.5), [1, NAN], {1, 8}, (1, 2, 8, 8))),
    ),
    # blocks
    "blocks.BatchNorm2d": E(
        num_features=(3, (*POSITIVE_INT, 10**9)),
        eps=(D, POSITIVE_REAL),
        momentum=(D, (-0.1, 1.5, NAN, "x", True)),
        affine=(D, BOOL),
        track_running_stats=(D, BOOL),
        _skip={"device": "handed to PyTorch, which checks it", "dtype": "handed to PyTorch, which checks it"},
    ),
    "blocks.conv_bn_relu": E(
        in_channels=(3, (*POSITIVE_INT, 10**9)),
        out_channels=(4, (*POSITIVE_INT, 10**9)),
        kernel_size=(3, (*POSITIVE_INT, 10**5)),
        dilation=(2, POSITIVE_INT),
    ),
    "blocks.ASPP": E(
        in_channels=(4, (*POSITIVE_INT, 10**9)),
        out_channels=(8, (*POSITIVE_INT, 10**6)),
        rates=((1, 2), RATES),
        image_pooling=(D, BOOL),
        dropout=(D, (-0.1, 1.0, NAN, "x", None, True)),
    ),
    "blocks.WaveNetBlock": E(
        channels=(2, (*POSITIVE_INT, 10**5)), dilation=(2, POSITIVE_INT), kernel_size=(D, POSITIVE_INT)
    ),
    "blocks.WaveNet": E(
        channels=(2, (*POSITIVE_INT, 10**5)),
        n_layers=(3, (*POSITIVE_INT, 49)),
        n_stacks=(D, (*POSITIVE_INT, 10**5)),
        kernel_size=(D, POSITIVE_INT),
    ),
    "blocks.probe_receptive_field": E(
        module=(_wavenet(), CALLABLE), channels=(2, (*POSITIVE_INT, 10**9)), length=(12, (*POSITIVE_INT, 10**9))
    ),
    "blocks.future_leaks": E(
        module=(_wavenet(), CALLABLE), channels=(2, (*POSITIVE_INT, 10**9)), length=(6, (*POSITIVE_INT, 10**5))
    ),
    "blocks.SeparableAtrousConv2d": E(
        in_channels=(2, (*POSITIVE_INT, 10**9)),
        out_channels=(3, (*POSITIVE_INT, 10**9)),
        kernel_size=(D, ODD_KERNEL),
        dilation=(D, POSITIVE_INT),
    ),
    "blocks.ContextModule": E(channels=(2, (*POSITIVE_INT, 10**5)), rates=(D, RATES), identity_init=(D, BOOL)),
    "blocks.TemporalBlock": E(
        in_channels=(2, (*POSITIVE_INT, 10**9)),
        out_channels=(3, (*POSITIVE_INT, 10**9)),
        kernel_size=(2, (*POSITIVE_INT, 10**9)),
        dilation=(2, POSITIVE_INT),
        dropout=(D, (-0.1, 1.0, NAN, "x", None, True)),
    ),
    "blocks.TCN": E(
        in_channels=(2, (*POSITIVE_INT, 10**9)),
        channels=((4, 4), (*RATES, [4] * 49)),
        kernel_size=(D, (*POSITIVE_INT, 2**14 + 1)),
        dropout=(D, (-0.1, 1.0, NAN, "x", None, True, np.True_)),
    ),
    "blocks.probe_receptive_field_2d": E(
        module=(_context_module(), (*CALLABLE, lambda x: x)),
        channels=(2, (*POSITIVE_INT, 3, 10**9)),
        size=(9, (*POSITIVE_INT, 10**5)),
        seed=(D, NONNEG_INT),
    ),
    # conv
    "conv.effective_kernel_size": E(kernel_size=(3, POSITIVE_INT), dilation=(2, POSITIVE_INT)),
    "conv.conv_output_size": E(
        n=(10, POSITIVE_INT),
        kernel_size=(3, POSITIVE_INT),
        stride=(D, POSITIVE_INT),
        padding=(D, (*NONNEG_INT, (1, 2, 3))),
        dilation=(D, POSITIVE_INT),
    ),
    "conv.dilate_kernel": E(
        w=(np.ones(3), (*arrays(()), np.ones(0), *HIDDEN)), dilation=(2, (*POSITIVE_INT, (1, 2), 10**12))
    ),
    "conv.resolve_padding": E(
        padding=("same", ("middle", None, -1, 1.5, True, (1, 2, 3))),
        kernel_size=((3,), (None, 3, (), (0,), (1.5,), ("3",), (3, 3, 3, 3))),
        stride=((1,), ((0,), (-1,), (1.5,), None, (1, 1))),
        dilation=((1,), ((0,), (-1,), (1.5,), None, (1, 1), (NAN,))),
    ),
    "conv.conv1d": E(
        x=(X1, (*arrays((2, 10), (1, 3, 10), (1, 2, 0)), np.array(["a"]), *HIDDEN)),
        w=(W1, (*arrays((1, 3), (4, 3, 3), (4, 2, 0)),)),
        b=(np.ones(4), ("abc", RAGGED, np.ones(3), np.ones((4, 1)))),
        stride=(D, (*POSITIVE_INT, (1, 2))),
        padding=(D, ("middle", -1, 1.5, None, True, (1, 2, 3), 10**9)),
        dilation=(D, POSITIVE_INT),
        method=(D, ("slow", None, 1)),
    ),
    "conv.conv2d": E(
        x=(X2, (*arrays((2, 8, 8), (1, 3, 8, 8), (1, 2, 0, 8)), *HIDDEN)),
        w=(W2, (*arrays((3, 3), (3, 3, 3, 3)),)),
        b=(np.ones(3), ("abc", RAGGED, np.ones(4))),
        stride=(D, (*POSITIVE_INT, (1, 2, 3))),
        padding=(D, ("causal", -1, 1.5, None, True, (1, 2, 3), 10**5)),
        dilation=(D, (*POSITIVE_INT, (1, 0))),
        method=(D, ("slow", None)),
    ),
    "conv.space_to_batch": E(
        x=(np.ones((1, 1, 4, 4)), (*arrays((4, 4), (1, 1, 3, 4)), np.array([[[["a"]]]]))),
        block=(2, (*POSITIVE_INT, 3)),
    ),
    "conv.batch_to_space": E(
        y=(np.ones((4, 1, 2, 2)), (*arrays((4, 2, 2), (3, 1, 2, 2)), np.array([[[["a"]]]]))),
        block=(2, (*POSITIVE_INT, 3)),
    ),
    "conv.polyphase_conv2d": E(
        x=(X2, (*arrays((2, 8, 8), (1, 3, 8, 8), (1, 2, 0, 8)),)),
        w=(W2, (*arrays((3, 3), (3, 3, 3, 3)),)),
        b=(np.ones(3), ("abc", RAGGED, np.ones(4))),
        padding=(D, ("causal", -1, 1.5, None, True, (1, 2, 3))),
        dilation=(2, (*POSITIVE_INT, (1, 2))),
    ),
    # degridding
    "degridding.grid_energy": E(
        maps=(np.ones((4, 4)), (*arrays((4,), (3, 4), (0, 4)), np.full((4, 4), NAN))),
        period=(2, (*POSITIVE_INT, 1)),
    ),
    "degridding.checkerboard_gain": E(dilations=((1, 2), RATES), period=(D, (*POSITIVE_INT, 1))),
    "degridding.power_spectrum": E(
        kernel=(np.ones((3, 3)), (*arrays((3,), (70, 70)), np.zeros((3, 3)), np.full((3, 3), NAN))),
        size=(D, (*POSITIVE_INT, 2, 10**5)),
    ),
    "degridding.plot_spectra": E(
        spectra=([np.ones((4, 4))], (None, [], "abc", [np.ones(3)], [RAGGED], [None], {1})),
        titles=(["a"], (None, "a", [1], ["a", "b"])),
        suptitle=(D, TEXT),
    ),
    "degridding.SharedSeparableFilter": E(kernel_size=(3, ODD_KERNEL)),
    "degridding.gridding_net": E(
        kind=("dense", ("nope", "", None, 3)),
        width=(2, (*POSITIVE_INT, 10**5)),
        rate=(D, (*POSITIVE_INT, 1)),
        classes=(D, (*POSITIVE_INT, 10**9)),
    ),
    "degridding.centre_gradient": E(
        model=(_gridding_net(), (None, "m", lambda x: x)),
        images=(
            torch.zeros(1, 1, 8, 8),
            (
                None,
                np.zeros((1, 1, 8, 8)),
                torch.zeros(8, 8),
                torch.zeros(1, 2, 8, 8),
                torch.zeros(1, 1, 8, 8, dtype=torch.long),
                torch.zeros(0, 1, 8, 8),
            ),
        ),
    ),
    "degridding.degridding_study": E(  # the smallest valid study: one run of one step of the dense net
        kinds=(("dense",), ((), "dense", ["nope"], [3], None, {"dense"}, 3)),
        runs=(1, POSITIVE_INT),
        steps=(1, POSITIVE_INT),
        size=(24, (*POSITIVE_INT, 20, 26)),
        width=(2, POSITIVE_INT),
        rate=(D, (*POSITIVE_INT, 1, 5)),
        batch=(1, POSITIVE_INT),
    ),
    # demos
    "demos.squares_batch": E(
        n=(2, (*POSITIVE_INT, 10**6)),
        size=(D, (*POSITIVE_INT, 20)),
        rng=(D, RNG),
        noise=(D, (-1, NAN, math.inf, "x", None, True)),
    ),
    "demos.delay_batch": E(
        n=(2, (*POSITIVE_INT, 10**7)), length=(10, (*POSITIVE_INT, 10**8)), delay=(3, (*NONNEG_INT, 10)), rng=(D, RNG)
    ),
    "demos.train": E(
        model=(torch.nn.Conv1d(1, 1, 1).double(), (None, "m", lambda x: x)),
        make_batch=(_delay_batch, CALLABLE),
        loss_fn=(torch.nn.functional.mse_loss, CALLABLE),
        steps=(1, POSITIVE_INT),
        lr=(D, POSITIVE_REAL),
        desc=(D, TEXT),
        progress=(False, BOOL),
    ),
    "demos.mean_iou": E(
        logits_or_labels=(_labels(), (None, np.zeros((2, 4, 4)), torch.zeros(4))),
        target=(_labels(), (None, np.zeros((2, 4, 4)), torch.zeros(4), torch.zeros(2, 4, 5))),
        classes=(D, ((), None, "ab", [1.5], [-1], 1)),
    ),
    # exercises
    "exercises.check_cases": E(
        name=("f", (*TEXT, "")),
        learner=(abs, ()),  # a non-function is the learner's mistake: a verdict (test_exercises.py)
        reference=(abs, CALLABLE),
        cases=([((1,), {})], (None, "abc", [], [(1, {})], [((1,),)], 3)),
        atol=(D, (-1.0, NAN, "x", None, True)),
        expect_errors=(D, (3, [((1,), {}, "ValueError")], "abc")),
        hints=(D, (3, "abc", [("x",)], [(1, abs)], [("x", 3)], {"x": abs})),
    ),
    # images
    "images.sample_photo": E(size=(16, (0, 7, -1, 1.5, NAN, "3", True, 10**6)), gray=(D, BOOL)),
    # plotting
    "plotting.plot_dilated_kernels": E(kernel_size=(3, (*POSITIVE_INT, 10**5)), dilations=((1, 2), RATES)),
    "plotting.show_images": E(
        images=([np.eye(3)], (None, [], "abc", [np.ones(3)], [RAGGED], [None], 3)),
        titles=(["a"], (None, "a", [1], ["a", "b"])),
        suptitle=(D, TEXT),
        cmap=(D, (*CMAP, ["gray", "gray"], [])),
        colorbar=(D, BOOL),
        symmetric=(D, ("yes", None, [True, False], 1)),
        ncols=(D, NCOLS),
        size=(D, SIZE_FLOAT),
    ),
    "plotting.plot_signal_taps": E(
        signal=(np.arange(10.0), (*arrays((2, 5)),)),
        kernel_size=(3, (*POSITIVE_INT, 20)),
        dilations=((1, 2), (*RATES, (1, 9))),
        position=(1, (-2, 1.5, NAN, "1", None, True, 100)),
    ),
    "plotting.plot_maps": E(
        maps=([np.eye(3)], (None, [], "abc", [np.ones(3)], [RAGGED])),
        titles=(["a"], (None, "a", [1], ["a", "b"])),
        suptitle=(D, TEXT),
        cmap=(D, CMAP),
        ncols=(D, NCOLS),
        size=(D, SIZE_FLOAT),
        annotate=(D, BOOL),
        colorbar_label=(D, TEXT),
    ),
    "plotting.plot_aspp_branches": E(
        rates=((2, 4), RATES), size=(9, POSITIVE_INT), background=(D, ("abc", np.ones(3), RAGGED))
    ),
    # probe
    "probe.build_stack": E(
        dilations=((1, 2), RATES),
        kernel_size=(D, ODD_KERNEL),
        weights=(D, ("zeros", None, 1)),
        nonlinearity=(D, ("sigmoid", 1, "")),
        generator=(D, (1, "g", np.random.default_rng(0))),
    ),
    "probe.gradient_probe": E(
        dilations=((1, 2), RATES),
        size=(9, (*POSITIVE_INT, 10**5)),
        kernel_size=(D, ODD_KERNEL),
        weights=(D, ("zeros", None)),
        seed=(D, NONNEG_INT),
        nonlinearity=(D, ("sigmoid", 1)),
        input=(D, ("ones", None, 1)),
    ),
    "probe.effective_receptive_field": E(
        dilations=((1, 2), RATES),
        size=(7, (*POSITIVE_INT, 10**6)),
        n_samples=(2, (*POSITIVE_INT, 10**5)),
        kernel_size=(D, ODD_KERNEL),
        nonlinearity=(D, ("sigmoid", 1)),
        seed=(D, NONNEG_INT),
    ),
    # receptive_field
    "receptive_field.receptive_field": E(
        layers=(
            [(3, 1, 2)],
            (5, None, "abc", [], [(3, 1, 0)], [(3, 1, 1.5)], [(3, 1, 1, 1)], [{"size": 3}], {(3, 1, 1)}, [5]),
        )
    ),
    "receptive_field.impulse_extent": E(
        layers=([(3, 1, 2)], (5, None, "abc", [], [(3, 1, 0)], [(3, 1, 1.5)], [(3, 1, 2**22)])),
        length=(D, (0, -1, 1.5, NAN, "3", True, 2)),
    ),
    "receptive_field.path_counts": E(dilations=((1, 2), (*RATES, HUGE_FIELD, [1] * 5000)), kernel_size=(D, ODD_KERNEL)),
    "receptive_field.gradient_map": E(
        dilations=((1, 2), RATES), size=(9, (*POSITIVE_INT, 10**6)), kernel_size=(D, ODD_KERNEL)
    ),
    "receptive_field.holes": E(dilations=((1, 2), (*RATES, HUGE_FIELD)), kernel_size=(D, ODD_KERNEL)),
    "receptive_field.has_gridding": E(dilations=((1, 2), (*RATES, HUGE_FIELD)), kernel_size=(D, ODD_KERNEL)),
    "receptive_field.hdc_max_distance": E(dilations=((1, 2), RATES), kernel_size=(D, ODD_KERNEL)),
    "receptive_field.hdc": E(dilations=((1, 2, 5), RATES), kernel_size=(D, ODD_KERNEL)),
    "receptive_field.describe": E(dilations=((1, 2), (*RATES, HUGE_FIELD)), kernel_size=(D, ODD_KERNEL)),
    "receptive_field.report_table": E(
        schedules=({"a": (1, 2)}, (None, [], {}, {"a": [0]}, {1: (1,)}, "abc", {"a": "124"})),
        kernel_size=(D, ODD_KERNEL),
    ),
    "receptive_field.spread": E(
        grid=(np.ones((3, 3)), (*arrays((3,)), -np.ones((3, 3)), np.zeros((3, 3)), np.full((2, 2), NAN)))
    ),
    "receptive_field.valid_tap_fraction": E(
        size=(9, POSITIVE_INT), rate=(2, POSITIVE_INT), kernel_size=(D, ODD_KERNEL)
    ),
    # sequences
    "sequences.fibonacci": E(n=(5, (*POSITIVE_INT, 10**6))),
    "sequences.powers": E(base=(2, POSITIVE_INT), n=(4, (*POSITIVE_INT, 10**6))),
    "sequences.sawtooth": E(n=(5, (*POSITIVE_INT, 10**6)), cycle=(D, RATES)),
    "sequences.fastest_hole_free": E(n=(4, (*POSITIVE_INT, 10**6)), kernel_size=(D, (*ODD_KERNEL, 1))),
    "sequences.contiguous_growth": E(dilations=((1, 2), RATES), kernel_size=(D, ODD_KERNEL)),
    # tf_bridge
    "tf_bridge.frameworks": E(),
    "tf_bridge.torch_to_keras_kernel": E(w=(np.ones((2, 3, 3, 3)), (None, "abc", RAGGED, np.ones((3, 3)), [1j]))),
    "tf_bridge.keras_to_torch_kernel": E(w=(np.ones((3, 3, 3, 2)), (None, "abc", RAGGED, np.ones((3, 3)), [1j]))),
    "tf_bridge.channels_last": E(x=(np.ones((1, 2, 3, 3)), (None, "abc", RAGGED, np.ones(5)))),
    "tf_bridge.channels_first": E(x=(np.ones((1, 3, 3, 2)), (None, "abc", RAGGED, np.ones(5)))),
    "tf_bridge.tf_same_padding": E(
        n=(7, POSITIVE_INT), kernel_size=(3, POSITIVE_INT), stride=(D, POSITIVE_INT), dilation=(D, POSITIVE_INT)
    ),
    "tf_bridge.keras_conv2d": E(
        x=(np.ones((1, 5, 5, 2)), (*arrays((5, 5, 2), (1, 5, 5, 3), (1, 2, 2, 2)),)),
        w=(np.ones((3, 3, 2, 4)), (*arrays((3, 3, 2), (3, 3, 3, 4)),)),
        b=(D, ("abc", np.ones(3), np.ones((4, 1)))),
        strides=(D, (*POSITIVE_INT, (1, 2, 3))),
        padding=(D, ("causal", "SAME", None, 1)),
        dilation_rate=(D, POSITIVE_INT),
    ),
    "tf_bridge.keras_conv1d": E(
        x=(np.ones((1, 6, 2)), (*arrays((6, 2), (1, 6, 3), (1, 2, 2)),)),
        w=(np.ones((3, 2, 4)), (*arrays((3, 2), (3, 3, 4)),)),
        b=(D, ("abc", np.ones(3))),
        strides=(D, POSITIVE_INT),
        padding=(D, ("full", "SAME", None, 1)),
        dilation_rate=(D, POSITIVE_INT),
    ),
    "tf_bridge.tf_nn_conv2d": E(
        x=(np.ones((1, 5, 5, 2)), (*arrays((5, 5, 2), (1, 5, 5, 3), (1, 2, 2, 2)),)),
        w=(np.ones((3, 3, 2, 4)), (*arrays((3, 3, 2), (3, 3, 3, 4)),)),
        strides=(D, (*POSITIVE_INT, (1, 2, 3))),
        padding=(D, ("valid", None, 1)),
        dilations=(D, (*POSITIVE_INT, (1, 0))),
    ),
    # timing
    "timing.median_time": E(fn=(lambda: None, CALLABLE), repeat=(D, POSITIVE_INT), warmup=(D, NONNEG_INT)),
    "timing.time_table": E(
        candidates=({"a": lambda: None}, (None, {}, {"a": 3}, {1: lambda: None}, [lambda: None])),
        reference=(D, ("b", 3)),
        repeat=(1, POSITIVE_INT),
        warmup=(0, NONNEG_INT),
    ),
    # widgets
    "widgets.parse_rates": E(text=("1, 2", (None, 3, b"1")), _skip={}),
    "widgets.ReceptiveFieldExplorer": E(
        rates=(D, (None, 3, "", "0", "a")),
        kernel_size=(D, (*ODD_KERNEL, 11)),
        size=(D, (4, 6, 131, 1.5, None, True)),
        weights=(D, ("zeros", None)),
    ),
    "widgets.receptive_field_explorer": E(
        rates=(D, (None, 3, "", "0", "a")),
        kernel_size=(D, (*ODD_KERNEL, 11)),
        size=(D, (4, 6, 131, 1.5, None, True)),
        weights=(D, ("zeros", None)),
    ),
}
NOT_A_FUNCTION = (None, 3, "f", [1, 2])


def public_callables() -> dict[str, Any]:
    """``{"module.name": object}`` for every public callable defined in a course_utils module."""
    found = {
        name: value
        for name, value in vars(course_utils).items()
        if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == "course_utils"
    }
    for module_name in course_utils._SUBMODULES:
        module = importlib.import_module(f"course_utils.{module_name}")
        for name, value in vars(module).items():
            if not name.startswith("_") and callable(value) and getattr(value, "__module__", None) == module.__name__:
                found[f"{module_name}.{name}"] = value
    return found


PUBLIC = public_callables()
# An exercise checker check_x(learner) needs no entry: any non-function must get a NOT YET verdict.
TABLE.update({
    key: CHECKER
    for key, fn in PUBLIC.items()
    if key.startswith("exercises.check_") and list(inspect.signature(fn).parameters) == ["learner"]
})  # fmt: skip
TESTED = sorted(set(PUBLIC) & set(TABLE))
COUNTS: dict[str, tuple[int, int]] = {}  # key -> (bad inputs tried, bad inputs refused as required)


def test_every_public_callable_has_an_entry():
    missing = sorted(set(PUBLIC) - set(TABLE) - set(RECORDS))
    assert not missing, (
        f"public callables without an entry in TABLE of {Path(__file__).name}: {missing}. Add one entry each "
        "(see 'HOW TO ADD AN ENTRY' at the top of that file), so their bad arguments are tested."
    )
    stale = sorted((set(TABLE) | set(RECORDS)) - set(PUBLIC))
    assert not stale, f"entries for callables that no longer exist (or are no longer public): {stale}"


def _parameters(fn: Any) -> list[str]:
    return [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def _names(message: str, name: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) is not None


def _shows(message: str, value: Any) -> bool:
    if not isinstance(value, int | float | str | bytes | type(None)):
        return True  # arrays, lists and objects: the parameter's name is enough
    return repr(value) in message or str(value) in message


def _close_figures() -> None:
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize("key", TESTED)
def test_bad_arguments_raise_named_errors(key, capsys):
    fn, entry = PUBLIC[key], TABLE[key]
    tried = refused = 0
    problems = []
    if entry == CHECKER:
        for bad in NOT_A_FUNCTION:
            tried += 1
            try:
                result = fn(bad)
            except Exception as exc:  # noqa: BLE001 -- the point: a checker must not raise at a learner
                problems.append(f"learner={bad!r} raised {type(exc).__name__}: {exc}")
                continue
            lines = capsys.readouterr().out.splitlines()
            if result is None and len(lines) == 1 and lines[0].startswith("NOT YET: expected a function for "):
                refused += 1
            else:
                problems.append(f"learner={bad!r} printed {lines!r}")
        COUNTS[key] = (tried, refused)
        assert not problems, "\n".join(problems)
        return
    parameters = _parameters(fn)
    uncovered = sorted(set(parameters) - set(entry.params) - set(entry.skip))
    assert not uncovered, f"{key}: give the parameter(s) {uncovered} bad values (or a reason in _skip)"
    unknown = sorted(set(entry.params) - set(parameters))
    assert not unknown, f"{key}: the table names parameters the signature does not have: {unknown}"
    valid = {name: value for name, (value, _) in entry.params.items() if value is not D}
    if entry.run:
        fn(**valid)  # the base call must be valid, or the errors below could come from elsewhere
        _close_figures()
    for name, (_, bad_values) in entry.params.items():
        for bad in bad_values:
            tried += 1
            try:
                fn(**(valid | {name: bad}))
            except (ValueError, TypeError) as exc:
                message = str(exc)
                if _names(message, name) and _shows(message, bad):
                    refused += 1
                else:
                    problems.append(f"{name}={bad!r}: {type(exc).__name__} does not name it: {message}")
            except Exception as exc:  # noqa: BLE001 -- reported, with every other problem of this callable
                problems.append(f"{name}={bad!r}: {type(exc).__name__} (not ValueError/TypeError): {exc}")
            else:
                problems.append(f"{name}={bad!r}: accepted silently")
            finally:
                _close_figures()
    COUNTS[key] = (tried, refused)
    assert not problems, f"{key}:\n" + "\n".join(problems)


def _reproducers():
    from course_utils import anim, blocks, conv, demos, plotting, receptive_field, sequences, tf_bridge

    x, w = np.ones((1, 8, 8, 3)), np.ones((3, 3, 3, 2))
    return [
        (lambda: tf_bridge.tf_nn_conv2d(x, w, dilations=1.5), TypeError, r"dilations must be an integer, got 1.5"),
        (lambda: tf_bridge.tf_nn_conv2d(x, w, dilations=0), ValueError, r"dilations must be >= 1, got 0"),
        (lambda: tf_bridge.tf_nn_conv2d(x, w, strides=0), ValueError, r"strides must be >= 1, got 0"),
        (lambda: tf_bridge.tf_nn_conv2d(np.ones((1, 8, 8, 2)), w), ValueError, r"channel mismatch: x has C=2"),
        (lambda: blocks.conv_bn_relu(3, 4, 3, dilation=0), ValueError, r"dilation must be >= 1, got 0"),
        (lambda: plotting.show_images([], []), ValueError, r"images must not be empty"),
        (lambda: plotting.plot_signal_taps(np.arange(9.0), 3, [1], position=-2), ValueError, r"position must be >= 0"),
        (lambda: plotting.plot_dilated_kernels(3, []), ValueError, r"dilations must not be empty"),
        (lambda: conv.resolve_padding("same", (3,), (1,), (-1,)), ValueError, r"dilation\[0\] must be >= 1, got -1"),
        (lambda: sequences.contiguous_growth([1, 2], kernel_size=4), ValueError, r"kernel_size must be odd"),
        (lambda: receptive_field.path_counts({4, 1}), TypeError, r"dilations must be a sequence of integers"),
        (lambda: course_utils.setup(seed=1.7), TypeError, r"seed must be an integer, got 1.7"),
        (lambda: course_utils.setup(seed="abc"), TypeError, r"seed must be an integer, got 'abc'"),
        (lambda: receptive_field.receptive_field(5), TypeError, r"layers must be a list or a tuple, got 5"),
        (lambda: anim.heatmap_image(np.ones((3, 3)), "t", cmap="nope"), ValueError, r"cmap must be a matplotlib"),
        (lambda: anim.write_gif(TMP / "r.gif", [1, 2]), TypeError, r"frames\[0\] must be a PIL image, got 1"),
        (lambda: demos.squares_batch(2, noise=-1), ValueError, r"noise must be >= 0, got -1"),
        (lambda: demos.squares_batch(2, noise=NAN), ValueError, r"noise must be a finite number, got nan"),
    ]


def test_the_reproducers_of_the_reliability_probe():
    """The one-line reproducers of the probe that found silent answers and unnamed errors."""
    for call, error, message in _reproducers():
        with pytest.raises(error, match=message):
            call()


def test_zz_summary(capsys):
    """Runs last (file order): how many bad inputs were tried, over how many callables."""
    if set(COUNTS) != set(TESTED):
        pytest.skip("the summary needs every callable's test to have run")
    tried = sum(t for t, _ in COUNTS.values())
    refused = sum(r for _, r in COUNTS.values())
    shutil.rmtree(TMP, ignore_errors=True)
    with capsys.disabled():
        print(
            f"\nbad inputs: {tried} tried over {len(COUNTS)} public callables "
            f"({len(RECORDS)} result records exempt); {refused} refused with a named ValueError/TypeError "
            "or a NOT YET verdict"
        )
    assert tried == refused and tried > 0
