#!/usr/bin/env bash
# Create or refresh .venv with the pinned dependencies and course_utils (editable).
# Called by `make` whenever .venv is missing or older than pyproject.toml / constraints.txt.
# Failures end in one line that says what is missing, not a stack trace.
set -u
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
LOG="$VENV-install.log"

fail() { echo "setup: $*" >&2; exit 1; }

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  fail "Python 3.11 is needed and '$PYTHON' is not on PATH; install Python 3.11 (or run make PYTHON=/path/to/python3.11)."
fi
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
  || fail "'$PYTHON' does not run; install Python 3.11."
[ "$version" = "3.11" ] || fail "Python 3.11 is needed, '$PYTHON' is Python $version; run make PYTHON=/path/to/python3.11."

if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "3.11" ]; then
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" >"$LOG" 2>&1 || fail "could not create $VENV with $PYTHON (is the venv module installed?); see $LOG."
fi

# This machine keeps a CPU build of torch 2.13.0 on disk; elsewhere pip takes it from the registry.
extra=()
[ -d /opt/wheels ] && extra+=(--find-links /opt/wheels)

echo "setup: installing the pinned dependencies into $VENV (the first time takes a few minutes)..."
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check "${extra[@]}" \
    -c constraints.txt -e '.[frameworks,lab,dev]' >>"$LOG" 2>&1; then
  if grep -qiE "connection|network|resolve|timed out|Max retries|No matching distribution" "$LOG"; then
    fail "could not download the pinned packages: no network to the package registry? Details in $LOG."
  fi
  fail "pip could not install the pinned dependencies; the last lines of $LOG say why."
fi
touch "$VENV/.installed"
echo "setup: $VENV is ready."
