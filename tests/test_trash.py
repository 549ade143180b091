"""The trash: the ``openclaw_trash`` hook, the core's refusal rules, and the
built-in plugin on send2trash (real XDG trash under ``XDG_DATA_HOME`` in tmp)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openclaw_core import hookimpl
from openclaw_core.app import get_plugin_manager
from openclaw_core.engine.trash import TrashContext, TrashResult, refusal
from oc import trash_path


@pytest.fixture
def home() -> Path:
    return Path(os.environ["HOME"])


@pytest.fixture
def context(home, state_dir) -> TrashContext:
    return TrashContext(home, state_dir, dict(os.environ))


def xdg_trash() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "Trash"


def make_tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    return root


# --- the hook ---------------------------------------------------------------------------------

def test_hook_trash_builtin_moves_a_directory_into_the_xdg_trash(home, context):
    workspace = make_tree(home / "ws")
    result = get_plugin_manager().hook.openclaw_trash(path=str(workspace), context=context)
    assert isinstance(result, TrashResult) and result.moved
    assert not workspace.exists()
    moved = xdg_trash() / "files" / "ws"
    assert result.destination == str(moved)
    assert (moved / "sub" / "b.txt").read_text() == "b"
    info = (xdg_trash() / "info" / "ws.trashinfo").read_text()
    assert f"Path={workspace}" in info and "DeletionDate=" in info


def test_hook_trash_an_installed_plugin_answers_first_and_none_passes_on(home, context, register_openclaw_plugin):
    calls = []

    class Declines:
        @hookimpl
        def openclaw_trash(self, path, context):
            calls.append(("declines", path))
            return None

    class Archives:
        @hookimpl
        def openclaw_trash(self, path, context):
            calls.append(("archives", path))
            if path.endswith("keep-default"):
                return None
            target = Path(context.state_dir) / "trash" / Path(path).name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, target)
            return TrashResult(path, moved=True, destination=str(target))

    register_openclaw_plugin(Declines(), "declines")
    register_openclaw_plugin(Archives(), "archives")
    first = make_tree(home / "first")
    result = trash_path(first, context)
    assert result.moved and result.destination == str(context.state_dir / "trash" / "first")
    assert calls == [("archives", str(first))]  # last registered answers first; the default never ran
    assert not (xdg_trash() / "files" / "first").exists()

    other = make_tree(home / "keep-default")
    result = trash_path(other, context)
    assert result.moved and (xdg_trash() / "files" / "keep-default" / "a.txt").exists()
    assert [c[0] for c in calls[1:]] == ["archives", "declines"]  # then the built-in took it


def test_hook_trash_results_are_checked(home, context, register_openclaw_plugin):
    class Liar:
        @hookimpl
        def openclaw_trash(self, path, context):
            if path.endswith("raises"):
                raise PermissionError("the archive volume is read-only")
            if path.endswith("wrong-type"):
                return "done"
            return TrashResult(path, moved=True)  # says moved, moved nothing

    register_openclaw_plugin(Liar(), "liar")
    for name, words in (("raises", "read-only"), ("wrong-type", "not a TrashResult"), ("lies", "still there")):
        target = make_tree(home / name)
        result = trash_path(target, context)
        assert result.failed and words in result.reason, result
        assert (target / "a.txt").exists()  # nothing lost


# --- what the core refuses -----------------------------------------------------------------------

def test_missing_path_is_reported_missing_without_asking_a_plugin(home, context, register_openclaw_plugin):
    asked = []

    class Spy:
        @hookimpl
        def openclaw_trash(self, path, context):
            asked.append(path)

    register_openclaw_plugin(Spy(), "spy")
    result = trash_path(home / "nothing-here", context)
    assert result.missing and not result.moved and not result.failed
    assert asked == []


def test_paths_outside_home_and_state_dir_or_holding_them_are_refused(home, state_dir, context, tmp_path):
    outside = make_tree(tmp_path / "elsewhere" / "ws")
    for path in (outside, home, state_dir, state_dir.parent if state_dir.parent != home else home):
        result = trash_path(path, context)
        assert result.failed and "refusing" in result.reason, (path, result)
    assert (outside / "a.txt").exists() and home.exists() and state_dir.exists()
    # A state dir inside the home: a dir that holds it is refused, a sibling is not.
    nested = TrashContext(home, home / ".openclaw", dict(os.environ))
    (home / ".openclaw").mkdir()
    assert refusal(str(home / ".openclaw"), nested)
    assert refusal(str(home / ".openclaw" / ".." / ".openclaw"), nested)
    assert refusal(str(home / "ws-x"), nested) is None
    assert refusal(str(state_dir / "agents" / "x"), context) is None  # state dir outside the home


def test_a_path_reaching_out_through_dotdot_is_refused(home, context, tmp_path):
    (tmp_path / "victim").mkdir()
    sneaky = home / ".." / tmp_path.name / "victim"
    assert sneaky.resolve() == (tmp_path / "victim").resolve()
    assert trash_path(sneaky, context).failed
    assert (tmp_path / "victim").exists()


# --- symlinks: moved as links, never followed ---------------------------------------------------------

def test_a_symlink_is_moved_as_a_link_and_its_target_stays(home, context, tmp_path):
    target = make_tree(tmp_path / "outside-target")  # outside home and state: could never be trashed itself
    link = home / "ws-link"
    link.symlink_to(target, target_is_directory=True)
    result = trash_path(link, context)
    assert result.moved
    moved = xdg_trash() / "files" / "ws-link"
    assert moved.is_symlink() and os.readlink(moved) == str(target)
    assert (target / "sub" / "b.txt").read_text() == "b"


def test_a_link_that_lives_outside_is_refused_even_if_it_points_home(home, context, tmp_path):
    inside = make_tree(home / "real")
    link = tmp_path / "outside-link"
    link.symlink_to(inside, target_is_directory=True)
    assert trash_path(link, context).failed
    assert link.is_symlink() and (inside / "a.txt").exists()


def test_a_dangling_symlink_moves_too(home, context):
    link = home / "dangling"
    link.symlink_to(home / "gone")
    result = trash_path(link, context)
    assert result.moved and not os.path.lexists(link)
    assert (xdg_trash() / "files" / "dangling").is_symlink()


def test_a_link_in_a_linked_parent_is_judged_where_it_really_is(home, context, tmp_path):
    outside = tmp_path / "real-parent"
    outside.mkdir()
    make_tree(outside / "ws")
    (home / "parent-link").symlink_to(outside, target_is_directory=True)
    assert trash_path(home / "parent-link" / "ws", context).failed  # really outside the home
    assert (outside / "ws" / "a.txt").exists()


# --- the built-in plugin ------------------------------------------------------------------------------------

def test_name_clashes_get_a_number_and_nothing_is_overwritten(home, context):
    first = home / "a" / "sessions"
    second = home / "b" / "sessions"
    for path, text in ((first, "first"), (second, "second")):
        path.mkdir(parents=True)
        (path / "sessions.json").write_text(text)
    assert trash_path(first, context).moved
    result = trash_path(second, context)
    assert result.moved and result.destination == str(xdg_trash() / "files" / "sessions 1")
    assert (xdg_trash() / "files" / "sessions" / "sessions.json").read_text() == "first"
    assert (xdg_trash() / "files" / "sessions 1" / "sessions.json").read_text() == "second"
    assert (xdg_trash() / "info" / "sessions 1.trashinfo").exists()


def test_the_trash_location_follows_the_commands_environment(home, state_dir, tmp_path):
    """The Gateway (or a test) may act for another environment than the process's own."""
    other_home = tmp_path / "other-home"
    other_data = other_home / "data"
    victim = make_tree(other_home / "ws")
    ctx = TrashContext(other_home, state_dir, {"HOME": str(other_home), "XDG_DATA_HOME": str(other_data)})
    assert trash_path(victim, ctx).moved
    assert (other_data / "Trash" / "files" / "ws" / "a.txt").exists()
    assert not (xdg_trash() / "files" / "ws").exists()
    # Without XDG_DATA_HOME: ~/.local/share/Trash of that home.
    victim2 = make_tree(other_home / "ws2")
    assert trash_path(victim2, TrashContext(other_home, state_dir, {"HOME": str(other_home)})).moved
    assert (other_home / ".local" / "share" / "Trash" / "files" / "ws2").is_dir()


