"""Synthetic tasks of chapter 6: what they generate, how they are scored, and the training loop."""

import numpy as np
import pytest
import torch

from course_utils import demos


def test_squares_batch_labels_match_the_squares():
    images, labels = demos.squares_batch(20, 24, rng=np.random.default_rng(0))
    assert images.shape == (20, 1, 24, 24) and labels.shape == (20, 24, 24)
    assert images.dtype == torch.float64 and labels.dtype == torch.int64
    for label_map in labels.numpy():
        for cls, (low, high) in ((1, demos.SMALL), (2, demos.LARGE)):
            rows, cols = np.nonzero(label_map == cls)
            side_r, side_c = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
            assert side_r == side_c and low <= side_r <= high and len(rows) == side_r**2  # one filled square
    assert abs(images[labels.unsqueeze(1) > 0].mean().item() - 1.0) < 0.05  # squares are bright, background dark
    again, _ = demos.squares_batch(20, 24, rng=np.random.default_rng(0))
    assert torch.equal(images, again)


def test_delay_batch_is_a_shifted_copy():
    x, y = demos.delay_batch(3, 30, 7, rng=np.random.default_rng(0))
    assert torch.equal(y[..., 7:], x[..., :23]) and torch.all(y[..., :7] == 0)
    x0, y0 = demos.delay_batch(2, 5, 0)
    assert torch.equal(x0, y0)


def test_mean_iou():
    target = torch.tensor([[[0, 1, 1], [2, 2, 0]]])
    assert demos.mean_iou(target, target) == 1.0
    predicted = torch.tensor([[[0, 1, 0], [2, 1, 0]]])  # class 1: 1/3, class 2: 1/2
    assert demos.mean_iou(predicted, target) == pytest.approx((1 / 3 + 1 / 2) / 2)
    logits = torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).double()
    assert demos.mean_iou(logits, target) == 1.0
    with pytest.raises(ValueError, match="logits_or_labels and target disagree"):
        demos.mean_iou(target[:, :1], target)


def test_train_reduces_the_loss_on_an_easy_problem():
    torch.manual_seed(0)
    model = torch.nn.Conv1d(1, 1, 1).double()
    rng = np.random.default_rng(0)
    losses = demos.train(
        model,
        lambda: demos.delay_batch(8, 16, 0, rng),
        torch.nn.functional.mse_loss,
        steps=150,
        lr=0.05,
        progress=False,
    )
    assert len(losses) == 150 and losses[-1] < 0.01 * losses[0]
    assert not model.training


def test_bad_arguments():
    with pytest.raises(ValueError, match="delay must be shorter than the sequence, got delay=5 for length=5"):
        demos.delay_batch(1, 5, 5)
    with pytest.raises(ValueError, match="size must be >= 21, got 12"):
        demos.squares_batch(1, 12)
    with pytest.raises(ValueError, match="lr must be > 0, got 0"):
        demos.train(torch.nn.Conv1d(1, 1, 1), lambda: None, torch.nn.functional.mse_loss, steps=1, lr=0)


def test_train_on_a_list_of_batches_equals_training_on_the_same_batches_drawn_fresh():
    """A list of batches drawn beforehand gives the very same weights as a function drawing them."""

    def fit(make_batch):
        torch.manual_seed(0)
        model = torch.nn.Conv1d(1, 1, 3, padding=1).double()
        losses = demos.train(model, make_batch, torch.nn.functional.mse_loss, steps=20, lr=0.05, progress=False)
        return losses, model.weight.detach().clone()

    rng = np.random.default_rng(3)
    fresh = fit(lambda: demos.delay_batch(4, 16, 1, rng))
    rng = np.random.default_rng(3)
    drawn = [demos.delay_batch(4, 16, 1, rng) for _ in range(25)]  # more than needed: the first 20 are used
    listed = fit(drawn)
    assert fresh[0] == listed[0]
    assert torch.equal(fresh[1], listed[1])


def test_train_rejects_short_lists_and_batches_that_are_not_pairs():
    batches = [demos.delay_batch(2, 8, 0)] * 3
    model = torch.nn.Conv1d(1, 1, 1).double()
    with pytest.raises(ValueError, match="make_batch holds 3 batches, fewer than steps=4"):
        demos.train(model, batches, torch.nn.functional.mse_loss, steps=4, progress=False)
    with pytest.raises(TypeError, match="make_batch must give \\(inputs, targets\\) pairs, got NoneType"):
        demos.train(model, lambda: None, torch.nn.functional.mse_loss, steps=1, progress=False)
    with pytest.raises(TypeError, match="make_batch must give \\(inputs, targets\\) pairs, got Tensor"):
        demos.train(model, [torch.zeros(1, 1, 4)], torch.nn.functional.mse_loss, steps=1, progress=False)
