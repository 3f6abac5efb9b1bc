import os

from hypothesis import HealthCheck, settings

# First calls into torch or TensorFlow are slow; examples are judged on their result, not their time.
settings.register_profile(
    "course",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # CI runs the same examples every time, so a red run can be reproduced from its log.
    derandomize=os.environ.get("CI") == "true",
    print_blob=True,
)
settings.load_profile("course")
