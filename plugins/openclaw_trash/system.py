"""The system trash, through send2trash.

On freedesktop systems the trash location comes from the *command's*
environment (``context.env``), not from the process's environment when
send2trash was first imported, so the Gateway and tests trash into the right
place. Each path is judged and moved as it is: a symlink is moved as a link
(``lstat``, ``rename``), never followed, and a dangling link moves too. A
path is only ever renamed into a trash on its own filesystem: nothing is
copied and then deleted, and nothing is deleted at all. Any failure comes
back as a :class:`TrashResult` that says the path did not move, and why.
"""

from __future__ import annotations

import errno
import os
import sys
from itertools import count

from openclaw_core.engine.trash import TrashContext, TrashResult, refusal, user_home

INFO_SUFFIX = b".trashinfo"


def move_to_system_trash(path: str, context: TrashContext) -> TrashResult:
    why = refusal(path, context)  # the core checked already; a direct hook call must not bypass it
    if why is not None:
        return TrashResult(path, moved=False, reason=why)
    if not os.path.lexists(path):
        return TrashResult(path, moved=False, reason="not found", missing=True)
    try:
        if sys.platform == "darwin" or os.name == "nt":
            from send2trash import send2trash

            send2trash(path)
            return TrashResult(path, moved=True)
        destination = _freedesktop_trash(os.path.abspath(path), context)
    except OSError as exc:
        return TrashResult(path, moved=False, reason=exc.strerror or str(exc))
    return TrashResult(path, moved=True, destination=destination)


def _data_home(context: TrashContext) -> bytes:
    configured = context.env.get("XDG_DATA_HOME") or ""  # a path: as written
    if configured and os.path.isabs(configured):  # the basedir spec ignores relative values
        return os.fsencode(configured)
    return os.fsencode(os.path.join(user_home(context), ".local", "share"))


def _device_of_nearest(path: bytes) -> int:
    """st_dev of ``path`` or of its nearest existing ancestor (the trash may not exist yet)."""
    while True:
        try:
            return os.stat(path).st_dev
        except FileNotFoundError:
            parent = os.path.dirname(path)
            if parent == path:
                raise
            path = parent


def _freedesktop_trash(path: str, context: TrashContext) -> str:
    from send2trash import plat_other

    src = os.fsencode(path.rstrip(os.sep) or os.sep)
    data_home = _data_home(context)
    home_trash = os.path.join(data_home, b"Trash")
    path_dev = os.lstat(src).st_dev
    if path_dev == _device_of_nearest(home_trash):
        topdir, trash_dir = data_home, home_trash
    else:  # another filesystem: its own top-level trash, as the spec and send2trash do
        topdir = plat_other.find_mount_point(os.path.dirname(src))
        if os.lstat(topdir).st_dev != path_dev:
            raise OSError(errno.EXDEV, f"cannot find the mount point of {path}")
        trash_dir = plat_other.find_ext_volume_trash(topdir)
    return os.fsdecode(_rename_into(src, trash_dir, topdir, plat_other))


def _rename_into(src: bytes, trash_dir: bytes, topdir: bytes, plat_other) -> bytes:
    files_dir = os.path.join(trash_dir, b"files")
    info_dir = os.path.join(trash_dir, b"info")
    plat_other.check_create(files_dir)
    plat_other.check_create(info_dir)
    name = os.path.basename(src)
    stem, ext = os.path.splitext(name)
    for n in count():
        candidate = name if n == 0 else stem + b" " + str(n).encode() + ext
        target = os.path.join(files_dir, candidate)
        info_path = os.path.join(info_dir, candidate + INFO_SUFFIX)
        if os.path.lexists(target):
            continue
        try:  # the info file reserves the name, atomically (trash spec)
            fd = os.open(info_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "w") as info:
                info.write(plat_other.info_for(src, topdir))
            os.rename(src, target)  # never a copy: a link moves as a link
        except BaseException:
            try:
                os.unlink(info_path)
            except OSError:
                pass
            raise
        return target
    raise AssertionError("unreachable")
