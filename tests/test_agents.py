"""``openclaw agents list/add/delete`` and the agents service behind them:
config pruning, the session purge through the writer, the shared-workspace
rule, the trash, and everything refused. Real files, the real XDG trash in
tmp (``XDG_DATA_HOME``), real subprocesses where a process boundary matters."""

from __future__ import annotations

import json
import os
import pty
import select
import stat
import subprocess
import sys
import textwrap
import threading
import time
import tomllib
from pathlib import Path

import pytest
from conftest import OPENCLAW, enable_only, now_ms, write_store

from openclaw_core.engine.store.writer import close_writers

DAY = 86_400_000


def home() -> Path:
    return Path(os.environ["HOME"])


def trash_files() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"


def write_config(state: Path, data: dict) -> Path:
    path = state / "openclaw.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def read_config(state: Path) -> dict:
    return json.loads((state / "openclaw.json").read_text())


def store_of(state: Path, agent: str) -> Path:
    return state / "agents" / agent / "sessions" / "sessions.json"


def entry(days_ago: float = 1, **extra) -> dict:
    return {"sessionId": extra.pop("sid", f"s-{time.monotonic_ns()}"), "updatedAt": now_ms() - int(days_ago * DAY),
            **extra}


@pytest.fixture
def team(state_dir):
    """main (default), solo (own workspace, agentDir outside the state dir), work+ops sharing
    a workspace, lab nested in main's; bindings and an agentToAgent allow list."""
    h = home()
    ws = {"main": h / "ws-main", "solo": h / "ws-solo", "shared": h / "ws-shared", "lab": h / "ws-main" / "lab"}
    for path in ws.values():
        path.mkdir(parents=True, exist_ok=True)
        (path / "AGENTS.md").write_text(path.name)
    (h / "agent-dirs" / "solo").mkdir(parents=True)
    (h / "agent-dirs" / "solo" / "auth-profiles.json").write_text("{}")
    for agent in ("work", "ops", "lab"):
        (state_dir / "agents" / agent / "agent").mkdir(parents=True)
    write_config(state_dir, {
        "agents": {"list": [
            {"id": "main", "default": True, "workspace": str(ws["main"])},
            {"id": "work", "workspace": "~/ws-shared"},
            {"id": "ops", "workspace": "~/ws-shared"},
            {"id": "lab", "workspace": "~/ws-main/lab"},
            {"id": "solo", "workspace": "~/ws-solo", "agentDir": "~/agent-dirs/solo"},
        ]},
        "bindings": [{"agentId": "work", "match": {"channel": "telegram"}},
                     {"agentId": "Solo", "match": {"channel": "discord"}},
                     {"agentId": "solo", "match": {"channel": "slack"}}],
        "tools": {"agentToAgent": {"enabled": True, "allow": ["main", "work", "solo", "SOLO"]}},
        "session": {"maintenance": {"pruneAfter": "30d"}},
    })
    for agent in ("main", "work", "ops", "lab", "solo"):
        write_store(store_of(state_dir, agent), {
            f"agent:{agent}:main": entry(sid=f"{agent}-1"),
            f"agent:{agent}:telegram:direct:1": entry(sid=f"{agent}-2"),
            "cron:bare-key": entry(sid=f"{agent}-3"),
        })
        (store_of(state_dir, agent).parent / f"{agent}-1.jsonl").write_text("{}\n")
    return ws


# --- delete: the happy path ------------------------------------------------------------------------

def test_delete_prunes_the_config_purges_the_store_and_trashes_the_dirs(cli, state_dir, team):
    before = (state_dir / "openclaw.json").read_bytes()
    result = cli("agents", "delete", "solo", "--force", "--json")
    assert result.exit_code == 0, result
    out = result.json()
    assert list(out) == ["agentId", "workspace", "agentDir", "sessionsDir", "removedBindings", "removedAllow"]
    assert out == {"agentId": "solo", "workspace": str(team["solo"]), "agentDir": str(home() / "agent-dirs" / "solo"),
                   "sessionsDir": str(state_dir / "agents" / "solo" / "sessions"),
                   "removedBindings": 2, "removedAllow": 1}
    assert result.stderr == ""
    config = read_config(state_dir)
    assert [a["id"] for a in config["agents"]["list"]] == ["main", "work", "ops", "lab"]
    assert config["bindings"] == [{"agentId": "work", "match": {"channel": "telegram"}}]
    assert config["tools"]["agentToAgent"]["allow"] == ["main", "work", "SOLO"]  # exact match only
    assert list(config) == ["agents", "bindings", "tools", "session", "meta"]
    assert config["meta"]["lastTouchedVersion"] == "2026.5.4"
    path = state_dir / "openclaw.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (state_dir / "openclaw.json.bak").read_bytes() == before
    # Moved, not deleted: all three are in the XDG trash, whole.
    assert not team["solo"].exists() and not (home() / "agent-dirs" / "solo").exists()
    assert not (state_dir / "agents" / "solo" / "sessions").exists()
    assert (trash_files() / "ws-solo" / "AGENTS.md").read_text() == "ws-solo"
    assert (trash_files() / "solo" / "auth-profiles.json").exists()
    purged = json.loads((trash_files() / "sessions" / "sessions.json").read_text())
    assert list(purged) == ["cron:bare-key"]  # un-prefixed keys belong to the default agent
    assert (trash_files() / "sessions" / "solo-1.jsonl").exists()  # purged transcripts are not archived
    # Nobody else was touched.
    for agent in ("main", "work", "ops", "lab"):
        assert len(json.loads(store_of(state_dir, agent).read_text())) == 3


