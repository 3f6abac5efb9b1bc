"""ASPP and WaveNet: shapes, causality, receptive fields by probe, ASPP degeneration, parameter counts."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils import receptive_field as rf
from course_utils.blocks import ASPP, TCN, WaveNet, WaveNetBlock, probe_receptive_field

torch.manual_seed(0)


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (7, 7), (8, 8), (13, 20), (33, 32)])
@pytest.mark.parametrize("training", [True, False])
def test_aspp_shapes_any_size_and_batch_one(size, training):
    aspp = ASPP(8, 16, rates=(2, 4, 6)).double()
    aspp.train(training)
    for batch in (1, 3):
        y = aspp(torch.randn(batch, 8, *size, dtype=torch.float64))
        assert y.shape == (batch, 16, *size) and torch.isfinite(y).all()


def test_aspp_without_pooling_and_default_arguments():
    aspp = ASPP(4)
    assert aspp.rates == (6, 12, 18) and aspp.pooling is not None
    assert aspp(torch.randn(2, 4, 9, 11)).shape == (2, 256, 9, 11)
    small = ASPP(4, 8, rates=(1,), image_pooling=False, dropout=0.0)
    assert len(small.branches) == 2 and small.pooling is None
    assert small.project[0].in_channels == 16


def test_batchnorm_matches_pytorch_except_for_single_value_batches():
    from course_utils.blocks import BatchNorm2d

    ours, theirs = BatchNorm2d(3).double().train(), torch.nn.BatchNorm2d(3).double().train()
    x = torch.randn(4, 3, 5, 5, dtype=torch.float64)
    assert torch.equal(ours(x), theirs(x)) and torch.equal(ours.running_mean, theirs.running_mean)
    single = torch.randn(1, 3, 1, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        theirs(single)
    assert torch.allclose(ours(single), ours.eval()(single))


def test_aspp_batch_one_training_uses_running_statistics_for_the_pooled_branch():
    aspp = ASPP(3, 4, rates=(2,)).double().train()
    x = torch.randn(1, 3, 5, 5, dtype=torch.float64)
    aspp(x)  # does not raise (nn.BatchNorm2d would: one value per channel)
    before = aspp.pooling.norm.running_mean.clone()
    aspp(x)
    assert torch.equal(before, aspp.pooling.norm.running_mean)  # not updated from a single value


def test_aspp_branch_degenerates_to_1x1_when_the_map_is_smaller_than_the_rate():
    """DeepLabv3's warning: at rate >= map size, only the centre tap of the 3x3 kernel sees data."""
    aspp = ASPP(6, 5, rates=(4, 12)).double().eval()
    x = torch.randn(2, 6, 9, 9, dtype=torch.float64)
    for rate, branch in zip(aspp.rates, aspp.branches[1:], strict=True):
        conv = branch[0]
        as_1x1 = F.conv2d(x, conv.weight[:, :, 1:2, 1:2])
        difference = (conv(x) - as_1x1).abs().max().item()
        if rate >= 9:
            assert difference == 0.0  # every off-centre tap reads padding
        else:
            assert difference > 0.1


def test_aspp_parameter_count_against_dense_kernels_of_the_same_span():
    aspp = ASPP(32, 16, rates=(6, 12, 18), image_pooling=False)
    atrous = sum(branch[0].weight.numel() for branch in aspp.branches[1:])
    dense = sum(32 * 16 * (2 * r + 1) ** 2 for r in aspp.rates)
    assert atrous == 3 * 32 * 16 * 9
    assert dense // atrous == 80  # (13^2 + 25^2 + 37^2) / (3 * 9) = 80.1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(in_channels=0), ValueError, "in_channels must be >= 1, got 0"),
        (dict(in_channels=4, out_channels=-1), ValueError, "out_channels must be >= 1, got -1"),
        (dict(in_channels=4, rates=()), ValueError, "rates must not be empty"),
        (dict(in_channels=4, rates=(6, 0)), ValueError, r"rates\[1\] must be >= 1, got 0"),
        (dict(in_channels=4, rates=6), TypeError, "rates must be a sequence of integers, got 6"),
        (dict(in_channels=4, dropout=1.0), ValueError, r"dropout must be a probability in \[0, 1\), got 1.0"),
    ],
)
def test_aspp_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        ASPP(**kwargs)


