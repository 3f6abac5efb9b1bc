"""Set-up: it picks a supported Python, says in one line what is missing, takes torch from the right
place, and repairs a broken environment; the wheel check decides as pip would."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "setup_venv.sh"
TOOLS = ("bash", "sed", "grep", "tr", "dirname", "uname", "mkdir", "rm", "cat", "touch", "env")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _bin(tmp_path, pythons):
    """A PATH folder with the shell tools the script needs and fake interpreters.

    ``pythons`` maps a command name to the version it reports, or to None for a command that exits
    127 (as a pyenv shim of a version that is not selected does). A fake that reports a supported
    version creates a venv with the real interpreter, so the script can go on to --plan.
    """
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in TOOLS:
        (folder / tool).symlink_to(shutil.which(tool))
    for name, version in pythons.items():
        if version is None:
            body = "echo 'pyenv: not selected' >&2; exit 127"
        else:
            body = f"""case "$1" in
  -c) echo {version} ;;
  -m) exec {sys.executable} -m venv --without-pip "$3" ;;
esac"""
        (folder / name).write_text(f"#!/bin/bash\n{body}\n")
        (folder / name).chmod(0o755)
    return folder


def _run(tmp_path, *args, path=None, **env):
    full = {**os.environ, "VENV": str(tmp_path / "venv"), **env}
    if "PYTHON" not in env:
        full.pop("PYTHON", None)
    if path is not None:
        full["PATH"] = str(path)
    return subprocess.run(["bash", str(SCRIPT), *args], env=full, capture_output=True, text=True, cwd=tmp_path)


def _one_line(result):
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_no_supported_python_on_path_is_one_line(tmp_path):
    path = _bin(tmp_path, {"python3.11": "3.11.2", "python3.12": None, "python3": "3.9.18"})
    assert _one_line(_run(tmp_path, path=path)) == (
        "setup: no Python 3.11.5+, 3.12 or 3.13 found on PATH (tried python3.11, python3.12, python3.13, python3); "
        "install one, or run make PYTHON=/path/to/python3.X."
    )


def test_first_supported_interpreter_is_taken(tmp_path):
    """python3.11 too old, python3.12 a shim that fails: python3.13 is the first suitable one."""
    path = _bin(tmp_path, {"python3.11": "3.11.1", "python3.12": None, "python3.13": "3.13.0", "python3": "3.12.3"})
    result = _run(tmp_path, "--plan", path=path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"setup: created {tmp_path / 'venv'} with python3.13 (Python 3.13)."


def test_named_python_missing_or_unsupported(tmp_path):
    path = _bin(tmp_path, {"python3.9": "3.9.18", "python3.14": "3.14.0"})
    assert _one_line(_run(tmp_path, path=path, PYTHON="python3.11-not-installed")) == (
        "setup: PYTHON=python3.11-not-installed is not on PATH; install Python 3.11, 3.12 or 3.13, "
        "or run make PYTHON=/path/to/python3.X."
    )
    for name, version in (("python3.9", "3.9.18"), ("python3.14", "3.14.0")):
        assert _one_line(_run(tmp_path, path=path, PYTHON=name)) == (
            f"setup: Python 3.11.5+, 3.12 or 3.13 is needed, PYTHON={name} is Python {version}; "
            "run make PYTHON=/path/to/python3.X."
        )


def _plan(tmp_path, **env):
    env = {"PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": "", "PYTHON": sys.executable, **env}
    result = _run(tmp_path, "--plan", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(sys.platform != "linux", reason="the CPU index is used on Linux only")
def test_torch_comes_from_a_local_wheel_else_the_cpu_index(tmp_path):
    pin = next(
        line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.startswith("torch==")
    )
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    assert _plan(tmp_path) == f"torch {pin}: index {CPU_INDEX}"
    assert _plan(tmp_path, TORCH_INDEX_URL="") == f"torch {pin}: registry"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / f"torch-{pin}+cpu-{tag}-{tag}-manylinux_2_28_x86_64.whl").write_bytes(b"")
    (wheels / f"torch-0.1.0-{tag}-{tag}-manylinux_2_28_x86_64.whl").write_bytes(b"")  # another version: ignored
    if os.uname().machine == "x86_64":
        assert (
            _plan(tmp_path, PIP_FIND_LINKS=str(wheels))
            == f"torch {pin}: local {wheels}/torch-{pin}+cpu-{tag}-{tag}-manylinux_2_28_x86_64.whl"
        )


CLOSED = "http://127.0.0.1:9"  # nothing listens on the discard port: refused at once, no network needed
OFFLINE = {
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_INDEX_URL": f"{CLOSED}/simple",
    "PIP_EXTRA_INDEX_URL": "",
    "PIP_FIND_LINKS": "",
    "PIP_RETRIES": "0",
    "PIP_DEFAULT_TIMEOUT": "3",
    "PIP_NO_CACHE_DIR": "1",
    "PYTHON": sys.executable,
}


def test_registry_it_cannot_reach_is_one_line(tmp_path):
    line = _one_line(_run(tmp_path, **OFFLINE, TORCH_INDEX_URL=""))
    assert line == (
        "setup: could not download the pinned packages: no network to the package registry? "
        f"Details in {tmp_path / 'venv'}-install.log."
    )
    assert not (tmp_path / "venv" / ".installed").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="the CPU index is used on Linux only")
def test_cpu_index_it_cannot_reach_is_one_line_with_what_to_do(tmp_path):
    line = _one_line(_run(tmp_path, **OFFLINE, TORCH_INDEX_URL=f"{CLOSED}/whl/cpu"))
    assert line == (
        f"setup: PyTorch's CPU wheel index {CLOSED}/whl/cpu cannot be reached; retry later, or run "
        "make setup TORCH_INDEX_URL= to take torch from the package registry (the CUDA build, several GB). "
        f"Details in {tmp_path / 'venv'}-install.log."
    )


def _project(tmp_path):
    """A tiny course: one pinned dependency (six) and a course_utils package, with the real set-up tools."""
    project = tmp_path / "course"
    (project / "tools").mkdir(parents=True)
    (project / "course_utils").mkdir()
    (project / "course_utils" / "__init__.py").write_text("")
    for name in ("setup_venv.sh", "check_venv.py"):
        shutil.copy(ROOT / "tools" / name, project / "tools" / name)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "course-utils"
            version = "0.1.0"
            dependencies = ["six==1.17.0"]
            [project.optional-dependencies]
            frameworks = []
            lab = []
            dev = []
            [tool.setuptools]
            packages = ["course_utils"]
            """
        )
    )
    (project / "constraints.txt").write_text("six==1.17.0\n")
    return project


