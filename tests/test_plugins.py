"""The plugin system: entry points, error boundaries, kill switches, laziness."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import OPENCLAW, now_ms, write_store
from plugin_support import make_distribution

from openclaw_core import hookspecs
from openclaw_core.app import new_plugin_manager


def run(args, env_extra, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "OPENCLAW_STATE_DIR": str(tmp_path / "state")}
    env.update(env_extra)
    return subprocess.run([OPENCLAW, *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def broken_plugins(tmp_path):
    site = tmp_path / "site"
    make_distribution(site, "oc_broken_import", "raise ImportError('needs libfoo')\n", {"broken": "oc_broken_import"})
    make_distribution(site, "oc_bad_hook", """
        from openclaw_core import hookimpl
        @hookimpl
        def openclaw_no_such_hook():
            pass
    """, {"badhook": "oc_bad_hook"})
    make_distribution(site, "oc_bad_command", """
        from openclaw_core import hookimpl
        @hookimpl
        def openclaw_register_commands(cli):
            raise RuntimeError("cannot add my command")
    """, {"badcommand": "oc_bad_command"})
    make_distribution(site, "oc_good", """
        import click
        from openclaw_core import hookimpl
        @hookimpl
        def openclaw_register_commands(cli):
            @cli.command("hello")
            def hello():
                click.echo("hello from a plugin")
    """, {"good": "oc_good"})
    state = tmp_path / "state" / "agents" / "main" / "sessions"
    write_store(state / "sessions.json", {"agent:main:main": {"sessionId": "s1", "updatedAt": now_ms()}})
    return site


def test_broken_third_party_plugins_do_not_stop_the_cli(broken_plugins, tmp_path):
    result = run(["sessions", "--json"], {"PYTHONPATH": str(broken_plugins)}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["count"] == 1
    result = run(["plugins", "list", "--json"], {"PYTHONPATH": str(broken_plugins)}, tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("openclaw: warning:")]
    assert len(warnings) == 3, result.stderr
    assert any('"broken"' in w and "needs libfoo" in w for w in warnings)
    assert any('"badhook"' in w and "openclaw_no_such_hook" in w for w in warnings)
    assert any('"badcommand"' in w and "cannot add my command" in w for w in warnings)
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["good"]["hooks"] == ["openclaw_register_commands"]
    assert plugins["good"]["distribution"] == "oc-good" and plugins["good"]["version"] == "0.1"
    assert "error" in plugins["broken"] and "error" in plugins["badhook"]
    hello = run(["hello"], {"PYTHONPATH": str(broken_plugins)}, tmp_path)
    assert hello.stdout.strip() == "hello from a plugin"


def test_disable_plugins_by_name_and_all_third_party(broken_plugins, tmp_path):
    env = {"PYTHONPATH": str(broken_plugins), "OPENCLAW_DISABLE_PLUGINS": "broken,badhook,oc-bad-command"}
    result = run(["plugins", "list", "--json"], env, tmp_path)
    assert "warning" not in result.stderr
    names = {p["name"] for p in json.loads(result.stdout)["plugins"]}
    assert "good" in names and not names & {"broken", "badhook", "badcommand"}
    result = run(["plugins", "list", "--json"], {**env, "OPENCLAW_DISABLE_PLUGINS": "third-party"}, tmp_path)
    plugins = json.loads(result.stdout)["plugins"]
    assert plugins and all(p["builtin"] for p in plugins)
    assert {"offline_lock", "store_file"} <= {p["name"] for p in plugins}


def test_builtins_register_through_the_entry_point_group():
    from importlib import metadata

    eps = {ep.name: ep.value for ep in metadata.entry_points(group="openclaw")
           if ep.dist is not None and ep.dist.metadata["Name"] == "openclaw-core"}
    assert {"offline_lock": "openclaw_offline_lock", "store_file": "openclaw_store_file"}.items() <= eps.items()
    pm = new_plugin_manager(disabled=[])
    for name in eps:
        assert pm.has_plugin(name), name
    # every built-in, the core's own plugin too, names the distribution and version it came from
    version = metadata.version("openclaw-core")
    for name in [*eps, "openclaw_core"]:
        info = pm.infos[name]
        assert (info.distribution, info.version, info.builtin) == ("openclaw-core", version, True), name
    assert new_plugin_manager(load_entrypoints=False).infos["openclaw_core"].version == version


def test_every_hookspec_is_typed_prefixed_and_documented():
    import inspect

    specs = [getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("openclaw_")]
    assert specs
    for spec in specs:
        assert spec.__doc__ and spec.__doc__.strip(), spec.__name__
        signature = inspect.signature(spec)
        assert signature.return_annotation is not inspect.Signature.empty, spec.__name__
        for param in signature.parameters.values():
            assert param.annotation is not inspect.Parameter.empty, (spec.__name__, param.name)
    pm = new_plugin_manager(load_entrypoints=False)
    assert sorted(n for n in dir(pm.hook) if not n.startswith("_")) == sorted(s.__name__ for s in specs)


def test_help_does_not_import_what_it_does_not_need(tmp_path):
    code = ("import sys; from openclaw_core.app import run_cli as main; main(['--help']); "
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "sessions" in proc.stdout
    loaded = set(proc.stderr.split())
    for heavy in ("websockets", "watchdog", "send2trash", "psycopg", "orjson", "filelock", "cryptography",
                  "openclaw_core.engine.store.writer", "openclaw_core.engine.store.state", "json5", "tomli_w"):
        assert heavy not in loaded, heavy


class CountCommand:
    """Adds ``openclaw sessions count`` (prints 42) to the core's group."""

    @hookspecs.hookimpl
    def openclaw_register_commands(self, cli):
        import click

        @cli.commands["sessions"].command("count")
        def count():
            click.echo("42")


