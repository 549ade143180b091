"""Ed25519 device identities, stored and signed the way OpenClaw's CLI does.

The key pair lives in ``<stateDir>/identity/device.json`` (``version: 1``,
``deviceId``, ``publicKeyPem``, ``privateKeyPem``, ``createdAtMs``; mode 0600),
so our CLI and OpenClaw's share one identity and a Gateway that paired one
knows the other. ``deviceId`` is the hex SHA-256 of the raw 32-byte public key.
A connect signs ``v3|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce|platform|deviceFamily``.
``cryptography`` is imported inside the functions that need it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw_core.base import regular_file
from openclaw_core.base.atomic import write_private
from openclaw_core.js.values import js_trim

IDENTITY_DIR = "identity"
IDENTITY_FILE = "device.json"


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    cleaned = text.strip().replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


def fingerprint(raw_public_key: bytes) -> str:
    return hashlib.sha256(raw_public_key).hexdigest()


def _metadata_for_auth(value: str | None) -> str:
    # Trimmed and lower-cased (ASCII only), "" when absent.
    trimmed = js_trim(value or "")
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in trimmed)


def auth_payload_v3(*, device_id: str, client_id: str, client_mode: str, role: str, scopes: list[str],
                    signed_at_ms: int, token: str | None, nonce: str, platform: str | None,
                    device_family: str | None) -> str:
    return "|".join(["v3", device_id, client_id, client_mode, role, ",".join(scopes), str(signed_at_ms),
                     token or "", nonce, _metadata_for_auth(platform), _metadata_for_auth(device_family)])


def auth_payload_v2(*, device_id: str, client_id: str, client_mode: str, role: str, scopes: list[str],
                    signed_at_ms: int, token: str | None, nonce: str) -> str:
    return "|".join(["v2", device_id, client_id, client_mode, role, ",".join(scopes), str(signed_at_ms),
                     token or "", nonce])


def raw_public_key(public_key: str) -> bytes | None:
    """The 32 raw bytes of a base64url key or a PEM (SPKI) key; None if unusable."""
    try:
        if "BEGIN" in public_key:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

            key = serialization.load_pem_public_key(public_key.encode())
            if not isinstance(key, Ed25519PublicKey):
                return None
            return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        raw = b64url_decode(public_key)
    except Exception:  # noqa: BLE001 - any malformed key is just "invalid"
        return None
    return raw if len(raw) == 32 else None


def verify_signature(raw_key: bytes, payload: str, signature: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(b64url_decode(signature), payload.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class DeviceIdentity:
    device_id: str
    public_key_pem: str
    private_key_pem: str

    @property
    def public_key_b64url(self) -> str:
        raw = raw_public_key(self.public_key_pem)
        assert raw is not None
        return b64url_encode(raw)

    def sign(self, payload: str) -> str:
        from cryptography.hazmat.primitives import serialization

        key: Any = serialization.load_pem_private_key(self.private_key_pem.encode(), password=None)
        return b64url_encode(key.sign(payload.encode("utf-8")))


def identity_path(state_dir: Path) -> Path:
    return state_dir / IDENTITY_DIR / IDENTITY_FILE


def _generate() -> DeviceIdentity:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return DeviceIdentity(
        device_id=fingerprint(raw),
        public_key_pem=public.public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        private_key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode(),
    )


def load_identity(path: Path) -> DeviceIdentity | None:
    """The stored identity, or None when missing or not usable (wrong version, id mismatch)."""
    try:
        data = json.loads(regular_file.read_text(path))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != 1:
        return None
    device_id, public_pem, private_pem = data.get("deviceId"), data.get("publicKeyPem"), data.get("privateKeyPem")
    if not all(isinstance(v, str) for v in (device_id, public_pem, private_pem)):
        return None
    raw = raw_public_key(public_pem)
    if raw is None or fingerprint(raw) != device_id:
        return None
    return DeviceIdentity(device_id, public_pem, private_pem)


def load_or_create_identity(state_dir: Path) -> DeviceIdentity:
    """The CLI's identity under ``state_dir``, created (0600) on first use."""
    path = identity_path(state_dir)
    identity = load_identity(path)
    if identity is not None:
        return identity
    identity = _generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = {"version": 1, "deviceId": identity.device_id, "publicKeyPem": identity.public_key_pem,
              "privateKeyPem": identity.private_key_pem, "createdAtMs": int(time.time() * 1000)}
    write_private(path, json.dumps(stored, indent=2) + "\n")
    return identity
