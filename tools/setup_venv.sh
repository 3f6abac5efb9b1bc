#!/usr/bin/env bash
# Create, check or repair .venv: the pinned dependencies and course_utils (editable).
# Called by `make` before every target that needs .venv. When .venv exists and is newer than the pins,
# it only checks that the environment is whole (tools/check_venv.py: every package of the course's
# requirements installed at its locked version, every file pip recorded still there; with --imports,
# as `make setup` runs it, the course's stack is also imported) and repairs what it finds broken.
# Failures end in one line that says what is wrong and what to do, not a stack trace.
#
#   PYTHON=python3.12       the interpreter to build .venv with (default: the first of python3.11,
#                           python3.12, python3.13, python3 on PATH that is a supported version)
#   TORCH_INDEX_URL=URL     where Linux takes PyTorch from (default: PyTorch's CPU-only wheel index;
#                           empty: the package registry, which on Linux serves the large CUDA build)
#   usage: tools/setup_venv.sh [--imports] [--plan]
set -u
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-}
LOG="$VENV-install.log"
STAMP="$VENV/.installed"
SUPPORTED="3.11 3.12 3.13"
MIN_PATCH_311=5  # soupsieve (pulled in by nbconvert) needs Python >= 3.11.5
CPU_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX_URL=${TORCH_INDEX_URL-$CPU_INDEX}
IMPORTS=0
PLAN=0
for arg in "$@"; do
  case "$arg" in
    --imports) IMPORTS=1 ;;
    --plan) PLAN=1 ;;
    *) echo "setup: unknown option $arg (use --imports or --plan)" >&2; exit 2 ;;
  esac
done

fail() { echo "setup: $*" >&2; exit 1; }
say() { echo "setup: $*"; }

# "3.12" when $1 runs and is a supported version, else nothing (a pyenv shim of a version that is
# not selected exits non-zero, so it is skipped like a missing command).
supported_version() {
  local v
  v=$("$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null) || return 1
  case " $SUPPORTED " in *" ${v%.*} "*) ;; *) echo "unsupported $v"; return 0 ;; esac
  if [ "${v%.*}" = 3.11 ] && [ "${v##*.}" -lt "$MIN_PATCH_311" ]; then echo "unsupported $v"; return 0; fi
  echo "${v%.*}"
}

venv_version() { [ -x "$VENV/bin/python" ] && supported_version "$VENV/bin/python"; }

# Pick the interpreter: PYTHON if given, else the first supported one on PATH.
pick_python() {
  local v
  if [ -n "$PYTHON" ]; then
    command -v "$PYTHON" >/dev/null 2>&1 \
      || fail "PYTHON=$PYTHON is not on PATH; install Python 3.11, 3.12 or 3.13, or run make PYTHON=/path/to/python3.X."
    v=$(supported_version "$PYTHON") || fail "PYTHON=$PYTHON does not run; install Python 3.11, 3.12 or 3.13."
    case "$v" in unsupported*)
      fail "Python 3.11.$MIN_PATCH_311+, 3.12 or 3.13 is needed, PYTHON=$PYTHON is Python ${v#unsupported }; run make PYTHON=/path/to/python3.X." ;;
    esac
    echo "$PYTHON $v"
    return
  fi
  for candidate in python3.11 python3.12 python3.13 python3; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    v=$(supported_version "$candidate") || continue
    case "$v" in unsupported*) continue ;; esac
    echo "$candidate $v"
    return
  done
  fail "no Python 3.11.$MIN_PATCH_311+, 3.12 or 3.13 found on PATH (tried python3.11, python3.12, python3.13, python3); install one, or run make PYTHON=/path/to/python3.X."
}

