"""The demo deletes only what it made, and never reaches a Gateway of the user's
(issue 13 items 1 and 4): ``--force`` replaces only a dir carrying the demo's
marker; the demo's config has a port of its own and ``make demo`` ignores the
shell's Gateway settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def demo(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "openclaw_core.adapters.demo", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_force_refuses_a_dir_the_demo_did_not_make(tmp_path):
    real = tmp_path / "home" / ".openclaw"
    (real / "agents" / "main" / "sessions").mkdir(parents=True)
    (real / "agents" / "main" / "sessions" / "sessions.json").write_text('{"agent:main:main": {}}')
    (real / "openclaw.json").write_text("{}")
    before = _snapshot(real)
    result = demo(str(real), "--sessions", "10", "--force")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"refusing to replace {real}: the demo did not make it (no .openclaw-demo marker in it); "
        "remove it yourself or pick another dir"]
    assert _snapshot(real) == before
    # A symlink to a demo dir is not a demo dir either (it would replace the link's target).
    made = tmp_path / "made"
    assert demo(str(made), "--sessions", "10").returncode == 0
    link = tmp_path / "link"
    link.symlink_to(made)
    assert demo(str(link), "--sessions", "10", "--force").returncode == 1
    assert (made / ".openclaw-demo").is_file()


def test_force_replaces_a_dir_the_demo_made(tmp_path):
    target = tmp_path / "demo-state"
    first = demo(str(target), "--sessions", "12")
    assert first.returncode == 0, first.stderr
    assert (target / ".openclaw-demo").is_file()
    (target / "stray.txt").write_text("left by a user")
    assert demo(str(target), "--sessions", "12").returncode == 1  # exists, no --force
    again = demo(str(target), "--sessions", "12", "--force")
    assert again.returncode == 0, again.stderr
    assert not (target / "stray.txt").exists() and (target / ".openclaw-demo").is_file()


def test_the_demo_config_names_a_port_of_its_own(tmp_path):
    target = tmp_path / "demo-state"
    assert demo(str(target), "--sessions", "12").returncode == 0
    port = tomllib.loads((target / "openclaw.toml").read_text())["gateway"]["port"]
    assert isinstance(port, int) and port != 18789 and 0 < port < 65536


class Listener:
    """Stands for a Gateway of the user's: records every connection attempt."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


@pytest.mark.skipif(not (REPO / ".venv" / ".installed").exists(), reason="make setup has not run in this checkout")
def test_make_demo_never_contacts_the_users_gateway(tmp_path):
    user_gateway = Listener()
    try:
        env = {**os.environ, "OPENCLAW_GATEWAY_PORT": str(user_gateway.port), "OPENCLAW_GATEWAY_TOKEN": "users-token",
               "HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
        env.pop("MAKEFLAGS", None)
        # -o: never re-run `make setup` from a test, whatever the timestamps say.
        result = subprocess.run(["make", "-s", "-o", ".venv/.installed", "demo", f"DEMO={tmp_path / 'demo-state'}"],
                                cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert '"applied": true' in result.stdout
        assert user_gateway.accepted == 0
    finally:
        user_gateway.sock.close()
