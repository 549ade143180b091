"""``openclaw config``: where the config is, and moving an OpenClaw JSON config to TOML."""

from __future__ import annotations

import click

from openclaw_core.cli.usage import OpenClawGroup

from openclaw_core.errors import ConfigError
from openclaw_core.jsvalues import js_trim


@click.group(cls=OpenClawGroup, examples=[
    ("openclaw config path", "Which config file is in use."),
    ("openclaw config migrate", "Write openclaw.toml from openclaw.json."),
])
def config() -> None:
    """The config file (openclaw.toml, or an existing OpenClaw openclaw.json)."""


@config.command("path", examples=[
    ("openclaw config path", "Print the config file's path."),
    ("OPENCLAW_STATE_DIR=/srv/oc openclaw config path", "The config of another state dir."),
])
def config_path() -> None:
    """Print the config file in use (it may not exist yet)."""
    from openclaw_core.config import load_config

    click.echo(str(load_config(validate=False).path))


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
    from openclaw_core.config import TOML_CONFIG_NAME, load_config, save_config

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