# Where torch comes from. On Linux the pinned torch is taken from a local wheel folder (pip's
# find-links) when one holds it, and then no index is contacted for it; else from TORCH_INDEX_URL.
TORCH_PIN=$(sed -nE 's/^torch==([^ ;#]+).*/\1/p' constraints.txt)
local_torch_wheel() {  # $1 = python tag such as cp311
  local dirs dir wheel arch
  arch=$(uname -m)
  dirs="${PIP_FIND_LINKS:-} $("$VENV/bin/python" -m pip config list 2>/dev/null | sed -nE "s/^[a-z:.]*find-links='(.*)'$/\1/p")"
  for dir in $dirs; do
    dir=${dir#file://}
    [ -d "$dir" ] || continue
    for wheel in "$dir"/torch-"$TORCH_PIN"-"$1"-"$1"-*linux*_"$arch".whl "$dir"/torch-"$TORCH_PIN"+*-"$1"-"$1"-*linux*_"$arch".whl; do
      [ -f "$wheel" ] && { echo "$wheel"; return 0; }
    done
  done
  return 1
}

torch_source() {  # prints "local WHEEL", "index URL" or "registry"
  local tag wheel
  if [ -z "$TORCH_PIN" ] || [ "$(uname -s)" != Linux ]; then echo registry; return; fi  # macOS/Windows wheels are CPU builds
  tag=$("$VENV/bin/python" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
  if wheel=$(local_torch_wheel "$tag"); then echo "local $wheel"; return; fi
  if [ -n "$TORCH_INDEX_URL" ]; then echo "index $TORCH_INDEX_URL"; else echo registry; fi
}

torch_installed() {  # or not pinned at all
  [ -z "$TORCH_PIN" ] && return 0
  "$VENV/bin/python" - "$TORCH_PIN" <<'EOF' 2>/dev/null
import importlib.metadata as md, sys
sys.exit(0 if md.version("torch").split("+")[0] == sys.argv[1] else 1)
EOF
}

pip_install() { "$VENV/bin/python" -m pip install --disable-pip-version-check "$@" >>"$LOG" 2>&1; }

network_error() { grep -qiE "connection|network|resolve|timed out|Max retries|No matching distribution|404" "$LOG"; }

install_torch() {  # $1 = extra pip options (e.g. --force-reinstall)
  local source
  source=$(torch_source)
  case "$source" in
    local\ *)
      pip_install ${1:-} --no-deps --no-index "${source#local }" \
        || fail "could not install PyTorch from ${source#local }; the last lines of $LOG say why." ;;
    index\ *)
      say "installing PyTorch $TORCH_PIN (CPU build) from $TORCH_INDEX_URL..."
      if ! pip_install ${1:-} --no-deps --index-url "$TORCH_INDEX_URL" "torch==$TORCH_PIN"; then
        network_error && fail "PyTorch's CPU wheel index $TORCH_INDEX_URL cannot be reached; retry later, or run make setup TORCH_INDEX_URL= to take torch from the package registry (the CUDA build, several GB). Details in $LOG."
        fail "pip could not install torch==$TORCH_PIN from $TORCH_INDEX_URL; the last lines of $LOG say why."
      fi ;;
    registry) ;;  # the main install takes it with everything else
  esac
}

install_all() {  # $1 = extra pip options
  if ! pip_install ${1:-} -c constraints.txt -e '.[frameworks,lab,dev]'; then
    network_error && fail "could not download the pinned packages: no network to the package registry? Details in $LOG."
    fail "pip could not install the pinned dependencies; the last lines of $LOG say why."
  fi
}

check() {  # prints name==version of each distribution to repair; status 0 when whole
  if [ "$IMPORTS" = 1 ]; then
    "$VENV/bin/python" tools/check_venv.py --imports 2>>"$LOG"
  else
    "$VENV/bin/python" tools/check_venv.py 2>>"$LOG"
  fi
}

# --- the interpreter and the environment itself
created=0
have=$(venv_version 2>/dev/null || true)
case "$have" in unsupported*) have="" ;; esac
if [ -z "$have" ] || [ -n "$PYTHON" ]; then
  read -r base want < <(pick_python) || exit 1
  if [ -n "$have" ] && [ "$have" != "$want" ]; then
    say "$VENV has Python $have, $base is Python $want: rebuilding $VENV."
    have=""
  fi
  if [ -z "$have" ]; then
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$base" -m venv "$VENV" >"$LOG" 2>&1 || fail "could not create $VENV with $base (is its venv module installed?); see $LOG."
    say "created $VENV with $base (Python $want)."
    created=1
  fi
fi
: >>"$LOG"

if [ "$PLAN" = 1 ]; then  # where set-up takes torch from; installs nothing
  echo "torch $TORCH_PIN: $(torch_source)"
  exit 0
fi

# --- up to date and whole: nothing to do; broken: reinstall what is broken
fresh=1
for pin in pyproject.toml constraints.txt tools/setup_venv.sh tools/check_venv.py; do
  [ -f "$STAMP" ] && [ "$STAMP" -nt "$pin" ] || fresh=0
done
if [ "$fresh" = 1 ]; then  # a pin that changed is left to the full install below
  if broken=$(check); then
    say "$VENV is ready (every locked package and file present$([ "$IMPORTS" = 1 ] && echo "; the course's stack imports"))."
    exit 0
  else
    say "$VENV is broken ($(echo $broken | tr ' ' ',')): repairing it; details in $LOG."
    rm -f "$STAMP"
    force=()
    for spec in $broken; do
      case "$spec" in
        course-utils*) ;;  # reinstalled (editable) by the full install below
        torch==*) install_torch --force-reinstall ;;
        *) force+=("$spec") ;;
      esac
    done
    if [ ${#force[@]} -gt 0 ]; then
      if ! pip_install --force-reinstall --no-deps -c constraints.txt "${force[@]}" && network_error; then
        fail "could not download ${force[*]} to repair $VENV: no network to the package registry? Details in $LOG."
      fi
    fi
  fi
fi

if [ "$fresh" = 0 ]; then
  say "installing the pinned dependencies into $VENV (the first time takes a few minutes)..."
fi
torch_installed || install_torch
install_all
if ! broken=$(IMPORTS=1 check); then
  [ -n "${SETUP_REBUILT:-}" ] && fail "$VENV is still broken after a rebuild ($(echo $broken | tr ' ' ',')); see $LOG."
  say "$VENV is still broken ($(echo $broken | tr ' ' ',')): rebuilding it from scratch."
  rm -rf "$VENV"
  SETUP_REBUILT=1 PYTHON="${PYTHON:-${base:-}}" exec "$0" "$@"
fi
touch "$STAMP"
say "$VENV is ready."