def test_delete_text_output(cli, state_dir, team):
    result = cli("agents", "delete", "work", "--force")
    assert result.exit_code == 0, result
    assert result.stdout.splitlines() == [
        f"Updated {state_dir / 'openclaw.json'}",
        f"Skipped workspace removal (shared with other agents: ops): {team['shared']}",
        f"Moved to Trash: {state_dir / 'agents' / 'work' / 'agent'}",
        f"Moved to Trash: {state_dir / 'agents' / 'work' / 'sessions'}",
        "Deleted agent: work",
    ]
    assert (team["shared"] / "AGENTS.md").exists()


def test_paths_under_the_home_are_shown_with_a_tilde(cli, state_dir, team):
    result = cli("agents", "delete", "solo", "--force")
    assert "Moved to Trash: ~/ws-solo" in result.stdout.splitlines()
    assert "Moved to Trash: ~/agent-dirs/solo" in result.stdout.splitlines()


def test_a_missing_dir_is_skipped_silently(cli, state_dir, team):
    import shutil

    shutil.rmtree(home() / "agent-dirs" / "solo")  # configured agentDir gone: no fall-back to the derived one
    (state_dir / "agents" / "solo" / "agent").mkdir()
    result = cli("agents", "delete", "solo", "--force")
    assert result.exit_code == 0, result
    assert "agent-dirs" not in result.stdout
    assert (state_dir / "agents" / "solo" / "agent").is_dir()


def test_a_missing_store_is_not_created(cli, state_dir, team):
    import shutil

    shutil.rmtree(state_dir / "agents" / "solo")
    result = cli("agents", "delete", "solo", "--force", "--json")
    assert result.exit_code == 0, result
    assert not (state_dir / "agents" / "solo").exists()
    assert not (trash_files() / "sessions").exists()


# --- the shared-workspace rule ------------------------------------------------------------------------------

@pytest.mark.parametrize(("agent", "shared_with"), [("work", ["ops"]), ("lab", ["main"])])
def test_same_or_nested_workspace_is_retained(cli, state_dir, team, agent, shared_with):
    out = cli("agents", "delete", agent, "--force", "--json").json()
    assert out["workspaceRetained"] is True and out["workspaceRetainedReason"] == "shared"
    assert out["workspaceSharedWith"] == shared_with
    assert list(out)[:5] == ["agentId", "workspace", "workspaceRetained", "workspaceRetainedReason",
                             "workspaceSharedWith"]
    assert Path(out["workspace"]).is_dir() and not (trash_files() / Path(out["workspace"]).name).exists()
    assert not (state_dir / "agents" / agent / "agent").exists()


def test_a_workspace_containing_another_agents_workspace_is_retained(cli, state_dir):
    h = home()
    (h / "projects" / "inner").mkdir(parents=True)
    write_config(state_dir, {"agents": {"list": [
        {"id": "main"}, {"id": "outer", "workspace": "~/projects"}, {"id": "inner", "workspace": "~/projects/inner"}]}})
    out = cli("agents", "delete", "outer", "--force", "--json").json()
    assert out["workspaceSharedWith"] == ["inner"]
    assert (h / "projects" / "inner").is_dir()


def test_a_symlinked_workspace_pointing_into_another_agents_workspace_is_retained(cli, state_dir, team):
    (team["main"] / "notes").mkdir()
    link = home() / "mirror-ws"
    link.symlink_to(team["main"] / "notes", target_is_directory=True)
    data = read_config(state_dir)
    data["agents"]["list"].append({"id": "mirror", "workspace": str(link)})
    write_config(state_dir, data)
    out = cli("agents", "delete", "mirror", "--force", "--json").json()
    assert out["workspaceSharedWith"] == ["main"]
    assert link.is_symlink() and (team["main"] / "notes").is_dir()


def test_a_default_workspace_inside_the_default_agents_is_shared(cli, state_dir):
    """Without a workspace of its own an agent lives in <defaults.workspace>/<id>: inside the default agent's."""
    base = home() / "agents-ws"
    (base / "helper").mkdir(parents=True)
    write_config(state_dir, {"agents": {"defaults": {"workspace": "~/agents-ws"},
                                        "list": [{"id": "main"}, {"id": "helper"}]}})
    out = cli("agents", "delete", "helper", "--force", "--json").json()
    assert out["workspace"] == str(base / "helper") and out["workspaceSharedWith"] == ["main"]
    assert (base / "helper").is_dir()


