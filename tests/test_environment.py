"""One set of pins: pyproject.toml, environment.yml and constraints.txt agree."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    """name -> version for exact pins; a line with an environment marker counts only if it holds on Linux."""
    pins = {}
    for line in lines:
        line = line.strip().strip("-").strip()
        if ";" in line:
            line, marker = (part.strip() for part in line.split(";", 1))
            if marker not in ("sys_platform == 'linux'", 'sys_platform == "linux"'):
                continue  # pinned for another platform; environment.yml (Binder) is Linux
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def _pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for group in project["optional-dependencies"].values():
        lines += group
    assert all("==" in line for line in lines), "every dependency is pinned exactly"
    return _pins(lines)


def test_environment_yml_has_the_same_pins_as_pyproject():
    text = (ROOT / "environment.yml").read_text()
    env_pins = _pins(line for line in text.splitlines() if line.strip().startswith("- ") and "==" in line)
    assert env_pins == _pyproject_pins()
    assert re.search(r"^\s*- python=3\.11\s*$", text, re.M)


def test_constraints_lock_the_direct_pins():
    locked = _pins((ROOT / "constraints.txt").read_text().splitlines())
    for name, version in _pyproject_pins().items():
        assert locked.get(name) == version, f"{name}: pyproject {version}, constraints {locked.get(name)}"


def test_supported_pythons_agree_everywhere():
    """3.11 (from 3.11.5), 3.12 and 3.13: pyproject, set-up, the wheel check and the README say the same."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11.5,<3.14"
    setup = (ROOT / "tools" / "setup_venv.sh").read_text()
    assert 'SUPPORTED="3.11 3.12 3.13"' in setup and "MIN_PATCH_311=5" in setup
    assert 'PYTHONS = ("3.11.5", "3.12.0", "3.13.0")' in (ROOT / "tools" / "check_wheels.py").read_text()
    assert re.search(r"^PYTHON \?=\s*$", (ROOT / "Makefile").read_text(), re.M), (
        "the Makefile leaves the choice to set-up"
    )
    readme = (ROOT / "README.md").read_text()
    assert "Python 3.11 (3.11.5 or newer), 3.12 or 3.13" in readme


def test_binder_and_set_up_take_the_same_cpu_build_of_torch():
    index = "https://download.pytorch.org/whl/cpu"
    env_lines = [line.strip() for line in (ROOT / "environment.yml").read_text().splitlines()]
    assert f"- --extra-index-url {index}" in env_lines
    assert f"CPU_INDEX={index}" in (ROOT / "tools" / "setup_venv.sh").read_text()
    assert f'CPU_INDEX = "{index}"' in (ROOT / "tools" / "check_wheels.py").read_text()
    assert "TORCH_INDEX_URL" in (ROOT / "README.md").read_text()
