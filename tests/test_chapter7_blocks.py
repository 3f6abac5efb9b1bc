"""Chapter 7: separable atrous conv, context module, TCN, polyphase convolution, backbones, degridding, checkers."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import backbones, conv, degridding, exercises
from course_utils import receptive_field as rf
from course_utils.blocks import (
    TCN,
    ContextModule,
    SeparableAtrousConv2d,
    TemporalBlock,
    future_leaks,
    probe_receptive_field,
    probe_receptive_field_2d,
)

# --- SeparableAtrousConv2d ------------------------------------------------------------------------


@pytest.mark.parametrize(("c_in", "c_out", "k", "d"), [(1, 1, 1, 1), (3, 5, 3, 2), (8, 4, 5, 3), (6, 6, 3, 6)])
def test_separable_equals_depthwise_then_pointwise_and_its_dense_kernel(c_in, c_out, k, d):
    torch.manual_seed(0)
    sep = SeparableAtrousConv2d(c_in, c_out, k, d).double()
    x = torch.randn(2, c_in, 13, 17, dtype=torch.float64)
    pad = d * (k - 1) // 2
    with torch.no_grad():
        y = sep(x)
        depthwise = F.conv2d(x, sep.depthwise.weight, padding=pad, dilation=d, groups=c_in)
        composed = F.conv2d(depthwise, sep.pointwise.weight)
        dense = F.conv2d(x, sep.dense_weight(), padding=pad, dilation=d)
    assert y.shape == (2, c_out, 13, 17)
    torch.testing.assert_close(y, composed, rtol=0, atol=1e-12)
    torch.testing.assert_close(y, dense, rtol=0, atol=1e-12)


def test_separable_parameter_and_multiply_add_savings_follow_the_formula():
    c, o, k, d = 64, 96, 3, 4
    sep = SeparableAtrousConv2d(c, o, k, d)
    ordinary = torch.nn.Conv2d(c, o, k, padding=d * (k - 1) // 2, dilation=d, bias=False)
    cost_sep = backbones.measure_cost(sep, (1, c, 20, 20))
    cost_dense = backbones.measure_cost(ordinary, (1, c, 20, 20))
    assert cost_sep.parameters == c * k * k + c * o and cost_dense.parameters == c * o * k * k
    assert cost_sep.multiply_adds == 20 * 20 * (c * k * k + c * o)
    assert cost_sep.multiply_adds / cost_dense.multiply_adds == pytest.approx(1 / o + 1 / k**2)


def test_separable_trains_with_batch_one_and_rejects_bad_arguments():
    sep = SeparableAtrousConv2d(3, 4, 3, 2).train()
    sep(torch.randn(1, 3, 9, 9)).sum().backward()
    assert sep.depthwise.weight.grad is not None and sep.pointwise.weight.grad is not None
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        SeparableAtrousConv2d(3, 4, 2)
    with pytest.raises(ValueError, match="in_channels"):
        SeparableAtrousConv2d(0, 4)
    with pytest.raises(TypeError, match="dilation"):
        SeparableAtrousConv2d(3, 4, 3, 1.5)
    with pytest.raises(ValueError, match=r"x must be \(N, 3, H, W\)"):
        sep(torch.randn(1, 2, 9, 9))


# --- ContextModule --------------------------------------------------------------------------------


def test_context_module_is_the_identity_at_initialisation_on_non_negative_inputs():
    torch.manual_seed(1)
    module = ContextModule(5)
    x = torch.rand(2, 5, 30, 41)
    with torch.no_grad():
        assert torch.equal(module(x), x)
        signed = torch.randn(1, 5, 12, 12)
        assert torch.equal(module(signed), F.relu(signed))  # the first ReLU clips, the rest pass it on


def test_context_module_receptive_fields_of_the_paper():
    module = ContextModule(2)
    sizes = [layer.size for layer in rf.receptive_field([(3, 1, d) for d in module.rates] + [(1, 1, 1)]).layers]
    assert sizes == [3, 5, 9, 17, 33, 65, 67, 67]  # Yu & Koltun (2016), table 1
    assert module.receptive_field == 67
    torch.manual_seed(0)
    assert probe_receptive_field_2d(ContextModule(4, identity_init=False), 4, 91) == (67, 67)
    assert probe_receptive_field_2d(ContextModule(4), 4, 91) == (1, 1)  # identity: the centre only


def test_context_module_trains_with_batch_one_and_custom_rates():
    module = ContextModule(3, rates=(1, 2))
    assert module.receptive_field == 7
    out = module(torch.rand(1, 3, 8, 8))
    out.sum().backward()
    assert all(p.grad is not None for p in module.parameters())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 0}, ValueError, "channels"),
        ({"channels": 2, "rates": ()}, TypeError, "rates"),
        ({"channels": 2, "rates": (1, 0)}, ValueError, r"rates\[1\]"),
        ({"channels": 2, "rates": "124"}, TypeError, "rates"),
        ({"channels": 2, "identity_init": 1}, TypeError, "identity_init"),
    ],
)
def test_context_module_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ContextModule(**kwargs)


def test_probe_2d_measures_a_single_dilated_layer():
    for d in (1, 2, 5):
        layer = torch.nn.Conv2d(2, 3, 3, padding=d, dilation=d)
        assert probe_receptive_field_2d(layer, 2, 4 * d + 9) == (2 * d + 1, 2 * d + 1)
    with pytest.raises(ValueError, match="size"):
        probe_receptive_field_2d(layer, 2, 0)


# --- TCN ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("widths", "k"), [([8], 2), ([8, 8, 8], 2), ([8, 8, 8, 8], 3), ([8, 12], 4)])
def test_tcn_receptive_field_formula_closed_form_and_probe(widths, k):
    torch.manual_seed(0)
    tcn = TCN(2, widths, kernel_size=k, dropout=0.0).eval()
    formula = 1 + 2 * (k - 1) * sum(2**i for i in range(len(widths)))
    assert tcn.receptive_field == formula
    # A ReLU that is off cuts paths, so one probe may fall short; the largest of several reaches R.
    probes = [probe_receptive_field(tcn, 2, formula + 12) for _ in range(12)]
    assert max(probes) == formula and all(p <= formula for p in probes)


def test_probe_returns_zero_when_no_input_reaches_the_last_output():
    """The chapter 7 author's report: a ReLU that is off at the last step made torch raise."""

    class OffAtTheEnd(torch.nn.Module):  # a conv whose last output is pushed below zero before a ReLU
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(2, 1, 3, padding=2)

        def forward(self, x):
            y = self.conv(x)[..., : x.shape[-1]]
            return torch.relu(torch.cat([y[..., :-1], y[..., -1:] - 1e6], dim=-1))

    torch.manual_seed(0)
    net = OffAtTheEnd()
    x = torch.randn(1, 2, 10, dtype=torch.float64, requires_grad=True)
    net.double()(x)[..., -1].sum().backward()
    assert torch.count_nonzero(x.grad) == 0  # the situation: a zero gradient everywhere
    assert probe_receptive_field(net, 2, 10) == 0
    assert probe_receptive_field(lambda x: torch.zeros(1, 1, 10), 2, 10) == 0  # no path from x at all
    on = torch.nn.Conv1d(2, 1, 3, padding=2)  # the same conv without the ReLU reaches 3 samples back
    assert probe_receptive_field(lambda x: on.double()(x)[..., : x.shape[-1]], 2, 10) == 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tcn_never_reads_the_future(seed):
    torch.manual_seed(seed)
    assert future_leaks(TCN(3, [4, 4, 4], 3, dropout=0.0).eval(), 3, 50).future == 0
    assert future_leaks(TemporalBlock(2, 2, 2, 4, 0.0).eval(), 2, 30).future == 0