def test_a_symlinked_workspace_elsewhere_is_moved_as_a_link(cli, state_dir, team, tmp_path):
    data_dir = tmp_path / "big-data"
    data_dir.mkdir()
    (data_dir / "precious.bin").write_bytes(b"\0" * 64)
    link = home() / "linked-ws"
    link.symlink_to(data_dir, target_is_directory=True)
    config = read_config(state_dir)
    config["agents"]["list"].append({"id": "linked", "workspace": str(link)})
    write_config(state_dir, config)
    result = cli("agents", "delete", "linked", "--force", "--json")
    assert result.exit_code == 0, result
    assert not os.path.lexists(link) and (trash_files() / "linked-ws").is_symlink()
    assert (data_dir / "precious.bin").stat().st_size == 64


def test_an_agent_dir_holding_another_agents_dir_is_kept(cli, state_dir, team):
    config = read_config(state_dir)
    config["agents"]["list"].append({"id": "greedy", "workspace": "~/ws-greedy", "agentDir": str(state_dir / "agents")})
    write_config(state_dir, config)
    result = cli("agents", "delete", "greedy", "--force", "--json")
    assert result.exit_code == 1
    failed = result.json()["trashFailed"]
    assert failed == [{"path": str(state_dir / "agents"), "reason": 'kept: it overlaps the agent dir of agent "main"'}]
    assert store_of(state_dir, "main").exists()


# --- ids and paths that must not escape ---------------------------------------------------------------------------

def test_a_traversal_id_cannot_reach_outside_the_state_dir(cli, state_dir, tmp_path):
    sentinel = tmp_path / "etc"
    sentinel.mkdir()
    (sentinel / "passwd").write_text("root:x:0:0")
    (state_dir / "agents" / "etc" / "agent").mkdir(parents=True)
    (state_dir / "workspace-etc").mkdir()
    write_config(state_dir, {"agents": {"list": [{"id": "main"}, {"id": "../../etc"}]}})
    result = cli("agents", "delete", "../../etc", "--force", "--json")
    assert result.exit_code == 0, result
    assert result.stderr == 'Normalized agent id to "etc".\n'
    out = result.json()
    assert out["agentId"] == "etc"
    for key in ("workspace", "agentDir", "sessionsDir"):
        assert Path(out[key]).is_relative_to(state_dir), out
    assert (sentinel / "passwd").read_text() == "root:x:0:0"
    assert (trash_files() / "workspace-etc").is_dir() and (trash_files() / "agent").is_dir()
    assert [a["id"] for a in read_config(state_dir)["agents"]["list"]] == ["main"]


def test_normalisation_can_land_on_a_real_agent(cli, state_dir, team):
    result = cli("agents", "delete", "../Solo", "--force", "--json")
    assert result.exit_code == 0 and result.json()["agentId"] == "solo"
    assert result.stderr == 'Normalized agent id to "solo".\n'


def test_a_configured_path_outside_home_and_state_is_refused_and_the_rest_proceeds(cli, state_dir, team, tmp_path):
    outside = tmp_path / "srv" / "solo-agent"
    outside.mkdir(parents=True)
    (outside / "keep.txt").write_text("keep")
    config = read_config(state_dir)
    config["agents"]["list"][-1]["agentDir"] = str(outside)
    write_config(state_dir, config)
    result = cli("agents", "delete", "solo", "--force", "--json")
    assert result.exit_code == 1
    out = result.json()
    assert list(out)[-1] == "trashFailed"
    assert [f["path"] for f in out["trashFailed"]] == [str(outside)]
    assert "outside the home" in out["trashFailed"][0]["reason"]
    assert (outside / "keep.txt").read_text() == "keep"
    assert not team["solo"].exists() and not (state_dir / "agents" / "solo" / "sessions").exists()  # the rest went
    assert "solo" not in [a["id"] for a in read_config(state_dir)["agents"]["list"]]


def test_a_refused_path_is_reported_in_text_too(cli, state_dir, team, tmp_path):
    outside = tmp_path / "srv" / "solo-agent"
    outside.mkdir(parents=True)
    config = read_config(state_dir)
    config["agents"]["list"][-1]["agentDir"] = str(outside)
    write_config(state_dir, config)
    result = cli("agents", "delete", "solo", "--force")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"Failed to move to Trash (manual delete): {outside} (refusing") for line in lines)
    assert "Moved to Trash: ~/ws-solo" in lines and lines[-1] == "Deleted agent: solo"


# --- refusals: nothing changes ------------------------------------------------------------------------------------

def snapshot(state: Path) -> dict[str, bytes]:
    return {str(p.relative_to(state)): p.read_bytes() for p in sorted(state.rglob("*"))
            if p.is_file() and "identity" not in p.parts and not p.name.endswith(".lock")}


@pytest.mark.parametrize(("args", "message"), [
    (["main"], '"main" cannot be deleted.\n'),
    (["MAIN"], 'Normalized agent id to "main".\n"main" cannot be deleted.\n'),
    (["!!!"], 'Normalized agent id to "main".\n"main" cannot be deleted.\n'),
    (["nope"], 'Agent "nope" not found.\n'),
    (["  "], "Agent id is required.\n"),
    (["solo", "--no-force"], "Non-interactive session. Re-run with --force.\n"),
])
def test_refusals_print_one_line_and_change_nothing(cli, state_dir, team, args, message):
    before = snapshot(state_dir)
    force = [] if "--no-force" in args else ["--force"]
    result = cli("agents", "delete", *[a for a in args if a != "--no-force"], *force, "--json")
    assert result.exit_code == 1
    assert result.stdout == "" and result.stderr == message
    assert snapshot(state_dir) == before
    assert not trash_files().exists()


