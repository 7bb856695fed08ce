# Developer shortcuts. Every target runs inside the repository's virtual environment (.venv).
PY ?= .venv/bin/python
CHECK_DIRS = src tests benchmarks scripts

.PHONY: style lint test

style:  ## rewrite the code in the project's style (imports sorted, formatted)
	$(PY) -m ruff check --fix $(CHECK_DIRS)
	$(PY) -m ruff format $(CHECK_DIRS)

lint:  ## what CI checks: lint rules and formatting, without changing a file
	$(PY) -m ruff check $(CHECK_DIRS)
	$(PY) -m ruff format --check $(CHECK_DIRS)

test:  ## the whole test suite on both cores
	$(PY) -m pytest -n 2