def test_a_wide_tcn_sees_the_present_at_every_step():
    torch.manual_seed(0)
    assert future_leaks(TCN(1, [8, 8, 8, 8], 3, dropout=0.1).eval(), 1, 80) == (0, 0)  # the chapter's TCN


def test_tcn_shapes_skip_weight_norm_and_batch_one_training():
    tcn = TCN(3, [5, 5, 7], kernel_size=2, dropout=0.3).train()
    x = torch.randn(1, 3, 25)
    y = tcn(x)
    assert y.shape == (1, 7, 25)
    y.sum().backward()
    assert [b.downsample is not None for b in tcn.blocks] == [True, False, True]
    names = dict(tcn.blocks[0].conv1.named_parameters())
    assert {"parametrizations.weight.original0", "parametrizations.weight.original1"} <= set(names)
    assert all(p.grad is not None for p in tcn.parameters())
    assert tcn.dilations == (1, 2, 4)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"in_channels": 0, "channels": [2]}, ValueError, "in_channels"),
        ({"in_channels": 1, "channels": []}, TypeError, "channels"),
        ({"in_channels": 1, "channels": [2, 0]}, ValueError, r"channels\[1\]"),
        ({"in_channels": 1, "channels": [2], "kernel_size": 0}, ValueError, "kernel_size"),
        ({"in_channels": 1, "channels": [2], "dropout": 1.0}, ValueError, "dropout"),
        ({"in_channels": 1, "channels": [2], "dropout": "0.1"}, TypeError, "dropout"),
    ],
)
def test_tcn_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        TCN(**kwargs)


