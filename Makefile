# Two commands a newcomer needs (see README.md):
#   make demo   set everything up, build a demo state dir, run the main job on it
#   make test   set everything up, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
DEMO = $(CURDIR)/demo-state

.PHONY: setup demo test bench

setup: $(VENV)/.installed

# The worked third-party plugin (docs/plugin-guide.md) is installed too: its tests run with the suite.
$(VENV)/.installed: pyproject.toml examples/openclaw-retention-pins/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/pip install --quiet -e examples/openclaw-retention-pins
	touch $@

demo: setup
	$(BIN)/python -m openclaw_core.demo $(DEMO) --force
	OPENCLAW_STATE_DIR=$(DEMO) $(BIN)/openclaw plugins list
	OPENCLAW_STATE_DIR=$(DEMO) $(BIN)/openclaw sessions --all-agents --limit 8
	OPENCLAW_STATE_DIR=$(DEMO) $(BIN)/openclaw sessions cleanup --all-agents --dry-run
	OPENCLAW_STATE_DIR=$(DEMO) $(BIN)/openclaw sessions cleanup --all-agents --enforce --fix-missing --json

test: setup
	.ci/ensure-postgres.sh
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/run_all.py
