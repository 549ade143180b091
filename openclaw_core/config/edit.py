"""Changing the config file: read-modify-write under a cross-process lock, in
the file's own format.

Two processes (an offline ``openclaw agents delete`` and a Gateway running
``agents.delete``, or two ``agents add``) must not lose each other's edits,
so every edit takes ``<config>.lock``, re-reads the file, changes that, and
writes it back before letting go. An OpenClaw ``openclaw.json`` is written
as OpenClaw writes it: ``JSON.stringify(config, null, 2)`` plus a newline,
mode 0600, a ``meta`` block stamped with the time, and the previous file
kept in a ring of backups (``.bak``, ``.bak.1`` ... ``.bak.4``). A user's
``openclaw.toml`` is edited in place instead (:mod:`openclaw_core.config.toml_edit`):
its comments, order, table style and file mode are kept (backups as for JSON).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from openclaw_core.base import regular_file
from openclaw_core.base.atomic import write_private
from openclaw_core.base.cancel import CancelToken
from openclaw_core.config.model import Config, parse_config_text, render_config, save_config, validate_config
from openclaw_core.base.errors import ConfigError

#: The OpenClaw release whose config format we write (``meta.lastTouchedVersion``).
OPENCLAW_FORMAT_VERSION = "2026.5.4"
BACKUP_COUNT = 5             # .bak plus .bak.1 .. .bak.4, as OpenClaw keeps them
LOCK_TIMEOUT = 60.0          # seconds to wait for another process's edit


def lock_path(config: Config) -> Path:
    return config.path.with_name(config.path.name + ".lock")


def reread(config: Config) -> Config:
    """The config as it is on disk now (same path, format and environment)."""
    try:
        text = regular_file.read_text(config.path)
    except FileNotFoundError:
        return Config({}, config.path, config.format, config.state_dir, config.env, exists=False,
                      sections=config.sections)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Invalid config at {config.path}: {exc}") from None
    data = parse_config_text(text, config.format, config.path)
    problems = list(validate_config(data, config.sections))
    if problems:
        raise ConfigError(f"Invalid config at {config.path}: " + "; ".join(problems))
    return Config(data, config.path, config.format, config.state_dir, config.env, sections=config.sections)


@contextmanager
def editing(config: Config, timeout: float = LOCK_TIMEOUT, cancel: CancelToken | None = None) -> Iterator[Config]:
    """Hold the config's lock; yield a fresh copy to change and :func:`write`.
    Waiting for another process's edit is a stage ``cancel`` can stop."""
    import time

    import filelock  # only commands that edit the config pay for it

    path = lock_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path), timeout=timeout, mode=0o600)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if cancel is not None:
                cancel.check()
            try:
                lock.acquire(timeout=min(0.1, max(0.0, deadline - time.monotonic())))
                break
            except filelock.Timeout:
                if time.monotonic() >= deadline:
                    raise
    except filelock.Timeout:
        raise ConfigError(f"timed out after {timeout:g}s waiting for the lock on {config.path} "
                          f"(another openclaw process is changing it; lock file {path})") from None
    try:
        yield reread(config)
    finally:
        lock.release()


def stamp_meta(data: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """``meta.lastTouchedVersion``/``lastTouchedAt`` set, other meta keys and the key order kept."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    out = dict(data)
    meta = dict(out["meta"]) if isinstance(out.get("meta"), Mapping) else {}
    meta["lastTouchedVersion"] = OPENCLAW_FORMAT_VERSION
    meta["lastTouchedAt"] = stamp
    out["meta"] = meta
    return out


def rotate_backups(path: Path) -> None:
    """Shift ``.bak`` -> ``.bak.1`` -> ... -> ``.bak.4`` (the oldest drops out);
    :func:`save_config` then copies the current file to ``.bak``."""
    base = str(path) + ".bak"
    last = BACKUP_COUNT - 1
    try:
        os.unlink(f"{base}.{last}")
    except FileNotFoundError:
        pass
    for index in range(last - 1, 0, -1):
        try:
            os.replace(f"{base}.{index}", f"{base}.{index + 1}")
        except FileNotFoundError:
            pass
    try:
        os.replace(base, f"{base}.1")
    except FileNotFoundError:
        pass


def write(config: Config, data: Mapping[str, Any]) -> list[str]:
    """Write ``data`` as the config (validated first; nothing is written if invalid).

    Returns the keys TOML could not hold (see :func:`save_config`).
    """
    problems = list(validate_config(data, config.sections))
    if problems:
        raise ConfigError(f"Invalid config for {config.path}: " + "; ".join(problems))
    if config.format == "json":
        data = stamp_meta(data)
    if config.path.exists():
        if config.format == "toml":
            return _edit_toml(config, data)
        rotate_backups(config.path)
    return save_config(config, data)


def _edit_toml(config: Config, data: Mapping[str, Any]) -> list[str]:
    """Apply ``data`` to the TOML file as written; same atomic replace, the file's own mode."""
    from openclaw_core.config.toml_edit import edit, same

    path = config.path
    original = path.read_bytes()
    mode = os.stat(path).st_mode & 0o7777
    text, dropped = edit(original.decode("utf-8"), data)
    expected, _ = render_config(data, "toml")
    if not same(parse_config_text(text, "toml", path), parse_config_text(expected, "toml", path)):
        # Never trade correctness for layout: the in-place edit must read back as the new config.
        rotate_backups(path)
        return save_config(config, data)
    rotate_backups(path)
    backup = path.with_name(path.name + ".bak")
    backup.write_bytes(original)
    os.chmod(backup, 0o600)
    write_private(path, text, mode=mode)
    config.data = parse_config_text(text, "toml", path)
    return dropped