def test_temporal_block_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="dilation"):
        TemporalBlock(2, 2, 2, 0)
    block = TemporalBlock(2, 3, 2, 1)
    with pytest.raises(ValueError, match=r"x must be \(N, 2, T\)"):
        block(torch.randn(1, 3, 10))


# --- polyphase convolution (NumPy) ----------------------------------------------------------------


@settings(max_examples=60)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    o=st.integers(1, 3),
    h=st.integers(1, 14),
    w=st.integers(1, 14),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    d=st.integers(1, 5),
    padding=st.one_of(st.just("same"), st.integers(0, 4), st.tuples(st.integers(0, 3), st.integers(0, 3))),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_polyphase_equals_direct_and_pytorch(n, c, o, h, w, kh, kw, d, padding, bias, seed):
    rng = np.random.default_rng(seed)
    x, weight = rng.normal(size=(n, c, h, w)), rng.normal(size=(o, c, kh, kw))
    b = rng.normal(size=o) if bias else None
    pads = conv.resolve_padding(padding, (kh, kw), (1, 1), (d, d))
    if any(h + sum(pads[0]) < (kh - 1) * d + 1 or w + sum(pads[1]) < (kw - 1) * d + 1 for _ in [0]):
        with pytest.raises(ValueError):
            conv.polyphase_conv2d(x, weight, b, padding=padding, dilation=d)
        return
    got = conv.polyphase_conv2d(x, weight, b, padding=padding, dilation=d)
    padded = torch.from_numpy(np.pad(x, ((0, 0), (0, 0), *pads)))
    expected = F.conv2d(padded, torch.from_numpy(weight), None if b is None else torch.from_numpy(b), dilation=d)
    np.testing.assert_allclose(got, expected.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(got, conv.conv2d(x, weight, b, padding=padding, dilation=d), rtol=0, atol=1e-10)


def test_space_to_batch_order_and_inverse():
    x = np.arange(2 * 1 * 4 * 6, dtype=float).reshape(2, 1, 4, 6)
    grids = conv.space_to_batch(x, 2)
    assert grids.shape == (8, 1, 2, 3)
    for a, b, n in itertools.product(range(2), range(2), range(2)):  # TensorFlow's batch order
        np.testing.assert_array_equal(grids[(a * 2 + b) * 2 + n], x[n, :, a::2, b::2])
    np.testing.assert_array_equal(conv.batch_to_space(grids, 2), x)
    np.testing.assert_array_equal(conv.space_to_batch(x, 1), x)


def test_subgrids_never_exchange_information():
    """A stack at rate 2 maps each sub-grid to itself: the outputs of sub-grid (a, b) ignore the rest."""
    rng = np.random.default_rng(0)
    x, w1, w2 = rng.normal(size=(1, 1, 12, 12)), rng.normal(size=(1, 1, 3, 3)), rng.normal(size=(1, 1, 3, 3))
    stack = lambda z: conv.conv2d(conv.conv2d(z, w1, padding="same", dilation=2), w2, padding="same", dilation=2)  # noqa: E731
    nudged = x.copy()
    nudged[0, 0, 5, 8] += 1.0  # sub-grid (1, 0)
    changed = np.argwhere(np.abs(stack(nudged) - stack(x)) > 1e-12)[:, 2:]
    assert len(changed) and {(i % 2, j % 2) for i, j in changed} == {(1, 0)}


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: conv.space_to_batch(np.zeros((1, 1, 5, 4)), 2), ValueError, "multiples of block"),
        (lambda: conv.space_to_batch(np.zeros((1, 4, 4)), 2), ValueError, "x must be"),
        (lambda: conv.space_to_batch(np.zeros((1, 1, 4, 4)), 0), ValueError, "block"),
        (lambda: conv.batch_to_space(np.zeros((3, 1, 2, 2)), 2), ValueError, "multiple of block"),
        (lambda: conv.batch_to_space(np.zeros((4, 1, 2, 2)), 1.0), TypeError, "block"),
        (
            lambda: conv.polyphase_conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), dilation=0),
            ValueError,
            "dilation",
        ),
        (lambda: conv.polyphase_conv2d(np.zeros((4, 4)), np.zeros((3, 3))), ValueError, "x must be"),
        (lambda: conv.polyphase_conv2d(None, np.zeros((1, 1, 3, 3))), TypeError, "x must be"),
    ],
)
def test_polyphase_helpers_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- backbones ------------------------------------------------------------------------------------