def test_aspp_bad_input_shape():
    with pytest.raises(ValueError, match=r"x must be \(N, C, H, W\), got shape \(4, 5, 5\)"):
        ASPP(4, 4)(torch.randn(4, 5, 5))


@pytest.mark.parametrize("length", [1, 7, 16, 33])
def test_wavenet_shapes(length):
    net = WaveNet(4, n_layers=3, n_stacks=2)
    assert net(torch.randn(2, 4, length)).shape == (2, 4, length)
    residual, skip = WaveNetBlock(4, 8)(torch.randn(2, 4, length))
    assert residual.shape == skip.shape == (2, 4, length)


@pytest.mark.parametrize("kernel_size", [2, 3])
def test_wavenet_is_causal_for_every_t(kernel_size):
    net = WaveNet(3, n_layers=3, n_stacks=2, kernel_size=kernel_size).double()
    x = torch.randn(1, 3, 24, dtype=torch.float64, requires_grad=True)
    y = net(x)
    for t in range(24):
        (grad,) = torch.autograd.grad(y[..., t].sum(), x, retain_graph=True)
        assert torch.all(grad[..., t + 1 :] == 0), f"y[{t}] depends on the future"
        assert grad[..., t].abs().sum() > 0


@pytest.mark.parametrize(
    ("n_layers", "n_stacks", "kernel_size"), [(1, 1, 2), (4, 1, 2), (3, 2, 2), (3, 1, 3), (10, 1, 2)]
)
def test_wavenet_receptive_field_equals_impulse_probe_and_closed_form(n_layers, n_stacks, kernel_size):
    net = WaveNet(2, n_layers, n_stacks, kernel_size).double()
    expected = 1 + n_stacks * (kernel_size - 1) * (2**n_layers - 1)
    assert net.receptive_field == expected
    assert probe_receptive_field(net, 2, expected + 20) == expected
    if (n_layers, n_stacks, kernel_size) == (10, 1, 2):
        assert net.receptive_field == 1024 == rf.receptive_field([(2, 1, 2**i) for i in range(10)]).size


def test_wavenet_parameters_against_a_dense_causal_kernel():
    net = WaveNet(16, n_layers=10)
    dilated = sum(block.conv.weight.numel() for block in net.blocks)
    dense = 16 * 32 * net.receptive_field  # one causal conv with the same span, same channels
    assert dilated == 10 * 16 * 32 * 2
    assert dense / dilated == pytest.approx(51.2)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: WaveNetBlock(0, 1), "channels must be >= 1, got 0"),
        (lambda: WaveNetBlock(4, 0), "dilation must be >= 1, got 0"),
        (lambda: WaveNetBlock(4, 1, kernel_size=0), "kernel_size must be >= 1, got 0"),
        (lambda: WaveNet(4, 0), "n_layers must be >= 1, got 0"),
        (lambda: WaveNet(4, 3, n_stacks=0), "n_stacks must be >= 1, got 0"),
        (lambda: WaveNet(-2, 3), "channels must be >= 1, got -2"),
    ],
)
def test_wavenet_bad_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_wavenet_bad_input():
    with pytest.raises(ValueError, match=r"x must be \(N, 4, T\), got shape \(2, 3, 10\)"):
        WaveNetBlock(4, 1)(torch.randn(2, 3, 10))
    assert np.isfinite(WaveNet(1, 2)(torch.zeros(1, 1, 5)).detach().numpy()).all()


