# The course in two commands: `make lab` (set up, then open JupyterLab) and `make test`
# (set up, then run every test, nbval included). Everything else is optional.
SHELL := /bin/bash
# Empty: set-up takes the first of python3.11, python3.12, python3.13, python3 that is supported.
PYTHON ?=
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
PYTEST_WORKERS ?= 2
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=600

.PHONY: help setup check-wheels lab test test-fast nbval refresh anim bench lint format lock clean grade

help:
	@echo "make setup    create .venv, or check it and repair what is broken (imports the course's stack)"
	@echo "make lab      set up .venv, then open the course in JupyterLab (127.0.0.1, with a token)"
	@echo "make test     set up .venv, then run every test: course_utils, hygiene, nbval (strict)"
	@echo "make refresh  re-execute every notebook top to bottom and store its outputs (atomic)"
	@echo "make anim     regenerate the GIFs in anim/ (deterministic, atomic)"
	@echo "make bench    print speed ratios and GFLOP/s of the NumPy fast path against PyTorch"
	@echo "make lint     ruff check and format check"
	@echo "make site     build the offline site in site/: chapter pages, slides, student copies (needs Node.js)"
	@echo "make grade SUBMISSIONS=folder  grade returned student copies: grades/gradebook.csv, feedback pages, a summary"
	@echo "make check-wheels  ask the registry whether every pin has a wheel for Python 3.11-3.13 on Linux, macOS, Windows"

# Before every target that needs .venv: build it when missing or older than the pins, else a quick
# check that it is whole (every locked package and file present; a second or two), repairing what is not.
$(STAMP): pyproject.toml constraints.txt tools/setup_venv.sh tools/check_venv.py FORCE
	@PYTHON=$(PYTHON) VENV=$(VENV) tools/setup_venv.sh

# The same, and the course's stack must import (numpy, torch, tensorflow, jupyterlab, course_utils...).
setup:
	@PYTHON=$(PYTHON) VENV=$(VENV) tools/setup_venv.sh --imports

FORCE:

# Metadata only, nothing installed: a table of pins x (Python 3.11-3.13) x (Linux, macOS, Windows).
check-wheels: $(STAMP)
	$(PY) tools/check_wheels.py

# JupyterLab refuses to start as root unless told; containers often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 --no-browser --ServerApp.root_dir=$(CURDIR) $(ALLOW_ROOT) \
		notebooks/01_standard_vs_atrous.ipynb

test: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(NBVAL) tests notebooks

test-fast: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests

nbval: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(NBVAL) notebooks

refresh: $(STAMP)
	$(PY) tools/refresh.py notebooks/*.ipynb

anim: $(STAMP)
	$(PY) -m course_utils.anim anim

bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check course_utils tests tools benchmarks notebooks
	$(VENV)/bin/ruff format --check course_utils tests tools benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format course_utils tests tools benchmarks
	$(VENV)/bin/ruff check --fix course_utils tests tools benchmarks

# Re-lock every transitive dependency after changing a pin in pyproject.toml.
lock: $(STAMP)
	{ $(PY) -m pip freeze --exclude-editable | sed -E 's/\+cpu$$//' | grep -v '^course-utils'; \
	  sed -n '/^# Not installed here/,$$p' constraints.txt; } > constraints.tmp && mv constraints.tmp constraints.txt

# The static site (pages, reveal.js slides, student copies) from the stored notebooks, nothing re-executed;
# every script it loads is local, installed by `npm ci` from package-lock.json when node_modules is stale
# (without Node.js the script says so in one line).
.PHONY: site
site: $(STAMP)
	@$(PY) tools/build_site.py

# Grade a folder of returned student copies (any file names): each answer runs in its own limited
# process, never in the student's kernel. OUT names another output folder, CHAPTER the chapter handed out.
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder [OUT=grades] [CHAPTER=N]"; exit 2; }
	$(PY) tools/grade.py "$(SUBMISSIONS)" --out "$(or $(OUT),grades)" $(if $(CHAPTER),--chapter $(CHAPTER))

clean:
	rm -rf $(VENV) $(VENV)-install.log .hypothesis
