"""Where a client keeps the device token a Gateway issued it (client side).

OpenClaw 2026.5.4's CLI format, so either CLI can use the other's token:
``<stateDir>/identity/device-auth.json`` = ``{"version": 1, "deviceId": ...,
"tokens": {<role>: {"token", "role", "scopes", "updatedAtMs"}}}``, mode 0600,
written atomically. (The later OpenClaw 2026.9.6 keeps it in its SQLite state
database instead and asks for ``doctor --fix`` to import a file it finds.)

A token is a secret: it is never printed; a file that does not parse is left
as it is (nothing stored) rather than overwritten.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw_core.base import regular_file
from openclaw_core.base.atomic import write_private

DEVICE_AUTH_FILE = "device-auth.json"


def device_auth_path(state_dir: Path) -> Path:
    return state_dir / "identity" / DEVICE_AUTH_FILE


@dataclass(frozen=True)
class StoredToken:
    token: str
    role: str
    scopes: tuple[str, ...]
    updated_at_ms: int

    def __repr__(self) -> str:  # never the secret
        return f"StoredToken(role={self.role!r}, scopes={self.scopes!r}, updated_at_ms={self.updated_at_ms})"


class UnreadableStore(Exception):
    pass


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(regular_file.read_text(path))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UnreadableStore(f"{path}: {exc}") from None
    if (not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("deviceId"), str)
            or not isinstance(data.get("tokens"), dict)):
        raise UnreadableStore(f"{path}: not a version 1 device-auth store")
    return data


def load_token(path: Path, device_id: str, role: str = "operator") -> StoredToken | None:
    """The stored token of ``device_id`` for ``role``, or None (none, another device's, unreadable)."""
    try:
        data = _read(path)
    except UnreadableStore:
        return None
    if data is None or data["deviceId"] != device_id:
        return None
    entry = data["tokens"].get(role)
    if not isinstance(entry, dict) or not isinstance(entry.get("token"), str) or not entry["token"]:
        return None
    scopes = entry.get("scopes") if isinstance(entry.get("scopes"), list) else []
    updated = entry.get("updatedAtMs") if isinstance(entry.get("updatedAtMs"), int) else 0
    return StoredToken(entry["token"], role, tuple(s for s in scopes if isinstance(s, str)), updated)


def store_token(path: Path, device_id: str, role: str, token: str, scopes: list[str]) -> bool:
    """Keep ``token`` for ``device_id``/``role`` (other roles of the same device kept).
    False when the existing file could not be read (it is left untouched)."""
    try:
        data = _read(path)
    except UnreadableStore:
        return False
    tokens = dict(data["tokens"]) if data is not None and data["deviceId"] == device_id else {}
    tokens[role] = {"token": token, "role": role, "scopes": list(scopes), "updatedAtMs": int(time.time() * 1000)}
    stored = {"version": 1, "deviceId": device_id, "tokens": tokens}
    write_private(path, json.dumps(stored, indent=2) + "\n", dir_mode=0o700)
    return True