def test_the_plugin_refuses_on_its_own_when_called_directly(home, context, tmp_path):
    outside = make_tree(tmp_path / "direct")
    result = get_plugin_manager().hook.openclaw_trash(path=str(outside), context=context)
    assert result.failed and "refusing" in result.reason
    assert (outside / "a.txt").exists()


def test_a_failed_move_leaves_no_reservation_behind(home, context):
    victim = make_tree(home / "ws")
    (xdg_trash()).mkdir(parents=True)
    (xdg_trash() / "files").write_text("not a directory")  # a broken trash: the rename must fail
    result = trash_path(victim, context)
    assert result.failed and result.reason
    assert (victim / "a.txt").exists()
    assert not (xdg_trash() / "info" / "ws.trashinfo").exists()


def test_with_openclaw_home_both_homes_count_and_the_trash_stays_the_users(home, state_dir, tmp_path):
    oc_home = tmp_path / "oc-home"
    in_oc_home = make_tree(oc_home / "ws")
    in_user_home = make_tree(home / "ws-user")
    env = {"HOME": str(home), "OPENCLAW_HOME": str(oc_home)}
    ctx = TrashContext(oc_home, state_dir, env)
    assert refusal(str(oc_home), ctx) and refusal(str(home), ctx)
    assert trash_path(in_oc_home, ctx).moved and trash_path(in_user_home, ctx).moved
    assert (home / ".local" / "share" / "Trash" / "files" / "ws").is_dir()  # XDG_DATA_HOME unset: ~/.local/share
    assert not (oc_home / ".local").exists()
