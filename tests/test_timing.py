"""The timing helpers measure and print; they never assert a wall-clock bound."""

import pytest

from course_utils import timing


def test_median_time_calls_warmup_plus_repeat_times():
    calls = []
    seconds = timing.median_time(lambda: calls.append(1), repeat=3, warmup=2)
    assert len(calls) == 5
    assert seconds >= 0.0


def test_time_table_prints_every_candidate_and_the_ratio_column(capsys):
    seconds = timing.time_table({"a": lambda: None, "bb": lambda: None}, reference="a", repeat=2)
    lines = capsys.readouterr().out.splitlines()
    assert set(seconds) == {"a", "bb"}
    assert lines[0].split() == ["median", "ms", "x", "a"]
    assert [line.split()[0] for line in lines[1:]] == ["a", "bb"]
    assert lines[1].split()[-1] == "1.00"


def test_bad_arguments():
    with pytest.raises(TypeError, match=r"fn must be callable \(a function\), got 3 \(int\)"):
        timing.median_time(3)
    with pytest.raises(ValueError, match="repeat must be >= 1, got 0"):
        timing.median_time(lambda: None, repeat=0)
    with pytest.raises(ValueError, match=r"reference must be one of \['a'\], got 'b'"):
        timing.time_table({"a": lambda: None}, reference="b")
