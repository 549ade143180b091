"""Shared fixtures: a real state dir per test, the CLI in-process or as a real
subprocess, and a clean plugin manager / writer registry around every test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import ports
import pytest
import run_alone
from hypothesis import settings as hypothesis_settings
from pg_fixtures import pg_server, pg_store_config  # noqa: F401  (a real PostgreSQL, started on first use)

# Property tests draw the same examples on every run: CI must not pass or fail by
# luck. Set OPENCLAW_HYPOTHESIS=explore to search with fresh random examples.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("OPENCLAW_HYPOTHESIS", "ci"))

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO.parent / "shared" / "reference"
CASES = REFERENCE / "cases"
VENV_BIN = Path(sys.executable).parent
OPENCLAW = str(VENV_BIN / "openclaw")

# distributions under examples/ that `make setup` installs; disabled in every test by default
EXAMPLE_PLUGINS = ("openclaw-retention-pins",)

THIRD_PARTY = "third-party"  # OPENCLAW_DISABLE_PLUGINS's word for every plugin not shipped with openclaw-core


def enable_only(*names: str) -> str:
    """An ``OPENCLAW_DISABLE_PLUGINS`` value that leaves on only the named third-party
    plugins (entry-point or distribution names) and the built-ins: every other
    third-party plugin installed here is named, so it stays off. A plugin a test
    adds through ``PYTHONPATH`` is not installed here, so it is on."""
    from importlib import metadata

    off = []
    for ep in metadata.entry_points(group="openclaw"):
        dist = ep.dist.metadata["Name"] if ep.dist is not None else ""
        if dist != "openclaw-core" and ep.name not in names and dist not in names:
            off.append(ep.name)
    return ",".join(dict.fromkeys(off))


ISOLATED_ENV_KEYS = (
    "OPENCLAW_STATE_DIR", "OPENCLAW_HOME", "OPENCLAW_CONFIG_PATH", "OPENCLAW_GATEWAY_PORT",
    "OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_URL", "OPENCLAW_DISABLE_PLUGINS", "XDG_DATA_HOME",
    "OPENCLAW_POSTGRES_DSN", "XDG_CACHE_HOME",  # the cached --help goes under HOME (tmp) instead
    "FORCE_COLOR", "NO_COLOR",  # colour is tested on purpose (tests/test_cli_colour.py), never by accident
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    """No test sees the developer's ~/.openclaw, a running Gateway, or another test's writers."""
    home = tmp_path_factory.mktemp("home")
    for key in ISOLATED_ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    # Nothing listens here, so a Gateway-first command falls back at once.
    monkeypatch.setenv("OPENCLAW_GATEWAY_PORT", str(_free_port()))
    # Third-party plugins installed into the test venv (the example of make setup, or any
    # other) would replace the default trash and add policies in every test: all are off,
    # in this process and in every subprocess; a test turns one on with enable_only().
    monkeypatch.setenv("OPENCLAW_DISABLE_PLUGINS", THIRD_PARTY)
    from openclaw_core import app as plugins
    from openclaw_core.engine.store import writer

    previous = plugins.set_plugin_manager(None)
    yield
    writer.close_writers()
    plugins.set_plugin_manager(previous)


@pytest.fixture(autouse=True)
def _run_alone(request):
    """A test marked ``alone`` has the machine to itself under pytest-xdist (tests/run_alone.py)."""
    with run_alone.turn(request.node.get_closest_marker("alone") is not None):
        yield


def _free_port() -> int:
    return ports.free_port()  # one xdist worker's ports never collide with another's


@pytest.fixture
def free_port():
    return _free_port()


@pytest.fixture
def state_dir(tmp_path, monkeypatch) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    return state


@pytest.fixture
def store_path(state_dir) -> Path:
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    path.parent.mkdir(parents=True)
    return path


def write_store(path: Path, entries: dict) -> bytes:
    """A store in the reference's exact format."""
    from openclaw_core.js.json import stringify

    path.parent.mkdir(parents=True, exist_ok=True)
    data = stringify(entries).encode()
    path.write_bytes(data)
    return data


def now_ms() -> int:
    return int(time.time() * 1000)


DAY_MS = 86_400_000


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.exit_code = code
        self.stdout = out
        self.stderr = err

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"CliResult(exit={self.exit_code}, stdout={self.stdout[:400]!r}, stderr={self.stderr[:400]!r})"


@pytest.fixture
def cli(capsysbinary):
    """Run the CLI in this process (fast); returns a CliResult."""
    from openclaw_core.app import run_cli as main

    def run(*args: str, input: str | None = None) -> CliResult:
        from openclaw_core.engine.store import writer

        capsysbinary.readouterr()
        if input is not None:
            sys.stdin = __import__("io").StringIO(input)
        try:
            code = main([str(a) for a in args])
        finally:
            writer.close_writers()
        captured = capsysbinary.readouterr()
        return CliResult(code, captured.out.decode(), captured.err.decode())

    return run


@pytest.fixture
def run_openclaw():
    """Run the installed ``openclaw`` script as a real subprocess."""

    def run(*args: str, env: dict | None = None, timeout: float = 60, input: str | None = None) -> CliResult:
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run([OPENCLAW, *map(str, args)], capture_output=True, text=True, env=full_env,
                              timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


def build_case(case_dir: Path, out: Path, home: Path | None = None) -> int:
    """Materialise a reference case with the reference's own builder; returns its 'now'."""
    args = [sys.executable, str(REFERENCE / "tools" / "build_case.py"), str(case_dir / "case.json"), str(out)]
    if home is not None:
        args += ["--home", str(home)]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    return int(proc.stdout.strip())


def have_reference_cases() -> bool:
    return (REFERENCE / "tools" / "build_case.py").exists()


requires_reference_cases = pytest.mark.skipif(not have_reference_cases(),
                                              reason="../shared/reference (the recorded cases) is not present")


def copytree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True)
