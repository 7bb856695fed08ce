# The quick start and the developer shortcuts.
#
#   make main    set up what the main job needs, then train it (configs/explicit_sparse_bible.yaml)
#   make test    set up, then run the whole test suite on both cores
#
# The set-up is a chain of steps, each skipped when it is done, so a second call goes straight to the run: the
# virtual environment (.venv, from Python 3.10+), torch (the CPU wheel where no NVIDIA GPU is present), lanco-hf with
# its dev extras (again only when pyproject.toml changed), and the data: Debian packages (root or sudo; skipped with
# the command to run otherwise), the emoji images from the npm registry, the Tux Paint stamps unpacked from their
# Debian package. `make setup` runs the chain alone; `make help` lists the targets.

SHELL := /bin/bash
# the venv's Python: python3 if it is 3.10+, else the newest python3.1x that runs (override: PYTHON=/usr/bin/python3.12)
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11 python3.10; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null && { command -v $$p; break; }; done)
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0
# PyPI's torch is the CUDA build (several GB); without an NVIDIA GPU the CPU wheel comes from PyTorch's index
TORCH_INDEX ?= $(if $(shell command -v nvidia-smi),,https://download.pytorch.org/whl/cpu)
LANCO_HF_CACHE ?= $(HOME)/.cache/lanco_hf
APT_PACKAGES := sword-text-kjv sword-text-sparv dataset-fashion-mnist unicode-cldr-core
EMOJI_PACKAGE := emoji-datasource-google@16.0.0
EMOJI_TARBALL := $(LANCO_HF_CACHE)/emoji/emoji-datasource-google-16.0.0.tgz
TUXPAINT_STAMPS := $(LANCO_HF_CACHE)/tuxpaint/usr/share/tuxpaint/stamps
STAMPS := $(VENV)/.lanco-hf
CHECK_DIRS = src tests benchmarks scripts
# `$(ROOT); $$AS_ROOT apt-get ...` runs apt-get as root: directly when root, through sudo when it needs no password;
# ROOT_OK is empty when neither
ROOT = if [ "$$(id -u)" = 0 ]; then AS_ROOT=""; ROOT_OK=1; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then AS_ROOT=sudo; ROOT_OK=1; \
	else AS_ROOT=""; ROOT_OK=""; fi

.PHONY: main test setup data debian-packages emoji-data tuxpaint-data browser style lint help

# --resume: a first call trains, an interrupted one continues from its last checkpoint, a finished one does nothing
main: $(STAMPS)/installed debian-packages  ## set up what the main job needs (no emoji / Tux Paint data), then train it
	$(VENV)/bin/lanco-hf train configs/explicit_sparse_bible.yaml --resume

test: setup browser  ## set up, then run the whole test suite on both cores
	$(PY) -m pytest -n 2

setup: $(STAMPS)/installed data  ## the set-up chain alone (each step skipped when done)
	@echo "set-up: done ($$($(PY) -c 'import sys; from importlib.metadata import version as v; print("Python", sys.version.split()[0] + ", torch", v("torch") + ", lanco-hf", v("lanco-hf"))') in $(VENV); data in $(LANCO_HF_CACHE))"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { \
		echo "set-up: lanco-hf needs Python 3.10+ (none of python3, python3.10-3.13 is; PYTHON='$(PYTHON)'): install one, or pass PYTHON=/path/to/python3.x" >&2; exit 1; }
	@version=$$($(PYTHON) -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'); \
	if ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
		$(ROOT); \
		if [ -z "$$ROOT_OK" ]; then echo "set-up: venv needs the python$$version-venv package: sudo apt-get install python$$version-venv" >&2; exit 1; fi; \
		$$AS_ROOT apt-get update -qq && $$AS_ROOT apt-get install -y -qq python$$version-venv; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMPS)/torch: | $(PY)
	@if $(PY) -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$(lastword $(subst ==, ,$(TORCH)))')" 2>/dev/null; then \
		echo "set-up: $(TORCH) already installed"; \
	else \
		echo "set-up: installing $(TORCH)$(if $(TORCH_INDEX), (CPU wheel))"; \
		$(PY) -m pip install -q $(TORCH) $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)); \
	fi
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/installed: pyproject.toml $(STAMPS)/torch  # again whenever pyproject.toml changes
	$(PY) -m pip install -q -e ".[dev]"
	@touch $@

data: debian-packages emoji-data tuxpaint-data  ## the data of the main job and the tests

# apt-get update with Languages=en also fetches Translation-en: the package descriptions of the debtags corpus
debian-packages:
	@missing=""; for package in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ] && ls /var/lib/apt/lists/*_i18n_Translation-en* >/dev/null 2>&1; then \
		echo "data: Debian packages already installed ($(APT_PACKAGES))"; exit 0; fi; \
	$(ROOT); \
	if [ -z "$$ROOT_OK" ]; then \
		echo "data: skipped (needs root or sudo): sudo apt-get -o Acquire::Languages=en update && sudo apt-get install -y$$missing"; \
	else \
		$$AS_ROOT apt-get -o Acquire::Languages=en update -qq && \
		$$AS_ROOT apt-get install -y -qq --no-install-recommends$$missing; \
	fi

emoji-data:  # CLIP openness; the emoji tests skip where npm is missing
	@if [ -f "$(EMOJI_TARBALL)" ]; then echo "data: emoji images already in $(EMOJI_TARBALL)"; \
	elif command -v npm >/dev/null; then \
		mkdir -p "$(dir $(EMOJI_TARBALL))" && npm pack -q $(EMOJI_PACKAGE) --pack-destination "$(dir $(EMOJI_TARBALL))" >/dev/null && \
		echo "data: emoji images fetched to $(EMOJI_TARBALL)"; \
	else echo "data: skipped the emoji images (no npm): sudo apt-get install npm, then make setup"; fi

tuxpaint-data:  # IAIS image-text pairs, 161 MB: the package is unpacked, not installed (it pulls in Tux Paint itself)
	@if [ -d "$(TUXPAINT_STAMPS)" ]; then echo "data: Tux Paint stamps already in $(TUXPAINT_STAMPS)"; \
	else \
		scratch=$$(mktemp -d) && chmod 755 "$$scratch"; \
		if (cd "$$scratch" && apt-get download -qq tuxpaint-stamps-default) && mkdir -p "$(LANCO_HF_CACHE)/tuxpaint" && \
			dpkg-deb -x "$$scratch"/tuxpaint-stamps-default_*.deb "$(LANCO_HF_CACHE)/tuxpaint"; then \
			echo "data: Tux Paint stamps unpacked to $(TUXPAINT_STAMPS)"; \
		else echo "data: skipped the Tux Paint stamps (apt-get download failed: run sudo apt-get update, then make setup)"; fi; \
		rm -rf "$$scratch"; \
	fi

browser:  # the demo's browser test drives Debian's headless chromium (it skips where chromium is missing)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		echo "test: chromium and chromedriver already installed"; exit 0; fi; \
	$(ROOT); \
	if [ -z "$$ROOT_OK" ]; then echo "test: no chromium (the browser test skips): sudo apt-get install chromium chromium-driver"; \
	else $$AS_ROOT apt-get install -y -qq --no-install-recommends chromium chromium-driver || \
		echo "test: chromium-driver is not installable here (the browser test skips)"; fi

style: $(STAMPS)/installed  ## rewrite the code in the project's style (imports sorted, formatted)
	$(PY) -m ruff check --fix $(CHECK_DIRS)
	$(PY) -m ruff format $(CHECK_DIRS)

lint: $(STAMPS)/installed  ## what CI checks: lint rules and formatting, without changing a file
	$(PY) -m ruff check $(CHECK_DIRS)
	$(PY) -m ruff format --check $(CHECK_DIRS)

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12
