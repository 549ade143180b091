# Two commands a newcomer needs (see README.md):
#   make demo   set everything up, build a demo state dir, run the main job on it
#   make test   set everything up, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
DEMO = $(CURDIR)/demo-state
# The demo's commands use the demo's config alone (its own Gateway port), never
# a Gateway, config or token of the user's shell.
DEMO_ENV = env -u OPENCLAW_GATEWAY_PORT -u OPENCLAW_GATEWAY_URL -u OPENCLAW_GATEWAY_TOKEN \
	-u OPENCLAW_CONFIG_PATH -u OPENCLAW_HOME OPENCLAW_STATE_DIR=$(DEMO)

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
	$(DEMO_ENV) $(BIN)/openclaw plugins list
	$(DEMO_ENV) $(BIN)/openclaw sessions --all-agents --limit 8
	$(DEMO_ENV) $(BIN)/openclaw sessions cleanup --all-agents --dry-run
	$(DEMO_ENV) $(BIN)/openclaw sessions cleanup --all-agents --enforce --fix-missing --json

test: setup
	.ci/ensure-postgres.sh
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/run_all.py
