"""Chapter 2's "find the bug" checker: the wrap-around loop fails and is explained, the repair passes."""

import numpy as np
import torch
import torch.nn.functional as F

from course_utils import exercises


def wrapped_loop(x, w, d):
    """The exercise's loop as the learner receives it: it reads x[i - k*d]."""
    span = (len(w) - 1) * d + 1
    y = np.zeros(len(x) - span + 1)
    for i in range(len(y)):
        for k in range(len(w)):
            y[i] += w[k] * x[i - k * d]
    return y


def repaired_loop(x, w, d):
    span = (len(w) - 1) * d + 1
    y = np.zeros(len(x) - span + 1)
    for i in range(len(y)):
        for k in range(len(w)):
            y[i] += w[k] * x[i + k * d]
    return y


def flipped_loop(x, w, d):
    """A plausible wrong repair: keep x[i - k*d] but start at the last tap, i.e. a true convolution."""
    span = (len(w) - 1) * d + 1
    return np.array([sum(w[k] * x[i - k * d] for k in range(len(w))) for i in range(span - 1, len(x))])


def torch_reference(x, w, d):
    return F.conv1d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], dilation=d)[0, 0].numpy()


def test_hidden_cases_catch_the_wrap_around_whenever_the_kernel_has_two_taps():
    cases = exercises._find_the_bug_cases()
    assert len(cases) == 8
    for (x, w, d), _ in cases:
        assert np.allclose(repaired_loop(x, w, d), torch_reference(x, w, d))
        differs = not np.allclose(wrapped_loop(x, w, d), torch_reference(x, w, d))
        assert differs == (len(w) > 1), (x, w, d)  # one tap never reads x[i - k*d] with k > 0


def test_repaired_loop_and_a_vectorised_answer_pass(capsys):
    exercises.check_find_the_bug_conv1d(repaired_loop)
    exercises.check_find_the_bug_conv1d(torch_reference)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["PASS: all 8 hidden cases of dilated_conv1d_loop agree with the reference."] * 2


def test_wrap_around_loop_fails_and_the_verdict_shows_where_its_samples_came_from(capsys):
    exercises.check_find_the_bug_conv1d(wrapped_loop)
    lines = capsys.readouterr().out.splitlines()
    (x, w, d), _ = exercises._find_the_bug_cases()[0]
    assert (len(x), len(w), d) == (9, 3, 2)
    assert lines[0].startswith("NOT YET: dilated_conv1d_loop([") and "values differ" in lines[0]
    # Output 0 reads offsets 0, -2, -4; on 9 samples Python takes -2 and -4 from positions 7 and 5.
    assert x[-2] == x[7] and x[-4] == x[5]
    assert "Output 0 read x[0], x[-2], x[-4]" in lines[1]
    assert "silently used x[7], x[5] of a 9-sample signal" in lines[2]
    # Outputs 0..3 reach back 4 samples from i < 4: four of the five outputs wrapped.
    n_wrapped = sum(any(i - k * d < 0 for k in range(len(w))) for i in range(len(x) - 4))
    assert n_wrapped == 4
    assert lines[3].strip() == "4 of the 5 outputs read at least one sample from the wrong end."
    assert len(lines) == 4


def test_flipped_repair_is_named_as_a_true_convolution(capsys):
    exercises.check_find_the_bug_conv1d(flipped_loop)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("NOT YET: dilated_conv1d_loop(")
    assert lines[1].strip().startswith("These are the outputs of a true convolution (kernel flipped)")
    assert len(lines) == 2


def test_other_wrong_answers_get_one_line_without_a_wrap_around_story(capsys):
    def one_short(x, w, d):  # right reads, one output too few
        return repaired_loop(x, w, d)[:-1]

    def doubled(x, w, d):
        return 2 * repaired_loop(x, w, d)

    def raises(x, w, d):
        raise IndexError("index 9 is out of bounds")

    for learner in (one_short, doubled, raises, lambda x, w, d: None, "not a function"):
        exercises.check_find_the_bug_conv1d(learner)
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 1 and lines[0].startswith("NOT YET: "), (learner, lines)
    exercises.check_find_the_bug_conv1d(one_short)
    assert "returned shape (4,), expected (5,)" in capsys.readouterr().out
    exercises.check_find_the_bug_conv1d(raises)
    assert "raised IndexError: index 9 is out of bounds" in capsys.readouterr().out