@pytest.mark.parametrize("os", [4, 8, 16, 32])
def test_tiny_resnet_output_stride_shapes_and_constant_receptive_field(os):
    net = backbones.TinyResNet(width=4, output_stride=os).eval()
    assert net(torch.randn(1, 3, 64, 96)).shape == (1, 32, 64 // os, 96 // os)
    field = rf.receptive_field(net.main_path())
    assert field.stride == os
    assert field.size == rf.receptive_field(backbones.TinyResNet(width=4, output_stride=32).main_path()).size


def test_tiny_resnet_rates_compound_and_multi_grid():
    plan = {name: (s, first, d) for name, s, first, d in backbones.TinyResNet(4, 8, (1, 2, 4)).plan}
    assert plan["stage 2.1"] == (2, 1, 1)
    assert plan["stage 3.1"] == (1, 1, 2)  # first conv keeps the earlier rate (torchvision)
    assert [plan[f"stage 4.{u}"] for u in (1, 2, 3)] == [(1, 2, 4), (1, 8, 8), (1, 16, 16)]
    net = backbones.TinyResNet(4, 16).train()
    net(torch.randn(1, 3, 32, 32)).sum().backward()  # batch 1 in training


def test_measure_cost_counts_one_convolution_exactly():
    layer = torch.nn.Conv2d(3, 5, (3, 2), stride=2, padding=1, groups=1, bias=False)
    cost = backbones.measure_cost(layer, (2, 3, 10, 11))
    out = layer(torch.zeros(2, 3, 10, 11))
    assert cost.multiply_adds == out.numel() * 3 * 3 * 2
    # the conv saves only its input and its weight, which training holds anyway
    assert cost.activation_bytes == 0 and cost.output_shape == tuple(out.shape)
    assert cost.parameters == 5 * 3 * 3 * 2


def test_measure_cost_activation_memory_by_hand():
    """conv, BN, ReLU, conv: BN saves the conv's output and 4 C statistics (batch, running), ReLU its output."""
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 1)
    )
    cost = backbones.measure_cost(net, (3, 2, 5, 6))
    feature = 3 * 4 * 5 * 6 * 4  # bytes of one (3, 4, 5, 6) float32 map
    assert cost.activation_bytes == 2 * feature + 4 * 4 * 4
    assert cost.multiply_adds == 3 * 4 * 5 * 6 * 2 * 9 + 3 * 1 * 5 * 6 * 4