def _setup(project, *args):
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("VENV", None)
    return subprocess.run(["bash", "tools/setup_venv.sh", *args], env=env, capture_output=True, text=True, cwd=project)


def _imports_six(project):
    return (
        subprocess.run(
            [project / ".venv" / "bin" / "python", "-c", "import six, course_utils"], capture_output=True
        ).returncode
        == 0
    )


def test_a_broken_venv_is_detected_and_repaired(tmp_path):
    project = _project(tmp_path)
    first = _setup(project)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.strip().splitlines()[-1] == "setup: .venv is ready."
    assert _imports_six(project)
    again = _setup(project, "--imports")
    assert again.stdout.strip() == (
        "setup: .venv is ready (every locked package and file present; the course's stack imports)."
    )

    site = next((project / ".venv" / "lib").glob("python3*/site-packages"))
    (site / "six.py").unlink()  # a deleted module: its metadata still says it is installed
    assert not _imports_six(project)
    repaired = _setup(project)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert repaired.stdout.strip().splitlines() == [
        "setup: .venv is broken (six==1.17.0): repairing it; details in .venv-install.log.",
        "setup: .venv is ready.",
    ]
    assert _imports_six(project)

    for path in site.glob("six*"):  # the whole package gone, metadata included
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert not _imports_six(project)
    assert _setup(project).returncode == 0
    assert _imports_six(project)


