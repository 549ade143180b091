"""Shell completion through click's real protocol: the `openclaw` process with
``_OPENCLAW_COMPLETE`` and ``COMP_WORDS``/``COMP_CWORD``, as the shell scripts call it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import OPENCLAW, now_ms, write_store

CONFIG = {"agents": {"list": [{"id": "main", "default": True}, {"id": "work"}, {"id": "ops"}]}}


def complete(words: str, *, shell: str = "bash", env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """(the completion lines, stderr) for the command line ``words`` (the cursor at its end)."""
    parts = words.split(" ")
    # bash and zsh pass the index of the word being completed; fish passes that word itself
    cword = parts[-1] if shell == "fish" else str(len(parts) - 1)
    full_env = {**os.environ, "_OPENCLAW_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
                "COMP_CWORD": cword, **(env or {})}
    proc = subprocess.run([OPENCLAW], capture_output=True, text=True, env=full_env, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc
    return [line for line in proc.stdout.splitlines() if line], proc.stderr


@pytest.fixture
def agents_state(state_dir):
    (state_dir / "openclaw.json").write_text(json.dumps(CONFIG))
    write_store(state_dir / "agents" / "main" / "sessions" / "sessions.json",
                {"agent:main:main": {"sessionId": "a", "updatedAt": now_ms()},
                 "agent:main:telegram:direct:1": {"sessionId": "b", "updatedAt": now_ms()}})
    write_store(state_dir / "agents" / "work" / "sessions" / "sessions.json",
                {"agent:work:main": {"sessionId": "c", "updatedAt": now_ms()}})
    return state_dir


def test_agents_delete_completes_the_agent_ids_but_main(agents_state):
    assert complete("openclaw agents delete ") == (["plain,work", "plain,ops"], "")
    assert complete("openclaw agents delete o") == (["plain,ops"], "")


def test_agent_option_completes_the_agent_ids(agents_state):
    assert complete("openclaw sessions --agent ")[0] == ["plain,main", "plain,work", "plain,ops"]
    assert complete("openclaw sessions cleanup --agent w")[0] == ["plain,work"]
    assert complete("openclaw store migrate --to file --agent m")[0] == ["plain,main"]


def test_active_key_completes_the_keys_of_the_store_the_command_would_use(agents_state):
    assert complete("openclaw sessions cleanup --active-key ")[0] == [
        "plain,agent:main:main", "plain,agent:main:telegram:direct:1"]
    assert complete("openclaw sessions cleanup --active-key agent:main:t")[0] == [
        "plain,agent:main:telegram:direct:1"]
    assert complete("openclaw sessions cleanup --agent work --active-key ")[0] == ["plain,agent:work:main"]
    # --agent given on the group is inherited, as when the command runs
    assert complete("openclaw sessions --agent work cleanup --active-key ")[0] == ["plain,agent:work:main"]
    work_store = agents_state / "agents" / "work" / "sessions" / "sessions.json"
    assert complete(f"openclaw sessions cleanup --store {work_store} --active-key ")[0] == [
        "plain,agent:work:main"]


def test_store_completes_the_configured_stores_then_file_names(agents_state):
    lines, err = complete("openclaw sessions cleanup --store ")
    stores = [f"plain,{agents_state}/agents/{a}/sessions/sessions.json" for a in ("main", "work", "ops")]
    assert (lines, err) == ([*stores, "file,"], "")
    assert complete(f"openclaw sessions --store {agents_state}/agents/w")[0] == [
        stores[1], f"file,{agents_state}/agents/w"]


@pytest.mark.parametrize("config_text", ["{", '{"agents": {"list": 7}}', '{"session": {"store": 5}}'])
def test_a_broken_config_completes_nothing_and_says_nothing(state_dir, config_text):
    (state_dir / "openclaw.json").write_text(config_text)
    for words in ("openclaw agents delete ", "openclaw sessions cleanup --active-key ",
                  "openclaw sessions --agent "):
        lines, err = complete(words)
        assert err == "" and all(not line.startswith("plain,") or line == "plain,main" for line in lines), words


def test_an_unreadable_store_completes_no_key(agents_state):
    store = agents_state / "agents" / "main" / "sessions" / "sessions.json"
    store.write_text("{not json")
    assert complete("openclaw sessions cleanup --active-key ") == ([], "")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_get_the_same_agent_ids(agents_state, shell):
    lines, err = complete("openclaw agents delete ", shell=shell)
    assert err == ""
    text = "\n".join(lines)
    assert "work" in text and "ops" in text and "main" not in text


def test_options_and_commands_complete_statically(state_dir):
    assert complete("openclaw sessions cleanup --dry")[0] == ["plain,--dry-run"]
    assert "plain,cleanup" in complete("openclaw sessions ")[0]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_source_scripts_in_the_docs_work(shell):
    proc = subprocess.run([OPENCLAW], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "_OPENCLAW_COMPLETE": f"{shell}_source"})
    assert proc.returncode == 0 and proc.stderr == ""
    assert "_OPENCLAW_COMPLETE" in proc.stdout and f"{shell}_complete" in proc.stdout


def test_completion_prints_no_notice_when_both_config_files_exist(agents_state):
    """A TAB press is no command: the both-files notice (stderr) belongs to commands only."""
    (agents_state / "openclaw.toml").write_text('[[agents.list]]\nid = "main"\n\n[[agents.list]]\nid = "lab"\n')
    assert complete("openclaw agents delete ") == (["plain,lab"], "")
