"""Is this virtual environment whole? Run by tools/setup_venv.sh with the environment's own Python.

Walks the course's requirements (pyproject.toml's dependencies and the extras frameworks, lab and
dev) through every dependency they pull in, and checks for each distribution that it is installed,
at the version constraints.txt locks, and that every file pip recorded for it is still on disk.
That is quick (well under a second) and catches a package deleted by hand, a half-removed one or a
drifted version. ``--imports`` also imports the course's stack in a child process, which catches
what a file check cannot (a library that no longer loads), at the cost of a few seconds.

Prints one line per problem on stderr and the distributions to reinstall on stdout (``name==locked``),
one per line; exit status 0 when whole, 1 when something must be repaired.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

try:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
except ImportError:  # before the first install: the copy inside pip
    from pip._vendor.packaging.markers import default_environment
    from pip._vendor.packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("frameworks", "lab", "dev")
# What the course imports (module -> the distributions that provide it); a module is imported when
# one of its distributions is among the requirements, and one that fails names what to repair.
STACK = {
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "matplotlib": ("matplotlib",),
    "torch": ("torch",),
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "keras": ("keras",),
    "ipywidgets": ("ipywidgets",),
    "nbval": ("nbval",),
    "jupyterlab": ("jupyterlab",),
    "course_utils": ("course-utils",),
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical(name)] = version.strip()
    return pins


def top_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS:
        lines += project["optional-dependencies"].get(extra, [])
    return [Requirement(line) for line in lines]


def applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    env = default_environment()
    return any(req.marker.evaluate({**env, "extra": extra}) for extra in (extras or {""}))


def closure() -> tuple[dict[str, md.Distribution], list[str]]:
    """Every distribution the requirements pull in (name -> dist) and the problems met on the way."""
    found: dict[str, md.Distribution] = {}
    problems: list[str] = []
    todo = [Requirement("course-utils")] + [req for req in top_requirements() if applies(req, set())]
    seen: set[tuple[str, frozenset]] = set()
    while todo:
        req = todo.pop()
        name = canonical(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            problems.append(f"{name}: not installed")
            found.setdefault(name, None)
            continue
        found[name] = dist
        for line in dist.requires or []:
            sub = Requirement(line)
            if applies(sub, set(req.extras)):
                todo.append(sub)
    return found, problems


def check_files(name: str, dist: md.Distribution, pins: dict[str, str]) -> str | None:
    version = dist.version.split("+", 1)[0]  # torch's "2.13.0+cpu" is the locked 2.13.0
    if name in pins and version != pins[name]:
        return f"{name}: version {dist.version} installed, {pins[name]} locked"
    for record in dist.files or []:
        if record.suffix == ".pyc" or "__pycache__" in record.parts:
            continue  # byte-code caches come and go
        if not Path(record.locate()).exists():
            return f"{name}: {record} is missing"
    return None


def check_imports(modules: list[str]) -> list[tuple[str, str, str]]:
    """Import ``modules`` in a child process; (module, missing module, error) for each that fails."""
    code = (
        "import importlib, json, sys\n"
        "bad = []\n"
        f"for m in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except BaseException as e:\n"
        "        bad.append([m, getattr(e, 'name', None) or m, f'{type(e).__name__}: {e}'.splitlines()[0]])\n"
        "print(json.dumps(bad))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="/")
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return [["python", "python", f"the import check itself failed: {result.stderr.strip()[-200:]}"]]


def main() -> int:
    pins = locked_versions()
    found, problems = closure()
    broken = {line.split(":", 1)[0] for line in problems}
    for name, dist in sorted(found.items()):
        if dist is None:
            continue
        problem = check_files(name, dist, pins)
        if problem:
            problems.append(problem)
            broken.add(name)
    course = found.get("course-utils")
    if course is not None:
        origin = course.read_text("direct_url.json") or "{}"
        url = json.loads(origin).get("url", "")
        if url.rstrip("/") != ROOT.as_uri():
            problems.append(f"course-utils: installed from {url or 'a copy'}, not from this folder ({ROOT})")
            broken.add("course-utils")
    if "--imports" in sys.argv[1:]:
        owners = md.packages_distributions()
        modules = [m for m, dists in STACK.items() if any(d in found for d in dists)]
        for module, missing, error in check_imports(modules):
            problems.append(f"import {module} fails: {error}")
            top = missing.split(".", 1)[0]
            names = owners.get(top) or owners.get(module) or [missing]
            broken.update(canonical(n) for n in names)
    for line in problems:
        print(f"check: {line}", file=sys.stderr)
    for name in sorted(broken):
        print(f"{name}=={pins[name]}" if name in pins else name)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
