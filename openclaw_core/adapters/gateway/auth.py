"""The connect decision: shared-token auth, device identity, scopes.

Rules (OpenClaw's, for the token auth mode this Gateway implements):

* With a token configured, ``auth.token`` must match it (constant-time
  compare). Without one configured (loopback only) no shared secret is checked.
* A client without a device identity is let in only with the right shared
  token; otherwise a wrong token is ``unauthorized`` and a missing one is
  ``NOT_PAIRED`` / ``device identity required``. Device-less clients keep their
  scopes only as ``gateway-client`` in ``backend`` mode, or as the ``cli`` client
  on protocol 4 (scopes are bound to a device otherwise).
* A device identity, when present, must verify: id = SHA-256 of the key,
  ``signedAt`` within 2 minutes, the challenge nonce, an Ed25519 signature over
  the v3 (or legacy v2) payload.
* A verified device whose shared token is missing or wrong is let in with its
  device token (``auth.deviceToken``, or ``auth.token``) when it matches the one
  issued to it for that role and covers the scopes asked for (``device_tokens.py``).
Every rejection is an error shape plus the close code and reason to send.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openclaw_core.engine.wire import identity
from openclaw_core.engine.wire.protocol import CLOSE_POLICY, ErrorCodes, error_shape
from openclaw_core.js.values import js_trim

DEVICE_SIGNATURE_SKEW_MS = 120_000
ROLES = ("operator", "node")
CLI_CLIENT_IDS = ("cli",)
UI_CLIENT_IDS = ("openclaw-control-ui", "webchat-ui", "webchat")


@dataclass
class Accepted:
    role: str
    scopes: list[str]
    auth_method: str            # "token" | "none" | "device-token"
    device_id: str | None


@dataclass
class Rejected:
    error: dict[str, Any]
    close_code: int
    close_reason: str


def _truncate_reason(text: str, limit: int = 120) -> str:
    # A close reason must fit in a control frame (123 bytes of UTF-8).
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", "ignore")


def _token_hint(client: dict[str, Any]) -> str:
    client_id = client.get("id")
    if client_id in CLI_CLIENT_IDS:
        return "set gateway.remote.token to match gateway.auth.token"
    if client_id in UI_CLIENT_IDS:
        return "open the dashboard URL and paste the token in Control UI settings"
    return "provide gateway auth token"


def _unauthorized(reason: str, client: dict[str, Any], has_device: bool, provided_token: bool,
                  sent_device_token: bool = False) -> Rejected:
    hint = _token_hint(client)
    message = {
        "token_missing": f"unauthorized: gateway token missing ({hint})",
        "token_mismatch": f"unauthorized: gateway token mismatch ({hint})",
        "device_token_mismatch": "unauthorized: device token mismatch (rotate/reissue device token)",
    }.get(reason, "unauthorized")
    code = {"token_missing": "AUTH_TOKEN_MISSING", "token_mismatch": "AUTH_TOKEN_MISMATCH",
            "device_token_mismatch": "AUTH_DEVICE_TOKEN_MISMATCH"}.get(reason, "AUTH_UNAUTHORIZED")
    can_retry = reason == "token_mismatch" and has_device and provided_token and not sent_device_token
    next_step = ("retry_with_device_token" if can_retry else
                 "update_auth_configuration" if reason == "token_missing" else
                 "update_auth_credentials" if reason in ("token_mismatch", "device_token_mismatch")
                 else "review_auth_configuration")
    error = error_shape(ErrorCodes.INVALID_REQUEST, message, details={
        "code": code, "authReason": reason, "canRetryWithDeviceToken": can_retry,
        "recommendedNextStep": next_step})
    return Rejected(error, CLOSE_POLICY, _truncate_reason(message))


def _device_invalid(reason: str, message: str) -> Rejected:
    code = {
        "device-id-mismatch": "DEVICE_AUTH_DEVICE_ID_MISMATCH",
        "device-signature-stale": "DEVICE_AUTH_SIGNATURE_EXPIRED",
        "device-nonce-missing": "DEVICE_AUTH_NONCE_REQUIRED",
        "device-nonce-mismatch": "DEVICE_AUTH_NONCE_MISMATCH",
        "device-signature": "DEVICE_AUTH_SIGNATURE_INVALID",
        "device-public-key": "DEVICE_AUTH_PUBLIC_KEY_INVALID",
    }.get(reason, "DEVICE_AUTH_INVALID")
    return Rejected(error_shape(ErrorCodes.INVALID_REQUEST, message, details={"code": code, "reason": reason}),
                    CLOSE_POLICY, message)


def _verify_device(device: dict[str, Any], params: dict[str, Any], role: str, scopes: list[str],
                   nonce: str, now_ms: int) -> Rejected | None:
    raw = identity.raw_public_key(device["publicKey"])
    if raw is None or identity.fingerprint(raw) != device["id"]:
        return _device_invalid("device-id-mismatch", "device identity mismatch")
    signed_at = device.get("signedAt")
    if not isinstance(signed_at, int) or abs(now_ms - signed_at) > DEVICE_SIGNATURE_SKEW_MS:
        return _device_invalid("device-signature-stale", "device signature expired")
    provided_nonce = js_trim(str(device.get("nonce") or ""))
    if not provided_nonce:
        return _device_invalid("device-nonce-missing", "device nonce required")
    if provided_nonce != nonce:
        return _device_invalid("device-nonce-mismatch", "device nonce mismatch")
    auth = params.get("auth") or {}
    token = auth.get("token") or auth.get("deviceToken") or auth.get("bootstrapToken")
    client = params["client"]
    common = dict(device_id=device["id"], client_id=client["id"], client_mode=client["mode"], role=role,
                  scopes=scopes, signed_at_ms=signed_at, token=token, nonce=provided_nonce)
    v3 = identity.auth_payload_v3(**common, platform=client.get("platform"), device_family=client.get("deviceFamily"))
    if not (identity.verify_signature(raw, v3, device["signature"])
            or identity.verify_signature(raw, identity.auth_payload_v2(**common), device["signature"])):
        return _device_invalid("device-signature", "device signature invalid")
    return None


# (device id, role, token, scopes asked for) -> is it that device's token for them?
DeviceTokenCheck = Callable[[str, str, str, list[str]], bool]


def decide(params: dict[str, Any], *, nonce: str, configured_token: str | None,
           now_ms: int | None = None, protocol_version: int = 3,
           device_token_ok: DeviceTokenCheck | None = None) -> Accepted | Rejected:
    """Accept or reject a schema-valid ``connect`` (``protocol_version`` is the negotiated one)."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    client = params["client"]
    role = params.get("role") or "operator"
    if role not in ROLES:
        return Rejected(error_shape(ErrorCodes.INVALID_REQUEST, "invalid role"), CLOSE_POLICY, "invalid role")
    scopes = list(params.get("scopes") or [])
    device = params.get("device")
    auth = params.get("auth") or {}
    provided = auth.get("token") or ""
    if configured_token:
        if not provided:
            auth_ok, reason = False, "token_missing"
        elif hmac.compare_digest(provided.encode("utf-8"), configured_token.encode("utf-8")):
            auth_ok, reason = True, None
        else:
            auth_ok, reason = False, "token_mismatch"
        shared_ok = auth_ok
        method = "token"
    else:
        auth_ok, reason, shared_ok, method = True, None, False, "none"
    if device is None:
        if role == "operator" and shared_ok:
            backend = client.get("id") == "gateway-client" and client.get("mode") == "backend"
            # The later OpenClaw's CLI calls `gateway call --url` device-less over v4, and its
            # Gateway keeps that CLI's scopes (recorded from 2026.9.6); no new power: the
            # shared token already grants any scope to a backend client.
            later_cli = protocol_version >= 4 and client.get("id") in CLI_CLIENT_IDS
            return Accepted(role, scopes if backend or later_cli else [], method, None)
        if not auth_ok and provided:
            return _unauthorized(reason or "unauthorized", client, False, True)
        return Rejected(error_shape(ErrorCodes.NOT_PAIRED, "device identity required",
                                    details={"code": "DEVICE_IDENTITY_REQUIRED"}),
                        CLOSE_POLICY, "device identity required")
    problem = _verify_device(device, params, role, scopes, nonce, now)
    if problem is not None:
        return problem
    if not auth_ok:
        # Only a signed device may use a device token (the signature covers it).
        explicit = auth.get("deviceToken") or ""
        candidate = explicit or provided
        if candidate and device_token_ok is not None and device_token_ok(device["id"], role, candidate, scopes):
            return Accepted(role, scopes, "device-token", device["id"])
        if explicit:
            return _unauthorized("device_token_mismatch", client, True, bool(provided), True)
        return _unauthorized(reason or "unauthorized", client, True, bool(provided))
    return Accepted(role, scopes, method, device["id"])


def authorize_method(role: str, scopes: list[str], required: str | None) -> str | None:
    """The missing scope for a call, or None when allowed."""
    if required is None:
        return None
    if role != "operator":
        return f"unauthorized role: {role}"
    if "operator.admin" in scopes:
        return None
    if required == "operator.read" and ("operator.read" in scopes or "operator.write" in scopes):
        return None
    if required in scopes:
        return None
    return f"missing scope: {required}"