def test_an_invalid_config_is_refused(cli, state_dir):
    broken = '{"agents": {"list": [{"id": "solo"}]'
    (state_dir / "openclaw.json").write_text(broken)
    result = cli("agents", "delete", "solo", "--force")
    assert result.exit_code == 1 and result.stdout == ""
    assert str(state_dir / "openclaw.json") in result.stderr
    assert (state_dir / "openclaw.json").read_text() == broken


def run_on_terminal(args: list[str], answer: bytes, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin and stdout, typing ``answer`` at the prompt."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([OPENCLAW, *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    output = b""
    answered = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"[y/N]" in output:
                os.write(master, answer)
                answered = True
        elif proc.poll() is not None:
            break
    code = proc.wait(10)
    os.close(master)
    return code, output.decode(errors="replace").replace("\r\n", "\n")


@pytest.mark.parametrize(("answer", "deleted"), [(b"y\n", True), (b"\n", False), (b"n\n", False)])
def test_without_force_a_terminal_is_asked(state_dir, team, answer, deleted):
    env = dict(os.environ)
    code, output = run_on_terminal(["agents", "delete", "solo"], answer, env)
    assert code == 0, output
    assert 'Delete agent "solo" and prune workspace/state? [y/N]' in output
    ids = [a["id"] for a in read_config(state_dir)["agents"]["list"]]
    if deleted:
        assert "Deleted agent: solo" in output and "solo" not in ids
    else:
        assert output.rstrip().endswith("Cancelled.") and "solo" in ids and team["solo"].exists()


# --- session purge: owner rules -------------------------------------------------------------------------------------

def test_purge_in_a_shared_store_takes_only_the_agents_keys(cli, state_dir):
    shared = home() / "stores" / "all" / "sessions.json"
    write_config(state_dir, {"agents": {"list": [{"id": "boss", "default": True}, {"id": "solo"}]},
                             "session": {"store": "~/stores/all/sessions.json"}})
    write_store(shared, {k: entry() for k in (
        "agent:boss:main", "agent:main:main", "main", "cron:bare", "agent:solo:main", "agent:SOLO:x:direct:1",
        "agent:main:telegram:direct:5", "global", "unknown")})
    assert cli("agents", "delete", "solo", "--force").exit_code == 0
    assert list(json.loads(shared.read_text())) == [
        "agent:boss:main", "agent:main:main", "main", "cron:bare", "agent:main:telegram:direct:5", "global", "unknown"]
    # The default agent also owns the bare keys and (no "main" configured) agent:main:main.
    write_config(state_dir, {"agents": {"list": [{"id": "boss", "default": True}, {"id": "other"}]},
                             "session": {"store": "~/stores/all/sessions.json"}})
    assert cli("agents", "delete", "boss", "--force").exit_code == 0
    assert list(json.loads(shared.read_text())) == ["agent:main:telegram:direct:5", "global", "unknown"]


def test_purge_in_a_templated_store_reads_bare_keys_as_the_deleted_agents(cli, state_dir):
    stores = home() / "stores"
    write_config(state_dir, {"agents": {"list": [{"id": "main"}, {"id": "solo"}]},
                             "session": {"store": "~/stores/{agentId}/sessions.json"}})
    write_store(stores / "solo" / "sessions.json", {k: entry() for k in (
        "agent:solo:main", "cron:bare", "main", "agent:main:main", "global")})
    write_store(stores / "main" / "sessions.json", {k: entry() for k in ("agent:main:main", "agent:solo:x")})
    assert cli("agents", "delete", "solo", "--force").exit_code == 0
    assert list(json.loads((stores / "solo" / "sessions.json").read_text())) == ["agent:main:main", "global"]
    assert list(json.loads((stores / "main" / "sessions.json").read_text())) == ["agent:main:main", "agent:solo:x"]


def test_purge_with_global_scope_keeps_the_main_aliases(cli, state_dir):
    shared = home() / "stores" / "sessions.json"
    write_config(state_dir, {"agents": {"list": [{"id": "main"}, {"id": "solo"}]},
                             "session": {"scope": "global", "mainKey": "home", "store": str(shared)}})
    write_store(shared, {k: entry() for k in ("agent:solo:main", "agent:solo:home", "agent:solo:dm:1", "main")})
    assert cli("agents", "delete", "solo", "--force").exit_code == 0
    assert list(json.loads(shared.read_text())) == ["agent:solo:main", "agent:solo:home", "main"]


def test_a_corrupt_store_is_reported_and_left_alone(cli, state_dir):
    shared = home() / "stores" / "sessions.json"
    write_config(state_dir, {"agents": {"list": [{"id": "main"}, {"id": "solo"}]}, "session": {"store": str(shared)}})
    shared.parent.mkdir(parents=True)
    shared.write_text('{"agent:solo:main": ')
    result = cli("agents", "delete", "solo", "--force", "--json")
    assert result.exit_code == 1
    assert "unreadable" in result.json()["purgeFailed"]
    assert shared.read_text() == '{"agent:solo:main": '
    assert [a["id"] for a in read_config(state_dir)["agents"]["list"]] == ["main"]


# --- races: a purge and concurrent patches of the same store ----------------------------------------------------------

def shared_store_team(state_dir: Path) -> Path:
    shared = home() / "stores" / "sessions.json"
    (home() / "ws-solo").mkdir(parents=True, exist_ok=True)
    write_config(state_dir, {"agents": {"list": [{"id": "main", "default": True}, {"id": "solo", "workspace": "~/ws-solo"}]},
                             "session": {"store": str(shared)}})
    entries = {"agent:main:main": entry(sid="m1", counter=0)}
    entries.update({f"agent:solo:direct:{i}": entry(sid=f"solo-{i}") for i in range(100)})
    entries.update({f"agent:main:direct:{i}": entry(sid=f"main-{i}") for i in range(100)})
    write_store(shared, entries)
    return shared


def bump(store: Path, stop: threading.Event, done: list, errors: list) -> None:
    """Patch until ``stop`` is set (so the patches surely overlap the purge); count in ``done``."""
    from openclaw_core import update_session_store_entry

    try:
        while not stop.is_set() or len(done) < 20:
            update_session_store_entry(store, "agent:main:main", lambda e: {"counter": e["counter"] + 1})
            done.append(1)
    except Exception as exc:  # noqa: BLE001 - surfaced by the test
        errors.append(exc)


def assert_both_survived(store: Path, rounds: int) -> None:
    data = json.loads(store.read_text())
    assert data["agent:main:main"]["counter"] == rounds
    assert not [k for k in data if k.startswith("agent:solo:")]
    assert len([k for k in data if k.startswith("agent:main:direct:")]) == 100


def test_a_purge_racing_patches_in_threads_loses_neither(state_dir):
    from oc import delete_agent
    from oc import load_config

    shared = shared_store_team(state_dir)
    errors: list = []
    done: list = []
    stop = threading.Event()
    patcher = threading.Thread(target=bump, args=(shared, stop, done, errors))
    patcher.start()
    while len(done) < 5 and patcher.is_alive():
        time.sleep(0.005)
    result = delete_agent(load_config(), "solo")
    overlapped = patcher.is_alive()
    stop.set()
    patcher.join(60)
    assert overlapped, "the patches ended before the purge: no race was tested"
    assert not errors and result.ok
    assert len(result.purge.removed) == 100
    close_writers()
    assert_both_survived(shared, len(done))


PATCHER = textwrap.dedent("""
    import os, sys
    from openclaw_core import update_session_store_entry
    store, stop = sys.argv[1], sys.argv[2]
    print("ready", flush=True)
    done = 0
    # Patch until told to stop, so the patches surely overlap the purge however fast either is.
    while not os.path.exists(stop) or done < 20:
        update_session_store_entry(store, "agent:main:main", lambda e: {"counter": e["counter"] + 1})
        done += 1
    print(done, flush=True)
""")


@pytest.mark.slow
def test_a_purge_racing_patches_from_another_process_loses_neither(state_dir, run_openclaw, tmp_path):
    shared = shared_store_team(state_dir)
    stop = tmp_path / "stop-patching"
    patcher = subprocess.Popen([sys.executable, "-c", PATCHER, str(shared), str(stop)], stdout=subprocess.PIPE,
                               text=True)
    assert patcher.stdout.readline().strip() == "ready"
    result = run_openclaw("agents", "delete", "solo", "--force", "--json")
    overlapped = patcher.poll() is None
    stop.touch()
    rounds = int(patcher.stdout.readline())
    assert patcher.wait(120) == 0
    assert overlapped, "the patches ended before the purge: no race was tested"
    assert result.exit_code == 0, result
    assert_both_survived(shared, rounds)


# --- through the Gateway ----------------------------------------------------------------------------------------------------

@pytest.fixture
def gateway(state_dir, free_port):
    from gateway_support import start_gateway

    shared = shared_store_team(state_dir)
    gw = start_gateway(state_dir, free_port)
    yield gw, shared
    gw.stop()


def cli_env(gw, *, port: int | None = None) -> dict[str, str]:
    from gateway_support import TOKEN

    env = dict(os.environ)
    env.update({"OPENCLAW_STATE_DIR": str(gw.state_dir), "OPENCLAW_GATEWAY_PORT": str(port or gw.port),
                "OPENCLAW_GATEWAY_TOKEN": TOKEN})
    return env


def gateway_bumps(gw, stop: threading.Event, sent: list, errors: list, started: threading.Event) -> None:
    """Patch through the Gateway until ``stop`` is set, a new key each time (a lost
    update cannot hide behind a later one); acknowledged indexes go to ``sent``."""
    from gateway_support import handshake, request

    ws, hello = handshake(gw.port)
    try:
        assert hello["ok"], hello
        started.set()
        i = 0
        while not stop.is_set() or i < 20:
            reply = request(ws, "sessions.patch", {"key": f"agent:main:race-{i}", "label": f"patch-{i}"})
            if not reply["ok"]:
                errors.append(reply)
            sent.append(i)
            i += 1
    except Exception as exc:  # noqa: BLE001
        errors.append(exc)
    finally:
        started.set()
        ws.close()


@pytest.mark.slow
def test_delete_goes_through_a_running_gateway(gateway, run_openclaw, state_dir):
    gw, shared = gateway
    result = run_openclaw("agents", "delete", "solo", "--force", "--json", env=cli_env(gw))
    assert result.exit_code == 0, (result, gw.log())
    out = result.json()
    assert out == {"agentId": "solo", "workspace": str(home() / "ws-solo"),
                   "agentDir": str(state_dir / "agents" / "solo" / "agent"),
                   "sessionsDir": str(state_dir / "agents" / "solo" / "sessions"),
                   "removedBindings": 0, "removedAllow": 0, "transport": "gateway"}
    assert "solo" not in [a["id"] for a in read_config(state_dir)["agents"]["list"]]
    assert not [k for k in json.loads(shared.read_text()) if k.startswith("agent:solo:")]
    assert (trash_files() / "ws-solo").is_dir()  # the Gateway's environment has the same XDG trash
    text = run_openclaw("agents", "delete", "solo", "--force", env=cli_env(gw))
    assert text.exit_code == 1 and "not found" in text.stderr


@pytest.mark.slow
@pytest.mark.parametrize("via", ["gateway", "offline"])
def test_a_purge_racing_gateway_patches_loses_neither(gateway, run_openclaw, via):
    from conftest import _free_port

    gw, shared = gateway
    errors: list = []
    sent: list = []
    started = threading.Event()
    stop = threading.Event()
    patcher = threading.Thread(target=gateway_bumps, args=(gw, stop, sent, errors, started))
    patcher.start()
    started.wait(20)
    # "offline": the CLI finds no Gateway (another port, and the Gateway's endpoint record
    # taken away) and purges the store itself, next to the Gateway.
    env = cli_env(gw) if via == "gateway" else cli_env(gw, port=_free_port())
    if via == "offline":
        (gw.state_dir / "gateway" / "endpoint.json").unlink()
    result = run_openclaw("agents", "delete", "solo", "--force", "--json", env=env)
    overlapped = patcher.is_alive()
    stop.set()
    patcher.join(120)
    assert overlapped, "the patches ended before the purge: no race was tested"
    assert result.exit_code == 0, (result, gw.log())
    assert ("transport" in result.json()) == (via == "gateway")
    assert not errors, errors
    gw.stop()
    data = json.loads(shared.read_text())
    assert [data.get(f"agent:main:race-{i}", {}).get("label") for i in sent] == [f"patch-{i}" for i in sent]
    assert not [k for k in data if k.startswith("agent:solo:")]
    assert len([k for k in data if k.startswith("agent:main:direct:")]) == 100


# --- a third-party trash plugin -------------------------------------------------------------------------------------------

ARCHIVER = '''
import os, time
from pathlib import Path
from openclaw_core import hookimpl
from openclaw_core.engine.trash import TrashResult

@hookimpl
def openclaw_trash(path, context):
    target = Path(context.state_dir) / "trash" / f"{context.agent_id}-{context.role}-{Path(path).name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(path, target)
    return TrashResult(path=path, moved=True, destination=str(target))
'''


def test_an_installed_trash_plugin_replaces_the_default(state_dir, team, tmp_path, run_openclaw):
    site = tmp_path / "site"
    site.mkdir()
    (site / "oc_archiver.py").write_text(ARCHIVER)
    info = site / "oc_archiver-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: oc-archiver\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[openclaw]\narchiver = oc_archiver\n")
    env = {"PYTHONPATH": str(site), "OPENCLAW_DISABLE_PLUGINS": enable_only("archiver")}
    listed = run_openclaw("plugins", "list", env=env)
    assert "archiver" in listed.stdout
    result = run_openclaw("agents", "delete", "solo", "--force", "--json", env=env)
    assert result.exit_code == 0, result
    archive = state_dir / "trash"
    assert sorted(p.name for p in archive.iterdir()) == ["solo-agentDir-solo", "solo-sessionsDir-sessions",
                                                         "solo-workspace-ws-solo"]
    assert not trash_files().exists()
    # Disabled, the built-in is back.
    result = run_openclaw("agents", "delete", "lab", "--force", "--json",
                          env={**env, "OPENCLAW_DISABLE_PLUGINS": ",".join(filter(None, [enable_only(), "archiver"]))})
    assert result.exit_code == 0 and (trash_files() / "agent").is_dir()