def _assert_same_to_rounding(got, expected):
    """Equal but for the last bits of float64: a few ulps of the largest value."""
    got, expected = got.detach(), expected.detach()
    scale = max(float(expected.abs().max()), 1.0)
    assert float((got - expected).abs().max()) <= 8 * torch.finfo(torch.float64).eps * scale


def _wavenet_with_full_padding(net, x):
    """The forward pass as first written: every layer pads its full d (k - 1) zeros."""
    skips = torch.zeros_like(x)
    for block in net.blocks:
        filter_part, gate_part = block.conv(F.pad(x, (block.causal_padding, 0))).chunk(2, dim=1)
        gated = torch.tanh(filter_part) * torch.sigmoid(gate_part)
        x, skip = x + block.residual(gated), block.skip(gated)
        skips = skips + skip
    return skips


@pytest.mark.parametrize("kernel_size", [2, 3, 5])
def test_wavenet_on_inputs_shorter_than_its_dilations_is_unchanged(kernel_size):
    """Layers whose dilation reaches past the input pad only T (k - 1) zeros: the same sums, to float64 rounding.

    Not bit for bit: for another padded length PyTorch may add the same products in another order
    (one draw in a few hundred differs by an ulp at k = 3, T = 1), so the check allows a few ulps.
    """
    torch.manual_seed(kernel_size)
    net = WaveNet(3, n_layers=7, n_stacks=2, kernel_size=kernel_size).double()
    for length in (1, 2, 3) * 30 + (5, 9, 33, 64, 200):  # many draws where the rate is cut the most
        x = torch.randn(2, 3, length, dtype=torch.float64)
        _assert_same_to_rounding(net(x), _wavenet_with_full_padding(net, x))


def test_deep_wavenet_on_a_short_input_pads_no_more_than_the_input_needs(monkeypatch):
    padded = []
    real_pad = F.pad

    def recording_pad(x, pad, *args, **kwargs):
        padded.append(sum(pad))
        return real_pad(x, pad, *args, **kwargs)

    monkeypatch.setattr(F, "pad", recording_pad)
    net = WaveNet(2, 40)  # dilations up to 2^39: full causal padding would need 2^39 zeros
    y = net(torch.randn(1, 2, 5))
    assert y.shape == (1, 2, 5) and torch.isfinite(y).all()
    assert len(padded) == 40 and max(padded) == 5  # T (k - 1) = 5 zeros at most, not d (k - 1)


def test_conv_bn_relu_and_batchnorm_check_their_arguments():
    from course_utils.blocks import BatchNorm2d, conv_bn_relu

    with pytest.raises(ValueError, match="dilation must be >= 1, got 0"):
        conv_bn_relu(3, 4, 3, dilation=0)
    with pytest.raises(TypeError, match=r"kernel_size must be an integer, got 1.5 \(float\)"):
        conv_bn_relu(3, 4, 1.5)
    with pytest.raises(ValueError, match="eps must be > 0, got 0"):
        BatchNorm2d(3, eps=0)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        WaveNet(2, 2)(np.ones((1, 2, 5)))


@pytest.mark.parametrize("kernel_size", [2, 3, 5])
def test_tcn_on_inputs_shorter_than_its_dilations_is_unchanged(kernel_size):
    """A TCN block whose rate reaches past the input uses rate T: the same sums, to float64 rounding."""
    torch.manual_seed(kernel_size)
    net = TCN(3, [4] * 7, kernel_size=kernel_size, dropout=0.0).double().eval()
    for length in (1, 2, 3) * 30 + (5, 9, 33):
        x = torch.randn(2, 3, length, dtype=torch.float64)
        full = x
        for block in net.blocks:  # every block pads its full d (k - 1) zeros
            h = F.relu(block.conv1(F.pad(full, (block.causal_padding, 0))))
            h = F.relu(block.conv2(F.pad(h, (block.causal_padding, 0))))
            full = F.relu(h + (full if block.downsample is None else block.downsample(full)))
        _assert_same_to_rounding(net(x), full)