def test_measure_cost_leaves_the_model_and_random_state_unchanged():
    net, tcn = backbones.TinyResNet(4, 16), TCN(2, [3, 3], 2, dropout=0.5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    backbones.measure_cost(tcn, (1, 2, 16))
    backbones.measure_cost(net.eval(), (1, 3, 32, 32))
    assert torch.equal(torch.rand(3), expected) and not net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


class _ConvCount(torch.overrides.TorchFunctionMode):
    """An independent count: every F.conv1d / F.conv2d call, whoever makes it, by the formula."""

    def __init__(self):
        super().__init__()
        self.madds = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in (F.conv1d, F.conv2d):
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            self.madds += out.numel() * weight[0].numel()  # (C_in / groups) * kernel taps per output
        return out


def _saved_bytes(model, x):
    """What autograd keeps, read with saved_tensors_hooks directly (input and parameters left out)."""
    held = {t.untyped_storage().data_ptr() for t in [*model.parameters(), x]}
    saved = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in held:
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(saved.values())


def _course_models():
    from course_utils import blocks, probe

    return {
        "conv_bn_relu": (blocks.conv_bn_relu(3, 4, 3, 2), (2, 3, 12, 12)),
        "ASPP": (blocks.ASPP(4, 6, rates=(1, 2)), (2, 4, 9, 9)),
        "WaveNetBlock": (blocks.WaveNetBlock(4, 2), (1, 4, 16)),
        "WaveNet, dilations >= T": (blocks.WaveNet(8, 10), (1, 8, 64)),
        "SeparableAtrousConv2d": (SeparableAtrousConv2d(4, 6, 3, 2), (1, 4, 10, 10)),
        "ContextModule": (ContextModule(3), (1, 3, 20, 20)),
        "TemporalBlock, weight norm": (TemporalBlock(3, 5, 3, 2), (2, 3, 20)),
        "TCN, weight norm": (TCN(8, [8] * 4, kernel_size=2), (1, 8, 64)),
        "ResidualUnit": (backbones.ResidualUnit(4, 8, stride=2), (1, 4, 16, 16)),
        "TinyResNet OS 8": (backbones.TinyResNet(4, 8), (1, 3, 32, 32)),
        "build_stack": (probe.build_stack((1, 2, 4)), (1, 1, 20, 20)),
        "SharedSeparableFilter": (degridding.SharedSeparableFilter(5), (1, 3, 12, 12)),
        **{f"gridding_net {k}": (degridding.gridding_net(k), (2, 1, 24, 24)) for k in degridding.KINDS},
    }


@pytest.mark.parametrize("name", list(_course_models()))
def test_measure_cost_matches_an_independent_count_for_every_course_model(name):
    model, shape = _course_models()[name]
    cost = backbones.measure_cost(model, shape)
    counter = _ConvCount()
    model.train()
    torch.manual_seed(0)
    x = torch.zeros(shape, dtype=next(model.parameters()).dtype)
    with counter:
        model(x)
    assert cost.multiply_adds == counter.madds > 0
    # the shared filter saves nothing new: its input and a view of its weight
    assert cost.activation_bytes == _saved_bytes(model, x) >= (name != "SharedSeparableFilter")


@pytest.mark.parametrize(
    ("model", "shape", "multiply_adds"),
    [  # the convolutions forward hooks on leaf modules missed (they counted 0, 600, 180,224, 1,050,624)
        (lambda: TCN(8, [8] * 4, kernel_size=2), (1, 8, 64), 65_536),
        (lambda: TCN(3, [5, 5], kernel_size=3), (1, 3, 40), 11_400),
        (lambda: __import__("course_utils.blocks").blocks.WaveNet(8, 10), (1, 8, 64), 245_760),
        (lambda: degridding.gridding_net("smoothed"), (1, 1, 24, 24), 1_728_000),
    ],
)
def test_measure_cost_regression_values(model, shape, multiply_adds):
    assert backbones.measure_cost(model(), shape).multiply_adds == multiply_adds


def test_measure_cost_tiny_resnet_regression_values():
    """Chapter 7's table: multiply-adds 29.0 / 68.3 / 236.6 M, saved activations 2.31 / 2.92 / 5.82 MiB."""
    costs = {os: backbones.measure_cost(backbones.TinyResNet(8, os), (1, 3, 256, 256)) for os in (32, 16, 8)}
    assert [c.multiply_adds for c in costs.values()] == [28_966_912, 68_288_512, 236_584_960]
    assert [round(c.activation_bytes / 2**20, 2) for c in costs.values()] == [2.31, 2.92, 5.82]
    assert round(costs[16].activation_bytes / costs[32].activation_bytes, 1) == 1.3
    assert round(costs[8].activation_bytes / costs[32].activation_bytes, 1) == 2.5


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: backbones.TinyResNet(output_stride=12), ValueError, "output_stride"),
        (lambda: backbones.TinyResNet(width=0), ValueError, "width"),
        (lambda: backbones.TinyResNet(multi_grid=()), TypeError, "multi_grid"),
        (lambda: backbones.TinyResNet(multi_grid=(1, 0)), ValueError, r"multi_grid\[1\]"),
        (lambda: backbones.measure_cost("net", (1, 3, 8, 8)), TypeError, "model"),
        (lambda: backbones.measure_cost(torch.nn.Conv2d(1, 1, 1), (1, 0, 8)), ValueError, r"input_shape\[1\]"),
        (lambda: backbones.ResidualUnit(2, 2, stride=0), ValueError, "stride"),
    ],
)
def test_backbones_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- degridding -----------------------------------------------------------------------------------


