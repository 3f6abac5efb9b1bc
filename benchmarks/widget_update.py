"""How long one explorer update takes on the analytic path (all-ones weights), at the issue's size.

The target is < 100 ms for a 129 x 129 image with 8 layers, so the widget feels instant.
Run: make bench (or .venv/bin/python benchmarks/widget_update.py).
"""

from course_utils.timing import median_time
from course_utils.widgets import receptive_field_explorer


def main() -> None:
    explorer = receptive_field_explorer(rates="1, 2, 4, 8, 16, 32, 1, 2", size=129)
    schedules = ["1, 2, 4, 8, 16, 32, 1, 2", "1, 1, 2, 3, 5, 8, 13, 21", "2, 2, 2, 2, 2, 2, 2, 2"]
    state = {"i": 0}

    def one_update() -> None:
        state["i"] += 1
        explorer.rates.value = schedules[state["i"] % len(schedules)]  # triggers update()

    seconds = median_time(one_update, repeat=30, warmup=3)
    print(f"explorer update, 129x129, 8 layers, analytic path: median {seconds * 1e3:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