# --- agents add -------------------------------------------------------------------------------------------------------------

def test_add_creates_a_toml_config_when_there_is_none(cli, state_dir):
    result = cli("agents", "add", "Work", "--json")
    assert result.exit_code == 0, result
    assert result.stderr == 'Normalized agent id to "work".\n'
    out = result.json()
    assert out == {"agentId": "work", "name": "Work", "workspace": str(state_dir / "workspace-work"),
                   "agentDir": str(state_dir / "agents" / "work" / "agent"),
                   "bindings": {"added": [], "updated": [], "skipped": [], "conflicts": []}, "isDefault": False}
    config = tomllib.loads((state_dir / "openclaw.toml").read_text())
    assert config["agents"]["list"] == [{"id": "main"}, {"id": "work", "name": "Work", "workspace": out["workspace"],
                                                          "agentDir": out["agentDir"]}]
    assert (state_dir / "workspace-work").is_dir() and (state_dir / "agents" / "work" / "sessions").is_dir()
    assert not (state_dir / "openclaw.json").exists()
    assert stat.S_IMODE((state_dir / "openclaw.toml").stat().st_mode) == 0o600


def test_add_writes_an_openclaw_json_in_its_own_format(cli, state_dir):
    original = '// OpenClaw config\n{gateway: {port: 18789}, agents: {list: [{id: "main", default: true}]}, session: {}}\n'
    (state_dir / "openclaw.json").write_text(original)
    ws = home() / "ws-ops"
    result = cli("agents", "add", "ops", "--workspace", "~/ws-ops")
    assert result.exit_code == 0, result
    assert result.stdout.splitlines()[0] == f"Updated {state_dir / 'openclaw.json'}"
    text = (state_dir / "openclaw.json").read_text()
    assert text.endswith("}\n") and text.startswith('{\n  "gateway": {\n    "port": 18789\n  },')
    config = json.loads(text)
    assert list(config) == ["gateway", "agents", "session", "meta"]
    assert config["agents"]["list"][1] == {"id": "ops", "name": "ops", "workspace": str(ws),
                                           "agentDir": str(state_dir / "agents" / "ops" / "agent")}
    assert set(config["meta"]) == {"lastTouchedVersion", "lastTouchedAt"}
    assert config["meta"]["lastTouchedAt"].endswith("Z") and len(config["meta"]["lastTouchedAt"]) == 24
    assert (state_dir / "openclaw.json.bak").read_text() == original
    assert stat.S_IMODE((state_dir / "openclaw.json").stat().st_mode) == 0o600
    assert ws.is_dir()
    assert not (state_dir / "openclaw.toml").exists()