def test_grid_energy_of_pure_patterns_noise_and_constants():
    i, j = np.meshgrid(np.arange(24), np.arange(24), indexing="ij")
    assert degridding.grid_energy(((i % 4 == 0) & (j % 4 == 1)).astype(float), 4) == pytest.approx(1.0)
    assert degridding.grid_energy((-1.0) ** (i + j), 2) == pytest.approx(1.0)
    assert degridding.grid_energy(np.ones((8, 8)), 2) == 0.0
    noise = np.random.default_rng(0).normal(size=(200, 24, 24))
    assert degridding.grid_energy(noise, 4) == pytest.approx(15 / 575, rel=0.1)


@given(rates=st.lists(st.integers(1, 9), min_size=1, max_size=5), period=st.integers(2, 8))
def test_checkerboard_gain_equals_the_dft_of_the_path_counts(rates, period):
    counts = rf.path_counts(rates)
    dft = abs(np.sum(counts * np.exp(-2j * np.pi * np.arange(len(counts)) / period))) / counts.sum()
    assert degridding.checkerboard_gain(rates, period) == pytest.approx(dft, abs=1e-9)


def test_gridding_nets_shapes_and_the_smoothing_prefilter():
    x = torch.randn(1, 1, 24, 24)
    for kind in degridding.KINDS:
        assert degridding.gridding_net(kind).train()(x).shape == (1, 3, 24, 24)
    prefilter = degridding.SharedSeparableFilter(7)
    features = torch.randn(2, 5, 12, 12)
    torch.testing.assert_close(prefilter(features), features)  # identity at initialisation
    with torch.no_grad():
        prefilter.weight.normal_()
    expected = torch.cat([F.conv2d(features[:, c : c + 1], prefilter.weight, padding=3) for c in range(5)], 1)
    torch.testing.assert_close(prefilter(features), expected)  # one kernel shared by every channel


def test_degridding_study_reports_every_measure():
    result = degridding.degridding_study(kinds=("dilated", "decreasing"), runs=1, steps=2)
    assert set(result) == {"dilated", "decreasing"}
    for r in result.values():
        assert r["runs"] == 1 and 0.0 <= r["miou"] <= 1.0 and 0.0 <= r["grid_energy"] <= 1.0
        assert r["gradient"].shape == (24, 24)


def test_power_spectrum_puts_a_checkerboard_at_the_edge():
    spectrum = degridding.power_spectrum(np.array([[1.0, 0, 1.0], [0, 0, 0], [1.0, 0, 1.0]]), 8)
    assert spectrum.shape == (8, 8)
    assert spectrum[0, 0] == pytest.approx(spectrum[4, 4])  # rate 2: period 2 passes like a constant


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: degridding.grid_energy(np.zeros((5, 8)), 2), ValueError, "multiples of period"),
        (lambda: degridding.grid_energy(np.zeros(8), 2), ValueError, "maps"),
        (lambda: degridding.grid_energy(np.zeros((8, 8)), 1), ValueError, "period"),
        (lambda: degridding.checkerboard_gain((), 2), ValueError, "dilations"),
        (lambda: degridding.gridding_net("holes"), ValueError, "kind"),
        (lambda: degridding.gridding_net("drn", rate=1), ValueError, "rate"),
        (lambda: degridding.SharedSeparableFilter(4), ValueError, "kernel_size"),
        (lambda: degridding.degridding_study(kinds=("x",)), ValueError, "kinds"),
        (lambda: degridding.degridding_study(runs=0), ValueError, "runs"),
        (lambda: degridding.power_spectrum(np.zeros((3, 3))), ValueError, "sum to zero"),
        (lambda: degridding.plot_spectra([], []), ValueError, "spectra"),
        (lambda: degridding.centre_gradient(torch.nn.Identity(), np.zeros((1, 1, 4, 4))), TypeError, "images"),
    ],
)
def test_degridding_rejects_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- checkers -------------------------------------------------------------------------------------


