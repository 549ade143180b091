"""The device tokens a Gateway issues to the devices it accepted (server side).

A connect with a verified Ed25519 device identity (auto-approved, as OpenClaw
approves a direct loopback device) gets a token for its role in hello-ok
``auth.deviceToken`` with ``issuedAtMs``, on protocol 3 as on 4: the same token
while it still covers the scopes asked for, a new one (``rotatedAtMs``) when
the device asks for more. The token is then a credential of its own: a device
that signs its connect and sends it (``auth.deviceToken``, or ``auth.token``
once the shared token does not match) is let in for scopes within the token's.

Tokens are secrets: kept in ``<stateDir>/devices/device-tokens.json`` (mode
0600, in a 0700 directory when it creates it; beside the reference's
``devices/paired.json``, not in it; written atomically and fsynced), compared in
constant time, never logged, sent only to the connection of the device they
belong to. A file that does not parse is never overwritten: no token is issued
or accepted until it is fixed (logged once).
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw_core.base import regular_file
from openclaw_core.base.atomic import write_private

TOKENS_FILE = "device-tokens.json"
TOKEN_BYTES = 32  # 43 base64url characters, as the later OpenClaw's tokens


def tokens_path(state_dir: Path) -> Path:
    return state_dir / "devices" / TOKENS_FILE


def scopes_allow(requested: Iterable[str], granted: Iterable[str]) -> bool:
    """Whether ``granted`` covers every scope in ``requested`` (admin covers any
    operator scope, write covers read: the rule :func:`auth.authorize_method` applies)."""
    have = set(granted)
    for scope in requested:
        if scope in have:
            continue
        if scope.startswith("operator.") and "operator.admin" in have:
            continue
        if scope == "operator.read" and "operator.write" in have:
            continue
        return False
    return True


@dataclass(frozen=True)
class IssuedToken:
    token: str
    role: str
    scopes: tuple[str, ...]
    created_at_ms: int
    rotated_at_ms: int | None = None

    @property
    def issued_at_ms(self) -> int:
        return self.rotated_at_ms if self.rotated_at_ms is not None else self.created_at_ms

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"token": self.token, "role": self.role, "scopes": list(self.scopes),
                                "createdAtMs": self.created_at_ms}
        if self.rotated_at_ms is not None:
            data["rotatedAtMs"] = self.rotated_at_ms
        return data

    def __repr__(self) -> str:  # never the secret, whoever prints it
        return f"IssuedToken(role={self.role!r}, scopes={self.scopes!r}, issued_at_ms={self.issued_at_ms})"


class DeviceTokenUnavailable(Exception):
    """The token file cannot be used (does not parse, cannot be written)."""


class DeviceTokens:
    """The tokens of one state dir; thread-safe (connects run on the loop, writes on a pool thread)."""

    def __init__(self, path: Path, log: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._log = log or (lambda _line: None)
        self._lock = threading.Lock()
        self._devices: dict[str, dict[str, IssuedToken]] | None = None
        self._broken: str | None = None

    def _load(self) -> dict[str, dict[str, IssuedToken]]:
        if self._devices is not None:
            return self._devices
        if self._broken is not None:
            raise DeviceTokenUnavailable(self._broken)
        try:
            text = regular_file.read_text(self.path)
        except FileNotFoundError:
            self._devices = {}
            return self._devices
        except (OSError, UnicodeDecodeError) as exc:
            return self._fail(f"cannot read {self.path}: {getattr(exc, 'strerror', None) or exc}")
        try:
            self._devices = _parse(json.loads(text))
        except (ValueError, TypeError, KeyError) as exc:
            return self._fail(f"{self.path} does not parse ({exc}); not issuing or accepting device tokens "
                              "until it is fixed or removed")
        return self._devices

    def _fail(self, message: str) -> Any:
        self._broken = message
        self._log(f"[gateway] device tokens unavailable: {message}")
        raise DeviceTokenUnavailable(message)

    def verify(self, device_id: str, role: str, token: str, scopes: Iterable[str]) -> bool:
        """Whether ``token`` is the device's token for ``role`` and covers ``scopes``."""
        with self._lock:
            try:
                entry = self._load().get(device_id, {}).get(role)
            except DeviceTokenUnavailable:
                return False
        if entry is None:
            # Still one constant-time compare, so a miss costs what a mismatch costs.
            hmac.compare_digest(token.encode("utf-8"), b"x" * (TOKEN_BYTES * 4 // 3 + 1))
            return False
        if not hmac.compare_digest(token.encode("utf-8"), entry.token.encode("utf-8")):
            return False
        return scopes_allow(scopes, entry.scopes)

    def ensure(self, device_id: str, role: str, scopes: Iterable[str]) -> IssuedToken | None:
        """The device's token for ``role`` covering ``scopes``: the stored one, or a new one
        (persisted before it is returned). None when the file cannot be used."""
        wanted = tuple(scopes)
        with self._lock:
            try:
                devices = self._load()
            except DeviceTokenUnavailable:
                return None
            existing = devices.get(device_id, {}).get(role)
            if existing is not None and scopes_allow(wanted, existing.scopes):
                return existing
            now = int(time.time() * 1000)
            issued = IssuedToken(secrets.token_urlsafe(TOKEN_BYTES), role, wanted,
                                 existing.created_at_ms if existing else now, now if existing else None)
            updated = {**devices, device_id: {**devices.get(device_id, {}), role: issued}}
            try:
                self._write(updated)
            except OSError as exc:
                self._log(f"[gateway] device token not issued: cannot write {self.path}: {exc.strerror or exc}")
                return None
            self._devices = updated
            return issued

    def _write(self, devices: dict[str, dict[str, IssuedToken]]) -> None:
        data = {"version": 1, "devices": {device_id: {"tokens": {role: t.to_json() for role, t in roles.items()}}
                                          for device_id, roles in devices.items()}}
        write_private(self.path, json.dumps(data, indent=2) + "\n", dir_mode=0o700)



def _parse(data: Any) -> dict[str, dict[str, IssuedToken]]:
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("devices"), dict):
        raise ValueError("expected {version: 1, devices: {...}}")
    devices: dict[str, dict[str, IssuedToken]] = {}
    for device_id, device in data["devices"].items():
        roles: dict[str, IssuedToken] = {}
        for role, entry in device["tokens"].items():
            token, scopes, created = entry["token"], entry["scopes"], entry["createdAtMs"]
            rotated = entry.get("rotatedAtMs")
            if not (isinstance(token, str) and token and isinstance(scopes, list)
                    and all(isinstance(s, str) for s in scopes) and isinstance(created, int)
                    and (rotated is None or isinstance(rotated, int))):
                raise ValueError(f"device {device_id} role {role}: malformed token entry")
            roles[role] = IssuedToken(token, role, tuple(scopes), created, rotated)
        devices[device_id] = roles
    return devices
