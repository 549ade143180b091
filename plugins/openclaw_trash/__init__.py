"""Built-in plugin: ``openclaw_trash`` on send2trash, the system trash.

Linux and other freedesktop systems: the XDG trash of the command's
environment (``$XDG_DATA_HOME/Trash``, default ``~/.local/share/Trash``, or
the ``.Trash-<uid>`` of the path's own filesystem), with send2trash's
freedesktop helpers. macOS and Windows: send2trash's native call.

Registered ``trylast``: any installed trash plugin is asked first. The
module that does the work (and send2trash) is imported on first use.
"""

from __future__ import annotations

from openclaw_core import hookimpl


@hookimpl(trylast=True)
def openclaw_trash(path, context):
    from openclaw_trash.system import move_to_system_trash

    return move_to_system_trash(path, context)