def test_add_default_moves_the_default_flag(cli, state_dir):
    write_config(state_dir, {"agents": {"list": [{"id": "main", "default": True}, {"id": "old"}]}})
    assert cli("agents", "add", "boss", "--default").exit_code == 0
    rows = cli("agents", "list", "--json").json()
    assert [(r["id"], r["isDefault"]) for r in rows] == [("main", False), ("old", False), ("boss", True)]
    assert read_config(state_dir)["agents"]["list"][2]["default"] is True


@pytest.mark.parametrize(("args", "message"), [
    (["main"], '"main" is reserved. Choose another name.\n'),
    (["Main!"], 'Normalized agent id to "main".\n"main" is reserved. Choose another name.\n'),
    (["solo"], 'Agent "solo" already exists.\n'),
    (["  "], "Agent id is required.\n"),
    (["new", "--workspace", " "], "--workspace must not be empty.\n"),
])
def test_add_refusals(cli, state_dir, args, message):
    write_config(state_dir, {"agents": {"list": [{"id": "main"}, {"id": "solo"}]}})
    before = snapshot(state_dir)
    result = cli("agents", "add", *args)
    assert result.exit_code == 1 and result.stderr.endswith(message.splitlines()[-1] + "\n")
    assert result.stderr == message or args == ["Main!"]
    assert snapshot(state_dir) == before


