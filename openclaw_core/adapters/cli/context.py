"""What a command is given: the composition root's hooks, reached through
click's context (the root group holds the factory :func:`build_cli` got),
and the config loaded against them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks


def hooks_of(ctx: click.Context | None = None) -> Hooks:
    """The hooks of the CLI this command runs in."""
    ctx = ctx if ctx is not None else click.get_current_context()
    factory = getattr(ctx.find_root().command, "hooks_factory", None)
    if factory is None:
        raise RuntimeError("this CLI was built without hooks: run it through openclaw_core.app.run_cli")
    return factory()


def load_config(env: Mapping[str, str] | None = None, *, validate: bool = True, ctx: click.Context | None = None,
                **_: Any) -> Config:
    """The config, checked against the core's keys and the loaded plugins' sections."""
    from openclaw_core.config.model import load_config as load

    return load(env, validate=validate, sections=hooks_of(ctx))
