"""base/atomic.write_private: the one writer of small private files (tokens,
identities, the endpoint record, configs)."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from openclaw_core.base.atomic import write_private


def _temp(path):
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def test_writes_whole_0600_and_creates_the_private_parent(tmp_path):
    path = tmp_path / "devices" / "tokens.json"
    write_private(path, '{"a": "é"}\n', dir_mode=0o700)
    assert path.read_bytes() == '{"a": "é"}\n'.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(os.listdir(path.parent)) == ["tokens.json"]


def test_keeps_a_given_mode(tmp_path):
    path = tmp_path / "openclaw.toml"
    write_private(path, b"x = 1\n", mode=0o640)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_never_writes_through_a_symlink_planted_at_its_temp_name(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    path = tmp_path / "token.json"
    path.write_text("old")
    _temp(path).symlink_to(victim)
    with pytest.raises(OSError):
        write_private(path, "new")
    assert victim.read_text() == "keep" and path.read_text() == "old"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "sub"
    path.mkdir()  # a directory where the file should be: the rename fails
    with pytest.raises(OSError):
        write_private(path, "new")
    assert path.is_dir() and not _temp(path).exists()


def test_a_temp_left_by_a_killed_write_does_not_lend_the_new_file_its_mode(tmp_path):
    """kill -9 between the temp's open and its rename leaves it; a later process with
    the same pid (a container's Gateway is often the same pid after a restart) and
    thread opens it again: O_TRUNC keeps the old file's mode, so it must be set."""
    path = tmp_path / "openclaw.toml"
    _temp(path).write_text("half a config")
    os.chmod(_temp(path), 0o644)  # left by an edit of the config while it was 0644
    write_private(path, 'token = "secret"\n')  # since made private: save_config writes 0600
    assert path.read_text() == 'token = "secret"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
