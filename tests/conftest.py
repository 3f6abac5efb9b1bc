import importlib.util
import os
from pathlib import Path

import pytest
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


# The system Chromium, driven by Playwright (never a browser download). One browser for the whole
# session: Playwright's sync API cannot be started twice in one process while the first still runs.
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-sync",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
]


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (install the system package 'chromium' to run the browser tests)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (it is in the dev extra)"
    return None


@pytest.fixture(scope="session")
def browser():
    """A headless system Chromium, or a one-line skip where it (or Playwright) is missing."""
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
