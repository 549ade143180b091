"""What the two commands bench/bench_file_floor.py holds to its floors may cost at
start: no ``@dataclass`` is built on their paths (each is about a millisecond of
``exec`` at import; openclaw_core/base/record.py says what to write instead).
Any other command may use them."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import enable_only, now_ms, write_store

# Run the command in this process, then name every dataclass defined by a module of
# ours (or of a plugin) that the run imported.
PROBE = """
import json, sys
from openclaw_core.app import main
sys.argv = ["openclaw", *{argv!r}]
try:
    main()
finally:
    found = sorted(f"{{name}}.{{attr}}" for name, module in list(sys.modules.items())
                   if name.startswith(("openclaw_", "plugins."))
                   for attr, value in list(vars(module).items())
                   if isinstance(value, type) and value.__module__ == name and "__dataclass_fields__" in vars(value))
    loaded = sorted(name for name in sys.modules if name.startswith("openclaw_"))
    sys.stderr.write("\\nPROBE " + json.dumps({{"dataclasses": found, "modules": loaded}}) + "\\n")
"""


def probe(*argv: str, env: dict | None = None) -> dict:
    import os

    proc = subprocess.run([sys.executable, "-c", PROBE.format(argv=list(argv))], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stderr.rsplit("PROBE ", 1)[1])


def seed(store_path) -> None:
    now = now_ms()
    write_store(store_path, {f"agent:main:s{i}": {"sessionId": f"s{i}", "updatedAt": now - i * 86_400_000 * 20}
                             for i in range(4)})


def test_the_listing_builds_no_dataclass(state_dir, store_path):
    seed(store_path)
    found = probe("sessions", "--limit", "all", "--json")
    assert "openclaw_core.services.listing_json" in found["modules"]  # the probe saw the listing's modules
    assert found["dataclasses"] == []


def test_the_cleanup_builds_no_dataclass_with_the_example_plugin_on(state_dir, store_path):
    seed(store_path)
    found = probe("sessions", "cleanup", "--enforce", "--store", str(store_path), "--json",
                  env={"OPENCLAW_DISABLE_PLUGINS": enable_only("openclaw-retention-pins")})
    assert {"openclaw_core.services.cleanup", "openclaw_maintenance.policies",
            "openclaw_retention_pins.settings"} <= set(found["modules"])
    assert found["dataclasses"] == []