def test_hook_register_commands_can_extend_a_core_group(cli, register_openclaw_plugin, state_dir):
    register_openclaw_plugin(CountCommand(), "extension")
    result = cli("sessions", "count")
    assert (result.exit_code, result.stdout.strip()) == (0, "42")


def test_plugin_commands_do_not_leak_into_the_next_cli(register_openclaw_plugin, state_dir):
    import click

    from openclaw_core.adapters.cli import build_cli

    extension = register_openclaw_plugin(CountCommand(), "leaky-extension")
    from openclaw_core.app import hooks

    first = build_cli(hooks)
    ctx = click.Context(first)
    first.list_commands(ctx)  # loads the plugins' commands, as --help does
    assert "count" in first.get_command(ctx, "sessions").commands
    from openclaw_core.app import get_plugin_manager

    get_plugin_manager().unregister(extension)
    second = build_cli(hooks)
    second.list_commands(click.Context(second))
    assert "count" not in second.get_command(click.Context(second), "sessions").commands


def test_a_transport_plugin_that_crashes_fails_the_command_without_running_it_offline(
        cli, register_openclaw_plugin, store_path):
    class Broken:
        @hookspecs.hookimpl
        def openclaw_transport(self, request):
            raise RuntimeError("socket exploded")

    raw = write_store(store_path, {"agent:main:old": {"sessionId": "o", "updatedAt": now_ms() - 90 * 86_400_000}})
    register_openclaw_plugin(Broken(), "broken-transport")
    result = cli("sessions", "cleanup", "--enforce", "--json")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "sessions.cleanup: the transport failed (RuntimeError: socket exploded); the command was not run offline"]
    assert store_path.read_bytes() == raw


def _odd_plugin_module():
    """A module plugin with every kind of attribute pluggy meets: marked and
    unmarked functions, a hook under another name (specname), static and class
    methods, a bound method, a marker that is no dict, classes, constants."""
    import types

    from openclaw_core import hookimpl

    module = types.ModuleType("oc_odd_plugin")
    module.__annotations__ = {"x": int}

    @hookimpl
    def openclaw_entry_protected(key, entry):
        return None

    @hookimpl(specname="openclaw_maintenance_policies")
    def policies():
        return []

    def openclaw_plain():
        return None

    def fake_marker():
        return None

    fake_marker.openclaw_impl = "not a dict"

    class Holder:
        @hookimpl
        def openclaw_store_lock(self, lock_path, store_path, timeout):
            return None

    module.openclaw_entry_protected = openclaw_entry_protected
    module.policies = policies
    module.openclaw_plain = openclaw_plain
    module.fake_marker = fake_marker
    module.as_static = staticmethod(hookimpl(lambda: None))
    module.as_class = classmethod(hookimpl(lambda cls: None))
    module.bound = Holder().openclaw_store_lock
    module.Holder, module.CONSTANT, module.json = Holder, 42, json

    # Odd but legal: a marked function under a name ModuleType's descriptors
    # claim, a function whose marker sits on its __func__, a fake function.
    @hookimpl
    def marked():
        return None

    def carrier():
        return None

    carrier.__func__ = marked
    module.__dict__["__dict__"] = marked
    module.carrier = carrier
    from unittest import mock

    fake = mock.Mock(spec=types.FunctionType)
    fake.openclaw_impl = {"tryfirst": True}
    module.fake = fake
    return module


def test_hookimpl_lookup_on_modules_is_pluggys():
    """OpenClawPluginManager.parse_hookimpl_opts reads a module's dict instead of
    inspect.getattr_static: for every name of every installed plugin and of a
    module with every kind of attribute, the answer is pluggy's own."""
    import pluggy

    pm = new_plugin_manager()
    modules = [plugin for _, plugin in pm.list_name_plugin()] + [_odd_plugin_module()]
    checked = 0
    for module in modules:
        for name in dir(module):
            ours = pm.parse_hookimpl_opts(module, name)
            assert ours == pluggy.PluginManager.parse_hookimpl_opts(pm, module, name), (module, name)
            checked += ours is not None
    assert checked >= 10  # the built-ins' hooks were among them