def _aspp_solution(image_size, output_stride):
    largest = max(3, -(-(0.75 * image_size - 1) // (2 * output_stride)))
    middle = int(largest // 1.5)
    return (int(middle // 1.5), middle, int(largest))


def _schedule_solution(min_field, min_ratio, max_rate):
    for rates in itertools.combinations_with_replacement(range(1, max_rate + 1), 5):
        report = rf.describe(rates)
        if report.holes_2d == 0 and report.size >= min_field and report.centre_to_max >= min_ratio:
            return rates
    return None


def _causal_solution(x, weight, bias, dilation):
    return F.conv1d(F.pad(x, ((weight.shape[-1] - 1) * dilation, 0)), weight, bias, dilation=dilation)


def test_chapter7_checkers_pass_correct_designs(capsys):
    exercises.check_aspp_rates(_aspp_solution)
    exercises.check_hole_free_schedule(_schedule_solution)
    exercises.check_causal_conv(_causal_solution)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("PASS: all ") for line in lines), lines


def test_every_schedule_brief_is_feasible_and_deeplab_rates_meet_the_aspp_rules():
    for brief in exercises.SCHEDULE_BRIEFS:
        assert _schedule_solution(*brief) is not None, brief
    assert exercises._aspp_rate_problem((6, 12, 18), 513, 16) == ""
    assert exercises._aspp_rate_problem((12, 24, 36), 513, 8) == ""


def test_aspp_checker_explains_wrong_rates(capsys):
    exercises.check_aspp_rates(lambda s, os: (6, 12, 18))  # right at OS 16 only
    exercises.check_aspp_rates(lambda s, os: (4, 8, 40))  # degenerate largest branch
    exercises.check_aspp_rates(lambda s, os: (6, 8, 18))  # scales too close
    exercises.check_aspp_rates(lambda s, os: [6, 12])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("NOT YET: choose_aspp_rates(513, 8) returned (6, 12, 18)") and "3/4 of 513" in out[0]
    assert "only 1.0 of its 9 taps" in out[1] and "1x1" in out[1]
    assert "1.5 times" in out[2]
    assert "three integers" in out[3]


def test_schedule_checker_explains_wrong_schedules(capsys):
    exercises.check_hole_free_schedule(lambda n, r, m: (1, 3, 9, 27, 81))
    exercises.check_hole_free_schedule(lambda n, r, m: (2, 2, 2, 2, 2))
    exercises.check_hole_free_schedule(lambda n, r, m: (1, 1, 1, 1, 1))
    exercises.check_hole_free_schedule(lambda n, r, m: (1, 2, 3))
    exercises.check_hole_free_schedule(lambda n, r, m: (1, 3, 8, 8, 8) if n == 55 else _schedule_solution(n, r, m))
    out = capsys.readouterr().out.splitlines()
    assert "every rate must lie in 1..4" in out[0]
    assert "holes" in out[1]
    assert "receptive field is 11, short of 21" in out[2]
    assert "5 integer rates" in out[3]
    assert out[4].startswith("NOT YET: design_schedule(55, 0.45, 8) returned (1, 3, 8, 8, 8)")
    assert "centre/max path ratio is 0.29 < 0.45" in out[4]


def test_causal_checker_says_whether_the_layer_reads_the_future_or_lags(capsys):
    def symmetric(x, weight, bias, dilation):
        span = (weight.shape[-1] - 1) * dilation
        return F.conv1d(F.pad(x, (span // 2, span - span // 2)), weight, bias, dilation=dilation)

    def lagging(x, weight, bias, dilation):
        span = (weight.shape[-1] - 1) * dilation
        return F.conv1d(F.pad(x, (span + 1, 0)), weight, bias, dilation=dilation)[..., :-1]

    def shortened(x, weight, bias, dilation):
        return F.conv1d(x, weight, bias, dilation=dilation)

    for learner in (symmetric, lagging, shortened, lambda x, w, b, d: None):
        exercises.check_causal_conv(learner)
    out = capsys.readouterr().out.splitlines()
    assert all(line.startswith("NOT YET: causal_dilated_conv(") for line in out)
    assert "reads the future" in out[0]
    assert "ignore x[t]" in out[1] and "past" in out[1]
    assert "as many samples as it receives" in out[2]
    assert "returned None, expected the causal convolution" in out[3]


def test_space_to_batch_and_polyphase_match_tensorflow():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 4, 6)), rng.normal(size=(4, 3, 3, 3))
    nhwc = np.transpose(x, (0, 2, 3, 1))
    theirs = tf.space_to_batch(nhwc, [2, 2], [[0, 0], [0, 0]]).numpy().transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(conv.space_to_batch(x, 2), theirs)
    atrous = tf.nn.atrous_conv2d(nhwc, np.transpose(w, (2, 3, 1, 0)), 2, "SAME").numpy().transpose(0, 3, 1, 2)
    np.testing.assert_allclose(conv.polyphase_conv2d(x, w, padding="same", dilation=2), atrous, rtol=0, atol=1e-10)