def test_check_wheels_decides_as_pip_would():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import check_wheels as cw
    finally:
        sys.path.pop(0)
    by_target = {(py, platform): tags for py, platform, tags, _ in cw.targets()}
    listing = [
        ("demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl", ">=3.12"),
        ("demo-1.0-py3-none-win_amd64.whl", None),
        ("demo-1.0.tar.gz", None),
        ("demo-2.0-py3-none-any.whl", None),  # another version: never counts for demo==1.0
        ("demo-1.0-cp313-cp313-macosx_15_0_arm64.whl", None),  # needs macOS 15, the check assumes 14
    ]
    files = cw.of_version(listing, "1.0")
    assert cw.verdict(files, "3.12.0", by_target[("3.12", "Linux x86_64")]) == "wheel"
    assert cw.verdict(files, "3.11.5", by_target[("3.11", "Linux x86_64")]) == "sdist"
    assert cw.verdict(files, "3.13.0", by_target[("3.13", "Windows x86_64")]) == "wheel"
    assert cw.verdict(files, "3.13.0", by_target[("3.13", "macOS arm64")]) == "sdist"
    assert cw.verdict(cw.of_version(listing[:1], "1.0"), "3.13.0", by_target[("3.13", "Linux x86_64")]) == "missing"
    assert cw.verdict(cw.of_version(listing, "2.0"), "3.11.5", by_target[("3.11", "macOS arm64")]) == "wheel"
    pins = {name: (version, marker) for name, version, marker in cw.pins()}
    env = {platform: e for _, platform, _, e in cw.targets()}
    assert pins["tensorflow-cpu"][1].evaluate(env["Linux x86_64"])
    assert not pins["tensorflow-cpu"][1].evaluate(env["Windows x86_64"])
    assert pins["pywinpty"][1].evaluate(env["Windows x86_64"]) and not pins["pywinpty"][1].evaluate(env["macOS arm64"])


def _check_wheels_module():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import check_wheels
    finally:
        sys.path.pop(0)
    return check_wheels


def test_check_wheels_prints_one_line_per_missing_wheel(monkeypatch, capsys):
    """A registry (faked here) where numpy has a Linux wheel only: six lines, status 1."""
    cw = _check_wheels_module()
    pins = {name: version for name, version, _ in cw.pins()}

    def fake_files(index, name, attempts=3, timeout=20):
        if name == "numpy":
            return [(f"numpy-{pins['numpy']}-cp311-abi3-manylinux_2_28_x86_64.whl", ">=3.11")]
        return [(f"{name.replace('-', '_')}-{pins[name]}-py3-none-any.whl", None)]

    monkeypatch.setattr(cw, "files", fake_files)
    monkeypatch.setenv("TORCH_INDEX_URL", "")
    monkeypatch.setattr(sys, "argv", ["check_wheels.py"])
    assert cw.main() == 1
    out = capsys.readouterr().out.splitlines()
    missing = [line for line in out if line.startswith("check-wheels: ")]
    assert missing == [
        f"check-wheels: no wheel of numpy=={pins['numpy']} for Python {py} on {platform}"
        for platform in ("macOS arm64", "Windows x86_64")
        for py in ("3.11", "3.12", "3.13")
    ]


def test_check_wheels_says_in_one_line_that_the_registry_is_unreachable():
    env = {**os.environ, "PIP_INDEX_URL": f"{CLOSED}/simple", "TORCH_INDEX_URL": ""}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_wheels.py")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 3
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("check-wheels: the package registry could not be reached (")
    assert lines[0].endswith("); nothing was checked.")
