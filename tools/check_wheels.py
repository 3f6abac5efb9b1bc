"""Does every pinned package have a wheel for every supported Python on Linux, macOS and Windows?

Only Python 3.11 runs on the machines the course is tested on, so this asks the package registry
instead, without installing or downloading any package: for each pin of pyproject.toml and
constraints.txt it reads the registry's list of files for that package (the "simple" index that pip
itself reads, PEP 691 JSON or PEP 503 HTML) and decides, with the same wheel-tag rules pip applies
(``packaging.tags``), whether a file of the pinned version installs on each target:

    Python 3.11 (3.11.5, the oldest supported), 3.12, 3.13
    x  Linux x86_64 (glibc 2.35, e.g. Ubuntu 22.04), macOS 14 on Apple silicon (arm64), Windows x86_64

A pin whose environment marker excludes a target (``tensorflow-cpu; sys_platform == 'linux'``) is
not checked there. A package that has no wheel but a source archive passes only if it is listed in
PURE_PYTHON_SDISTS (pure Python, so it builds anywhere); none is needed today.

pip's own ``install --dry-run --python-version --platform`` would answer the same question, but the
registry serves no separate metadata files (PEP 658), so pip downloads every wheel it considers:
several GB for nine targets. Reading the file lists takes a few seconds.

On Linux the course takes torch from PyTorch's CPU wheel index (TORCH_INDEX_URL, see
tools/setup_venv.sh); where that index can be reached, torch's Linux column is checked there too.

Exit status: 0 all found; 1 a wheel is missing (one line each); 3 the registry could not be reached
(one line), so nothing could be checked.
Run: make check-wheels (or .venv/bin/python tools/check_wheels.py [--all] to print every pin).
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import ssl
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = ("3.11.5", "3.12.0", "3.13.0")
GLIBC = (2, 35)
PURE_PYTHON_SDISTS: set[str] = set()
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TIMEOUT = 20
ATTEMPTS = 3


def _manylinux(arch: str) -> list[str]:
    platforms = [f"manylinux_{GLIBC[0]}_{minor}_{arch}" for minor in range(GLIBC[1], 4, -1)]
    return platforms + [f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}"]


PLATFORMS = {
    "Linux x86_64": (
        _manylinux("x86_64"),
        {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64"},
    ),
    "macOS arm64": (
        list(mac_platforms((14, 0), "arm64")),
        {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix", "platform_machine": "arm64"},
    ),
    "Windows x86_64": (
        ["win_amd64"],
        {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt", "platform_machine": "AMD64"},
    ),
}


class Unreachable(Exception):
    """The index did not answer (network, DNS, time-out, server error)."""


def targets() -> list[tuple[str, str, set[Tag], dict[str, str]]]:
    """(python, platform, compatible tags, marker environment) for each of the nine targets."""
    result = []
    for platform, (platform_tags, env) in PLATFORMS.items():
        for full in PYTHONS:
            major, minor = (int(part) for part in full.split(".")[:2])
            tags = set(cpython_tags((major, minor), platforms=platform_tags))
            tags |= set(compatible_tags((major, minor), f"cp{major}{minor}", platform_tags))
            marker_env = {
                **env,
                "python_version": f"{major}.{minor}",
                "python_full_version": full,
                "implementation_name": "cpython",
                "platform_python_implementation": "CPython",
                "extra": "",
            }
            result.append((f"{major}.{minor}", platform, tags, marker_env))
    return result


def pins() -> list[tuple[str, str, Marker | None]]:
    """(name, version, marker) of every exact pin: pyproject's (with their markers), then the lock's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for group in project["optional-dependencies"].values():
        lines += group
    lines += [
        line.split("#", 1)[0].strip()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line.split("#", 1)[0]
    ]
    found: dict[tuple[str, str], Marker | None] = {}
    for line in lines:
        req = Requirement(line)
        (spec,) = req.specifier
        key = (canonicalize_name(req.name), spec.version)
        # the same pin in both files: the pyproject marker (which says where it applies) wins
        found.setdefault(key, req.marker)
    return sorted((name, version, marker) for (name, version), marker in found.items())


def index_url() -> str:
    """The registry pip installs from: PIP_INDEX_URL if set, else pip's default index."""
    url = os.environ.get("PIP_INDEX_URL", "").strip()
    if url.startswith(("http://", "https://")):
        return url.rstrip("/")
    from pip._internal.models.index import PyPI  # pip's own default, not a copy of its address

    return PyPI.simple_url.rstrip("/")


def _ssl_context() -> ssl.SSLContext:
    cafile = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    if not cafile:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:
            cafile = None
    return ssl.create_default_context(cafile=cafile)


CONTEXT = _ssl_context()


_LOCAL = threading.local()


def _get(url: str, timeout: float) -> tuple[int, str, str]:
    """(status, content type, body). One kept-alive connection per thread and host: a new TLS
    connection (and name look-up) per request is what makes many small requests slow."""
    parts = urllib.parse.urlsplit(url)
    headers = {"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1", "User-Agent": "check_wheels"}
    if parts.scheme != "https" or urllib.request.getproxies().get("https"):
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=CONTEXT) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, "", ""
    connections = _LOCAL.__dict__.setdefault("connections", {})
    for retry in (False, True):
        connection = connections.get(parts.netloc)
        if connection is None or retry:
            connection = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=CONTEXT)
            connections[parts.netloc] = connection
        try:
            connection.request("GET", parts.path + ("?" + parts.query if parts.query else ""), headers=headers)
            response = connection.getresponse()
            return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8", "replace")
        except (http.client.RemoteDisconnected, http.client.CannotSendRequest, ConnectionResetError, BrokenPipeError):
            connection.close()
            if retry:
                raise
    raise AssertionError("unreachable")


