"""Built-in plugin: the file store (``session.backend = "file"``, the default).

One ``sessions.json`` per store, written exactly as OpenClaw writes it:
atomically (temp file in the same dir, fsync, rename, fsync of the dir),
mode 0600. Its version is the file's identity (inode, size, mtime_ns).
The backend module is imported on first use, not when the CLI starts.
"""

from __future__ import annotations

from openclaw_core import hookimpl

BACKEND_NAME = "file"


@hookimpl(trylast=True)
def openclaw_store_backend(name, store_path, config, hooks):
    if name != BACKEND_NAME:
        return None
    from openclaw_store_file.backend import FileStoreBackend

    return FileStoreBackend(store_path, config, hooks)
