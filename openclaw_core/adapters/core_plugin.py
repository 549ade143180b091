"""The core's own hook implementations (registered before every entry point).

Only what must sit *inside* a hook call lives here: the write of a commit is
the innermost call of ``openclaw_store_commit`` so that wrapper plugins see it
begin, and see it succeed or fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openclaw_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from openclaw_core.engine.store.commit import StoreCommit


@hookimpl(trylast=True)
def openclaw_store_commit(commit: StoreCommit) -> None:
    commit.write()


@hookimpl(trylast=True)
def openclaw_gateway_methods() -> list:
    # The core's Gateway methods, collected like a plugin's (a plugin may override one by name).
    from openclaw_core.adapters.gateway.builtin import builtin_methods

    return builtin_methods()
