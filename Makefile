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

# The cleanup summaries' counts, one line each (the full dry run lists every one of the 300
# sessions). Not beforeCount: an enforce run counts it after --fix-missing (as the reference does).
DEMO_COUNTS = '"(agentId|afterCount|missing|pruned|capped|applied|appliedCount)"'

.PHONY: setup demo test interop bench

setup: $(VENV)/.installed

# The worked third-party plugin (docs/plugin-guide.md) is installed too: its tests run with the suite.
$(VENV)/.installed: pyproject.toml examples/openclaw-retention-pins/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/pip install --quiet -e examples/openclaw-retention-pins
	touch $@

demo: setup
	$(BIN)/python -m openclaw_core.adapters.demo $(DEMO) --force
	$(DEMO_ENV) $(BIN)/openclaw plugins list
	$(DEMO_ENV) $(BIN)/openclaw sessions --all-agents --limit 8
	@echo "# preview, then enforce: the same flags, so the two sets of counts match"
	$(DEMO_ENV) $(BIN)/openclaw sessions cleanup --all-agents --fix-missing --dry-run --json | grep -E $(DEMO_COUNTS)
	$(DEMO_ENV) $(BIN)/openclaw sessions cleanup --all-agents --fix-missing --enforce --json | grep -E $(DEMO_COUNTS)
	@echo "Next: docs/getting-started.md (everyday tasks, with real output); docs/maintenance.md (what each count means)."

# -n auto: one pytest-xdist worker per core; loadgroup keeps each xdist_group on one worker
test: setup
	.ci/ensure-postgres.sh
	$(BIN)/python -m pytest -q -n auto --dist loadgroup -m "not interop"

# The real OpenClaw CLI's everyday commands against both Gateways, side by side (docs/gateway.md):
# 12+ minutes on 2 cores, so not part of `make test`; skips without ../shared/reference/install.sh.
interop: setup
	$(BIN)/python -m pytest -q -m interop

bench: setup
	$(BIN)/python bench/run_all.py
