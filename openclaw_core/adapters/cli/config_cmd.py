"""``openclaw config``: where the config is, reading, changing and checking its
values (the reference's ``file|get|set|unset|validate``), and moving an OpenClaw
JSON config to TOML."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from openclaw_core.adapters.cli.usage import OpenClawGroup

from openclaw_core.base.errors import ConfigError
from openclaw_core.js.values import js_trim
from openclaw_core.adapters.cli.context import hooks_of


@click.group(cls=OpenClawGroup, examples=[
    ("openclaw config path", "Which config file is in use."),
    ("openclaw config get session.maintenance.mode", "One value."),
    ("openclaw config set session.maintenance.mode enforce", "Change one value (validated first)."),
    ("openclaw config validate", "Check the whole file."),
    ("openclaw config migrate", "Write openclaw.toml from openclaw.json."),
])
def config() -> None:
    """The config file (openclaw.toml, or an existing OpenClaw openclaw.json)."""


def _where() -> tuple[Path, str, bool]:
    """The config file in use, its format, whether it exists: without reading it,
    so this works (and helps) when the file is broken."""
    from openclaw_core.config import paths
    from openclaw_core.config.model import config_format

    path = paths.resolve_config_path(None, paths.resolve_state_dir(None))
    return path, config_format(path), path.exists()


def stringify(value: Any) -> str:
    from openclaw_core.js.json import stringify as js_stringify  # JSON output only

    return js_stringify(value)


def _echo_where(as_json: bool, shown: str) -> None:
    path, fmt, exists = _where()
    if as_json:
        click.echo(stringify({"path": str(path), "format": fmt, "exists": exists}))
    else:
        click.echo(shown)


@config.command("path", examples=[
    ("openclaw config path", "Print the config file's path."),
    ("OPENCLAW_STATE_DIR=/srv/oc openclaw config path", "The config of another state dir."),
    ("openclaw config path --json", "Path, format and whether it exists, as JSON."),
])
@click.option("--json", "as_json", is_flag=True, help="Output JSON: path, format, exists.")
def config_path(as_json: bool) -> None:
    """Print the config file in use (it may not exist yet, or be broken)."""
    _echo_where(as_json, str(_where()[0]))


@config.command("file", examples=[
    ("openclaw config file", "The active config file, ~ for the home dir."),
    ("openclaw config file --json", "Path, format and whether it exists, as JSON."),
])
@click.option("--json", "as_json", is_flag=True, help="Output JSON: path, format, exists.")
def config_file(as_json: bool) -> None:
    """Print the active config file path (as OpenClaw's ``config file``)."""
    from openclaw_core.config.model import display_path

    _echo_where(as_json, display_path(_where()[0]))


@config.command("get", examples=[
    ("openclaw config get session.maintenance.mode", "A string is printed as it is."),
    ("openclaw config get session.maintenance --json", "A value as JSON."),
    ("openclaw config get 'agents.list[0].id'", "Brackets index lists."),
])
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
def config_get(path: str, as_json: bool) -> None:
    """Get a config value by dot path (dot or bracket notation)."""
    from openclaw_core.config import dotpath as config_dotpath
    from openclaw_core.adapters.cli.context import load_config

    segments = config_dotpath.parse(path)
    value = config_dotpath.get(load_config().data, segments)
    if not config_dotpath.found(value):
        raise ConfigError(f"Config path not found: {path}")
    click.echo(value if isinstance(value, str) and not as_json else stringify(value))


def _parse_value(text: str, strict: bool) -> Any:
    """The reference's value mode: JSON5 (raw string when it does not parse), or strict JSON."""
    from openclaw_core.js.json import JSONError, loads

    if strict:
        try:
            value = loads(text)
        except JSONError as exc:
            raise ConfigError(f"Error: Failed to parse JSON value: {exc}") from None
    else:
        import json5

        try:
            value = json5.loads(text)
        except (ValueError, RecursionError):
            return text
    return _js_numbers(value)


def _js_numbers(value: Any) -> Any:
    # JS has one number type: 1e3 is the integer 1000 (the validator wants integers as int).
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53 - 1:
        return int(value)
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    return value


def _write(new_data: Any, fresh: Any) -> None:
    """Validate as loading does, then write through the config writer; the file is untouched on refusal."""
    import hashlib

    from openclaw_core.config.edit import write
    from openclaw_core.config.schema import check_config
    from openclaw_core.adapters.cli import output

    problems, _hints = check_config(new_data, hooks_of())
    if problems:
        raise ConfigError("Error: Config validation failed: " + "; ".join(problems))
    path = fresh.path
    before = path.read_bytes() if path.exists() else None
    dropped = write(fresh, new_data)
    if dropped:
        output.info("left out (TOML has no null): " + ", ".join(dropped))
    if before is not None:
        digest = hashlib.sha256
        output.info(f"Config overwrite: {path} (sha256 {digest(before).hexdigest()} -> "
                    f"{digest(path.read_bytes()).hexdigest()}, backup={path}.bak)")


@config.command("set", examples=[
    ("openclaw config set session.maintenance.mode warn", "A word that is not JSON is a string."),
    ("openclaw config set session.maintenance.maxEntries 500", "A number (JSON5 values are parsed)."),
    ("openclaw config set session.maintenance '{\"mode\": \"warn\"}' --strict-json", "A JSON object."),
    ("openclaw config set session.maintenance.mode enforce --dry-run", "Validate without writing."),
])
@click.argument("path")
@click.argument("value")
@click.option("--strict-json", "strict", is_flag=True, help="Strict JSON parsing (error instead of raw string fallback).")
@click.option("--json", "legacy_json", is_flag=True, help="Legacy alias for --strict-json (as in OpenClaw).")
@click.option("--dry-run", is_flag=True, help="Validate the change without writing the config.")
def config_set(path: str, value: str, strict: bool, legacy_json: bool, dry_run: bool) -> None:
    """Set a config value by path. VALUE is JSON5 or a raw string.

    The new config is validated as loading validates it (unknown keys and
    invalid values are refused, the file left untouched); TOML comments and
    layout are kept.
    """
    from openclaw_core.config import dotpath as config_dotpath
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.config.edit import editing

    segments = config_dotpath.parse(path)
    parsed = _parse_value(value, strict or legacy_json)
    current = load_config()
    shown = config_dotpath.dotted(segments)
    if parsed is None and current.format == "toml":
        raise ConfigError(f"Error: TOML has no null; to remove {shown} run: openclaw config unset {path}")
    with editing(current) as fresh:
        new_data = config_dotpath.with_value(fresh.data, segments, parsed, shown)
        if dry_run:
            from openclaw_core.config.schema import check_config

            problems, _hints = check_config(new_data, hooks_of())
            if problems:
                raise ConfigError("Error: Config validation failed: " + "; ".join(problems))
            click.echo(f"Dry run successful: 1 update(s) validated against {fresh.path}.")
            return
        _write(new_data, fresh)
    click.echo(f"Updated {shown}. Restart the gateway to apply.")


@config.command("unset", examples=[
    ("openclaw config unset session.maintenance.pruneAfter", "Back to the default."),
    ("openclaw config unset 'agents.list[1]'", "Remove a list item."),
])
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Output JSON: what was removed, from which file.")
def config_unset(path: str, as_json: bool) -> None:
    """Remove a config value by dot path."""
    from openclaw_core.config import dotpath as config_dotpath
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.config.edit import editing

    segments = config_dotpath.parse(path)
    with editing(load_config()) as fresh:
        new_data = config_dotpath.without(fresh.data, segments)
        if new_data is None:
            raise ConfigError(f"Config path not found: {path}")
        _write(new_data, fresh)
    if as_json:
        click.echo(stringify({"removed": config_dotpath.dotted(segments), "path": str(fresh.path)}))
    else:
        click.echo(f"Removed {path}. Restart the gateway to apply.")


_ALLOWED = re.compile(r'^Invalid option: expected one of ((?:"(?:[^"\\]|\\.)*"\|?)+)$')


def _issue(problem: str) -> dict[str, Any]:
    where, _, message = problem.partition(": ")
    issue: dict[str, Any] = {"path": where, "message": message}
    allowed = _ALLOWED.match(message)
    if allowed:
        issue["allowedValues"] = re.findall(r'"((?:[^"\\]|\\.)*)"', allowed.group(1))
    return issue


@config.command("validate", examples=[
    ("openclaw config validate", "Check the config file; exit 1 if it is invalid."),
    ("openclaw config validate --json", "The problems as JSON (path, message)."),
])
@click.option("--json", "as_json", is_flag=True, help="Output validation result as JSON.")
def config_validate(as_json: bool) -> None:
    """Validate the config file as every command loads it, without running anything."""
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.config.schema import check_config

    path, _fmt, exists = _where()
    if not exists:
        if as_json:
            click.echo(json.dumps({"valid": False, "path": str(path), "error": "file not found"},
                                  ensure_ascii=False, separators=(",", ":")))
            raise click.exceptions.Exit(1)
        raise ConfigError(f"Config file not found: {path}")
    hints: list[str] = []
    try:
        data = load_config(validate=False).data
    except ConfigError as exc:
        problems = list(getattr(exc, "problems", [str(exc)]))
    else:
        problems, hints = check_config(data, hooks_of())
    if not problems:
        if as_json:
            click.echo(json.dumps({"valid": True, "path": str(path)}, ensure_ascii=False, separators=(",", ":")))
        else:
            click.echo(f"Config valid: {path}")
        return
    if as_json:
        click.echo(stringify({"valid": False, "path": str(path), "issues": [_issue(p) for p in problems]}))
        raise click.exceptions.Exit(1)
    lines = [f"Config invalid at {path}:", *(f"  × {p}" for p in problems), *hints, "",
             "Fix the keys above, then run `openclaw config validate` again."]
    raise ConfigError("\n".join(lines))


@config.command("migrate", examples=[
    ("openclaw config migrate", "Write openclaw.toml next to openclaw.json."),
    ("openclaw config migrate --force", "Replace an existing openclaw.toml."),
])
@click.option("--force", is_flag=True, help="Overwrite an existing openclaw.toml.")
def migrate(force: bool) -> None:
    """Convert the state dir's openclaw.json into openclaw.toml (same keys).

    openclaw.json is left as it was, for OpenClaw itself; openclaw-core reads
    openclaw.toml from now on. Keys whose value is null are left out (TOML
    has no null) and listed.
    """
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.config.model import TOML_CONFIG_NAME, save_config

    current = load_config()
    if current.format == "toml":
        if not current.exists:
            raise ConfigError(f"nothing to migrate: no openclaw.json in {current.state_dir}")
        raise ConfigError(f"{current.path} is already TOML")
    overridden = bool(js_trim(current.env.get("OPENCLAW_CONFIG_PATH") or ""))
    target = current.path.with_suffix(".toml") if overridden else current.state_dir / TOML_CONFIG_NAME
    if target.exists() and not force:
        raise ConfigError(f"{target} exists; pass --force to overwrite it")
    dropped = save_config(current, current.data, path=target, fmt="toml")
    click.echo(f"Wrote {target} from {current.path}")
    for key in dropped:
        click.echo(f"  left out {key} (null)")
    if overridden:
        click.echo(f"Point OPENCLAW_CONFIG_PATH at {target} to use it.")