def files(index: str, name: str, attempts: int = ATTEMPTS, timeout: float = TIMEOUT) -> list[tuple[str, str | None]]:
    """(filename, requires-python) of every file the index lists for ``name``."""
    url = f"{index}/{name}/"
    error: object = None
    for attempt in range(attempts):
        try:
            status, kind, body = _get(url, timeout)
            if status == 404:
                return []
            if status == 200:
                break
            error = f"HTTP {status}"
        except (OSError, http.client.HTTPException) as exc:  # DNS, refused, time-out, TLS
            error = getattr(exc, "reason", exc)
        if attempt + 1 < attempts:
            time.sleep(1 + 2 * attempt)
    else:
        raise Unreachable(f"{url}: {error}")
    if "json" in kind:
        return [(f["filename"], f.get("requires-python")) for f in json.loads(body)["files"]]
    found = []
    for attributes, text in re.findall(r"<a\s([^>]*)>([^<]+)</a>", body):
        match = re.search(r'data-requires-python="([^"]*)"', attributes)
        found.append((html.unescape(text).strip(), html.unescape(match.group(1)) if match else None))
    return found


def of_version(listing, version: str) -> list[tuple[frozenset[Tag] | None, SpecifierSet | None]]:
    """The files of one version: (wheel tags, or None for a source archive; requires-python)."""
    wanted = Version(version).public
    found = []
    for filename, requires in listing:
        if version not in filename.replace("_", "-") and wanted not in filename:
            continue  # cheap filter before parsing; the parse below decides
        try:
            if filename.endswith(".whl"):
                _, file_version, _, file_tags = parse_wheel_filename(filename)
            else:
                (_, file_version), file_tags = parse_sdist_filename(filename), None
            specifier = SpecifierSet(requires) if requires else None
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidSpecifier):
            continue
        if file_version.public == wanted:
            found.append((file_tags, specifier))
    return found


def verdict(files_of_version, python_full: str, tags: set[Tag]) -> str:
    """'wheel', 'sdist' (only a source archive of that version) or 'missing' for one target."""
    sdist = False
    for file_tags, specifier in files_of_version:
        if specifier is not None and not specifier.contains(python_full, prereleases=True):
            continue
        if file_tags is None:
            sdist = True
        elif not file_tags.isdisjoint(tags):
            return "wheel"
    return "sdist" if sdist else "missing"


def main() -> int:
    show_all = "--all" in sys.argv[1:]
    start = time.perf_counter()
    index = index_url()
    torch_index = os.environ.get("TORCH_INDEX_URL", CPU_INDEX).rstrip("/")
    pinned = pins()
    names = sorted({name for name, _, _ in pinned})
    listings = {}
    try:
        listings[names[0]] = files(index, names[0])  # one probe first: an unreachable registry is told at once
    except Unreachable as exc:
        print(f"check-wheels: the package registry could not be reached ({exc}); nothing was checked.")
        return 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        torch_job = pool.submit(files, torch_index, "torch", 1, 5) if torch_index else None
        jobs = {name: pool.submit(files, index, name) for name in names[1:]}
        try:
            listings.update({name: job.result() for name, job in jobs.items()})
        except Unreachable as exc:
            pool.shutdown(wait=False, cancel_futures=True)
            print(f"check-wheels: the package registry stopped answering ({exc}); the check is incomplete.")
            return 3
        try:
            torch_cpu = torch_job.result() if torch_job else None
        except Unreachable:
            torch_cpu = None
    all_targets = targets()
    rows, missing = [], []
    summary = {(py, platform): [0, 0, 0] for py, platform, _, _ in all_targets}  # checked, sdist, missing
    for name, version, marker in pinned:
        cells = []
        for py, platform, tags, env in all_targets:
            if marker is not None and not marker.evaluate(env):
                cells.append("-")
                continue
            listing = of_version(listings[name], version)
            if name == "torch" and platform.startswith("Linux") and torch_cpu is not None:
                listing = of_version(torch_cpu, version)  # the CPU build set-up installs on Linux
            result = verdict(listing, env["python_full_version"], tags)
            summary[(py, platform)][0] += 1
            if result == "sdist" and name in PURE_PYTHON_SDISTS:
                summary[(py, platform)][1] += 1
                cells.append("sdist")
            elif result == "wheel":
                cells.append("ok")
            else:
                summary[(py, platform)][2] += 1
                cells.append("MISSING" if result == "missing" else "sdist?")
                what = "no wheel (only a source archive)" if result == "sdist" else "no wheel"
                missing.append(f"check-wheels: {what} of {name}=={version} for Python {py} on {platform}")
        rows.append((name, version, cells))

    if show_all:
        heads = [f"{platform.split()[0][:3]} {py}" for py, platform, _, _ in all_targets]
        print(f"{'package':<30}{'version':<14}" + "".join(f"{h:>10}" for h in heads))
        for name, version, cells in rows:
            print(f"{name:<30}{version:<14}" + "".join(f"{c:>10}" for c in cells))
        print()
    print(f"{'target':<30}{'pins checked':>13}{'wheels':>8}{'sdist':>7}{'missing':>9}")
    for (py, platform), (checked, sdists, lacking) in summary.items():
        wheels = checked - sdists - lacking
        print(f"{'Python ' + py + ' on ' + platform:<30}{checked:>13}{wheels:>8}{sdists:>7}{lacking:>9}")
    if torch_index:
        where = "checked there" if torch_cpu is not None else "not reachable, so the registry's torch was checked"
        print(f"torch on Linux comes from {torch_index}: {where}.")
    print(f"{len(pinned)} pins x {len(all_targets)} targets, index {index}, {time.perf_counter() - start:.1f} s.")
    for line in missing:
        print(line)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