def test_config_backups_rotate_in_a_ring_of_five(cli, state_dir):
    write_config(state_dir, {"agents": {"list": [{"id": "main"}]}})
    for i in range(7):
        assert cli("agents", "add", f"a{i}").exit_code == 0
    names = sorted(p.name for p in state_dir.iterdir() if p.name.startswith("openclaw.json.bak"))
    assert names == ["openclaw.json.bak", "openclaw.json.bak.1", "openclaw.json.bak.2", "openclaw.json.bak.3",
                     "openclaw.json.bak.4"]
    newest = json.loads((state_dir / "openclaw.json.bak").read_text())
    assert [a["id"] for a in newest["agents"]["list"]][-1] == "a5"


@pytest.mark.slow
def test_concurrent_config_edits_are_all_kept(state_dir, run_openclaw, team):
    procs = [subprocess.Popen([OPENCLAW, "agents", "add", f"p{i}"], env=dict(os.environ), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for i in range(6)]
    procs.append(subprocess.Popen([OPENCLAW, "agents", "delete", "solo", "--force"], env=dict(os.environ),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert [p.wait(120) for p in procs] == [0] * 7
    ids = [a["id"] for a in read_config(state_dir)["agents"]["list"]]
    assert sorted(ids) == sorted(["main", "work", "ops", "lab", *[f"p{i}" for i in range(6)]])


# --- agents list ---------------------------------------------------------------------------------------------------------------

def test_list_json(cli, state_dir, team):
    (team["solo"] / "IDENTITY.md").write_text("# Identity\n- **Name:** Solo Fox\n- **Emoji:** 🦊\n- **Vibe:** _(pick one)_\n")
    config = read_config(state_dir)
    config["agents"]["list"][1].update({"name": " Worker ", "model": {"primary": "gpt-5.5"}})
    config["agents"]["list"][2]["identity"] = {"name": "Ops", "emoji": "🛠"}
    config["agents"]["defaults"] = {"model": "base-model"}
    config["bindings"].append({"type": "acp", "agentId": "solo"})
    write_config(state_dir, config)
    rows = cli("agents", "list", "--json").json()
    by_id = {r["id"]: r for r in rows}
    assert [r["id"] for r in rows] == ["main", "work", "ops", "lab", "solo"]
    assert list(by_id["solo"]) == ["id", "identityName", "identityEmoji", "identitySource", "workspace", "agentDir",
                                   "model", "bindings", "isDefault"]
    assert by_id["solo"]["identityName"] == "Solo Fox" and by_id["solo"]["identitySource"] == "identity"
    assert by_id["solo"]["bindings"] == 2  # the acp binding is not a routing rule
    assert by_id["work"]["name"] == "Worker" and by_id["work"]["model"] == "gpt-5.5"
    assert by_id["ops"]["identitySource"] == "config" and by_id["ops"]["identityEmoji"] == "🛠"
    assert by_id["main"]["isDefault"] and by_id["main"]["model"] == "base-model"
    assert by_id["lab"]["workspace"] == str(team["lab"])


def test_list_without_agents_shows_the_implicit_main(cli, state_dir):
    rows = cli("agents", "list", "--json").json()
    assert rows == [{"id": "main", "workspace": str(home() / ".openclaw" / "workspace"),
                     "agentDir": str(state_dir / "agents" / "main" / "agent"), "bindings": 0, "isDefault": True}]
    text = cli("agents", "list").stdout.splitlines()
    assert text[:3] == ["Agents:", "- main (default)", "  Workspace: ~/.openclaw/workspace"]


def test_delete_with_a_toml_config_writes_toml(cli, state_dir):
    import tomli_w

    (home() / "ws-solo").mkdir()
    text = tomli_w.dumps({"session": {"maintenance": {"pruneAfter": "30d"}},
                          "agents": {"list": [{"id": "main"}, {"id": "solo", "workspace": "~/ws-solo"}]},
                          "bindings": [{"agentId": "solo", "match": {"channel": "x"}}]})
    (state_dir / "openclaw.toml").write_text(text)
    out = cli("agents", "delete", "solo", "--force", "--json").json()
    assert out["removedBindings"] == 1
    config = tomllib.loads((state_dir / "openclaw.toml").read_text())
    assert config == {"session": {"maintenance": {"pruneAfter": "30d"}}, "agents": {"list": [{"id": "main"}]}}
    assert (state_dir / "openclaw.toml.bak").read_text() == text
    assert not (state_dir / "openclaw.json").exists()


def test_the_last_agent_leaves_an_empty_agents_section(cli, state_dir):
    (home() / "ws-solo").mkdir()
    write_config(state_dir, {"agents": {"list": [{"id": "solo", "workspace": "~/ws-solo"}]},
                             "tools": {"agentToAgent": {"allow": ["solo"]}}, "bindings": []})
    out = cli("agents", "delete", "solo", "--force", "--json").json()
    assert (out["removedBindings"], out["removedAllow"]) == (0, 1)
    config = read_config(state_dir)
    del config["meta"]
    assert config == {"agents": {}, "tools": {"agentToAgent": {}}}


def test_add_text_output(cli, state_dir):
    result = cli("agents", "add", "helper", "--workspace", "~/helper-ws", "--default")
    assert result.exit_code == 0, result
    assert result.stdout.splitlines() == [
        f"Updated {state_dir / 'openclaw.toml'}", "Workspace OK: ~/helper-ws",
        f"Sessions OK: {state_dir / 'agents' / 'helper' / 'sessions'}", "Agent: helper (default)",
        "Workspace: ~/helper-ws", f"Agent dir: {state_dir / 'agents' / 'helper' / 'agent'}"]
    assert result.stderr == ""


def test_owner_with_global_scope_leaves_main_aliases_without_owner():
    from openclaw_core.base.keys import owner_agent_id

    def owner(key, store="main", **kw):
        return owner_agent_id(key, store, global_scope=True, configured_agent_ids=frozenset({"main", "solo"}), **kw)

    assert owner("agent:solo:main") is None and owner("agent:SOLO:Main") is None
    assert owner("agent:solo:home", main_key="home") is None and owner("agent:solo:home") == "solo"
    assert owner("main") is None and owner("main", store="solo") is None  # bare: the store owner's main
    assert owner("agent:solo:direct:1") == "solo" and owner("agent:solo::main") == "solo"  # as written, not canonical
    assert owner_agent_id("agent:solo:main", "main") == "solo"  # per-sender scope: an ordinary key
    # Remapped to the default agent first (no "main" configured), then an alias of it.
    assert owner_agent_id("agent:main:main", "boss", default_agent_id="boss", configured_agent_ids=frozenset({"boss"}),
                          global_scope=True) is None
