"""What ``config.get`` may show: the config with every secret replaced by
OpenClaw's redaction marker.

Secrets never leave the host through the Gateway, whatever the caller's scope
(admin included): a client that needs a credential reads the file on the host.

The rule (docs/gateway.md, "Redaction"):

* a **sensitive key** is one whose name, split into words (camelCase, ``_``,
  ``-``, ``.``, case-insensitive), has a word ``secret``, ``token``,
  ``password``, ``passwd``, ``passphrase``, ``credential``, ``dsn``,
  ``authorization``, ``cookie`` (each also plural), ``apikey``, or ends in the
  word ``key``/``keys`` (``apiKey``, ``privateKey``, ``signingKey``, ``key``),
  except the keys that name *session keys* (``mainKey``, ``sessionKey``,
  ``activeKey``) or a ``publicKey``;
* under a sensitive key every string is replaced, nested objects and lists
  included (``apiKeys: ["a", "b"]`` -> two markers); numbers, booleans and null
  are kept (``maxTokens: 8192``, ``contextTokens``, ``totalTokens`` are counters,
  not secrets); an empty string stays empty (there is nothing to hide);
* every value of a ``headers`` object (any depth) is replaced;
* any string that is a URL with userinfo (``postgresql://u:pw@host/db``) keeps
  its user and loses its password; userinfo without a password
  (``https://TOKEN@host``) is replaced whole; query parameters with a sensitive
  name (``?password=``, ``?access_token=``) lose their value;
* a libpq-style ``password=...`` inside any string loses its value.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "__OPENCLAW_REDACTED__"  # OpenClaw's own marker (its config snapshot redaction)

_SECRET_WORDS = frozenset({
    "secret", "secrets", "token", "tokens", "password", "passwords", "passwd", "pwd", "passphrase",
    "credential", "credentials", "dsn", "dsns", "authorization", "cookie", "cookies", "apikey", "apikeys",
})
_KEY_WORDS = frozenset({"key", "keys"})
# A last word "key" after one of these names something that is no credential.
_NOT_SECRET_BEFORE_KEY = frozenset({"main", "session", "active", "public"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_URL_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^@/?#\s]*)@")
_QUERY_PARAM = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&#;\s]+)=(?P<value>[^&#;\s]*)")
_LIBPQ_PASSWORD = re.compile(r"(?i)\b(?P<name>password|passwd|pwd)\s*=\s*(?P<value>'(?:[^'\\]|\\.)*'|[^\s;]+)")


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def is_sensitive_key(name: str) -> bool:
    """Does a config key's name say it holds a secret? (the rule above)"""
    words = _words(name)
    if not words:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    if "".join(words) in _SECRET_WORDS:  # "api_key", "API-KEY", "apikey"
        return True
    if words[-1] in _KEY_WORDS:
        return not (len(words) >= 2 and words[-2] in _NOT_SECRET_BEFORE_KEY)
    return False


def _is_headers_key(name: str) -> bool:
    words = _words(name)
    return bool(words) and words[-1] == "headers"


def redact_string(text: str) -> str:
    """A string outside a sensitive key: only URL userinfo, sensitive query
    parameters and ``password=`` pairs go."""
    if "@" in text or "=" in text:
        match = _URL_USERINFO.match(text)
        if match is not None and match.group("userinfo"):
            user, sep, _password = match.group("userinfo").partition(":")
            userinfo = f"{user}:{REDACTED}" if sep else REDACTED
            text = match.group("scheme") + userinfo + "@" + text[match.end():]
        if "=" in text:
            if "://" in text:
                text = _QUERY_PARAM.sub(_redact_query_param, text)
            text = _LIBPQ_PASSWORD.sub(lambda m: f"{m.group('name')}={REDACTED}", text)
    return text


def _redact_query_param(match: re.Match[str]) -> str:
    if match.group("value") and is_sensitive_key(match.group("name")):
        return f"{match.group('lead')}{match.group('name')}={REDACTED}"
    return match.group(0)


def _hide(value: Any) -> Any:
    """Everything under a sensitive key: strings go, numbers/booleans/null stay."""
    if isinstance(value, str):
        return REDACTED if value else value
    if isinstance(value, dict):
        return {k: _hide(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v) for v in value]
    return value


def redact(value: Any) -> Any:
    """A redacted copy of a JSON value (the input is not modified)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and (is_sensitive_key(key) or _is_headers_key(key)):
                out[key] = _hide(item)
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_string(value)
    return value
