"""The engine's and services' entry points bound to the test process's hooks
and config (the composition root's, :mod:`openclaw_core.app`), as the CLI,
the Gateway and the public API bind them: tests call these instead of
passing ``hooks`` at every call."""

from __future__ import annotations

import os
from typing import Any

from openclaw_core import app
from openclaw_core.app import current_config, get_plugin_manager, hooks, load_config, new_plugin_manager  # noqa: F401


def get_writer(store_path: str | os.PathLike[str], config: Any = None, hooks_: Any = None) -> Any:
    from openclaw_core.engine.store.writer import get_writer as get

    return get(store_path, config if config is not None else app.current_config(), hooks_ or app.hooks())


def open_backend(store_path: Any, config: Any = None, hooks_: Any = None) -> Any:
    from openclaw_core.engine.store.backend import open_backend as open_

    return open_(store_path, config if config is not None else app.current_config(), hooks_ or app.hooks())


def trash_path(path: Any, context: Any) -> Any:
    from openclaw_core.engine.trash import trash_path as trash

    return trash(path, context, app.hooks())


def dispatch(request: Any) -> Any:
    from openclaw_core.engine.transport import dispatch as send

    return send(request, app.hooks())


def run_cleanup(config: Any, **options: Any) -> Any:
    from openclaw_core.services.cleanup import run_cleanup as run

    return run(config, hooks=app.hooks(), **options)


def delete_agent(config: Any, raw_id: str, **options: Any) -> Any:
    from openclaw_core.services.agent_delete import delete_agent as delete

    return delete(config, raw_id, hooks=app.hooks(), **options)
