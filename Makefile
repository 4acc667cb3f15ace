# The two commands a newcomer needs: `make demo` and `make test`.
# Only Python 3.11+, make and git are assumed; uv is installed into .tools/ with pip when missing.

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
# Never download a Python build: use the one on this machine.
export UV_PYTHON_DOWNLOADS := never
RUN := $(UV) run --frozen --no-sync

.PHONY: setup demo serve test lint format typecheck contracts pytest bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

setup: $(UV)
	$(UV) sync --frozen

demo: setup
	$(RUN) zhifa demo

serve: setup
	$(RUN) zhifa serve

test: setup lint typecheck contracts pytest

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: setup
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

typecheck:
	$(RUN) mypy

contracts:
	$(RUN) lint-imports

pytest:
	$(RUN) pytest

bench: setup
	$(RUN) python bench/overlimit.py

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache .hypothesis var demo-data
