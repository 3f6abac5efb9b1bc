"""The exercise checkers accept the worked solutions and explain what is wrong otherwise."""

import numpy as np

from course_utils import exercises


def test_chapter1_checkers_pass_correct_solutions(capsys):
    exercises.check_effective_kernel_size(lambda k, d: (k - 1) * d + 1)
    exercises.check_conv_output_size(lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s + 1)

    def dilate(w, d):
        out = np.zeros((len(w) - 1) * d + 1)
        out[::d] = w
        return out

    exercises.check_dilate_kernel_1d(dilate)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("PASS: all ") for line in lines)


def test_checkers_name_the_first_failing_case(capsys):
    exercises.check_effective_kernel_size(lambda k, d: k * d)  # the classic mistake
    exercises.check_conv_output_size(lambda n, k, s, p, d: (n + 2 * p - k) // s + 1)  # forgot dilation
    exercises.check_dilate_kernel_1d(lambda w, d: np.repeat(w, d))
    exercises.check_effective_kernel_size(lambda k, d: 1 / 0)
    exercises.check_effective_kernel_size("not a function")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "NOT YET: effective_kernel_size(1, 2) returned 2, expected 1"
    assert out[1].startswith("NOT YET: conv_output_size(") and "expected" in out[1]
    assert out[2].startswith("NOT YET: dilate_kernel_1d(") and "returned shape" in out[2]
    assert out[3] == "NOT YET: effective_kernel_size(1, 1) raised ZeroDivisionError: division by zero"
    assert out[4] == "NOT YET: expected a function for effective_kernel_size, got str"


def test_check_cases_expected_errors(capsys):
    def reference(x):
        if x < 0:
            raise ValueError("x")
        return x

    assert exercises.check_cases("f", reference, reference, [((1,), {})], expect_errors=[((-1,), {}, ValueError)])
    assert not exercises.check_cases("f", lambda x: x, reference, [((1,), {})], expect_errors=[((-1,), {}, ValueError)])
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "PASS: all 2 hidden cases of f agree with the reference.",
        "NOT YET: f(-1) should raise ValueError, returned -1",
    ]


def test_chapter2_checkers(capsys):
    from course_utils.conv import conv1d

    exercises.check_dilated_conv1d(lambda x, w, d: conv1d(x, w, dilation=d))
    exercises.check_same_padding(lambda k, d: ((k - 1) * d // 2, (k - 1) * d - (k - 1) * d // 2))
    exercises.check_tap_positions(lambda i, k, d, s: [i * s + j * d for j in range(k)])
    exercises.check_dilated_conv1d(lambda x, w, d: conv1d(x, w[::-1], dilation=d))  # a true convolution: flipped
    exercises.check_same_padding(lambda k, d: ((k - 1) * d - (k - 1) * d // 2, (k - 1) * d // 2))  # TF-like swap
    exercises.check_tap_positions(lambda i, k, d, s: None)
    out = capsys.readouterr().out.splitlines()
    assert all(line.startswith("PASS") for line in out[:3])
    assert out[3].startswith("NOT YET: dilated_conv1d(") and "values differ" in out[3]
    assert out[4] == "NOT YET: same_padding(2, 1) returned (1, 0), expected (0, 1)"
    assert out[5] == "NOT YET: tap_positions(0, 1, 1, 1) returned None, expected (0,)"


def test_list_answers_are_not_truncated(capsys):
    exercises.check_fibonacci(lambda n: [1.5] * n)
    assert capsys.readouterr().out.startswith("NOT YET: fibonacci(1) returned [1.5], expected [1]")
