"""The redaction rule of config.get (docs/gateway.md, Redaction), key by key;
tests/test_hostile_gateway.py checks it through a real Gateway."""

from __future__ import annotations

import pytest

from openclaw_core.adapters.gateway.redact import REDACTED, is_sensitive_key, redact


@pytest.mark.parametrize("name", [
    "token", "appToken", "bot_token", "signingSecret", "client_secret", "appPassword", "passwd", "pwd",
    "dsn", "postgresDsn", "credentials", "Authorization", "apiKey", "api_key", "API-KEY", "apiKeys",
    "privateKey", "OPENAI_API_KEY", "key", "webhookSecret", "passwordFile", "cookie"])
def test_names_that_say_secret_are_sensitive(name):
    assert is_sensitive_key(name)


@pytest.mark.parametrize("name", [
    "mainKey", "sessionKey", "activeKey", "publicKey", "keyPrefix", "keyFile", "monkey", "tokenizer",
    "mode", "baseUrl", "headersTimeout", ""])
def test_names_that_do_not_are_kept(name):
    assert not is_sensitive_key(name)


def test_values_under_a_sensitive_key():
    config = {"maxTokens": 8192, "totalTokens": 0, "token": "", "apiKeys": ["a", {"k": "b", "n": 2}],
              "secret": None, "passwordEnabled": True}
    assert redact(config) == {"maxTokens": 8192, "totalTokens": 0, "token": "",
                              "apiKeys": [REDACTED, {"k": REDACTED, "n": 2}], "secret": None,
                              "passwordEnabled": True}


def test_urls_headers_and_libpq_strings_anywhere():
    config = {"store": "postgresql://oc:pw@db/oc", "mirror": "https://tok@git.example/x.git",
              "plain": "https://git.example/x?page=2&access_token=t", "conn": "host=db password='p w' dbname=oc",
              "mail": "user@example.com", "list": [{"requestHeaders": {"X-Api": "v"}}]}
    assert redact(config) == {
        "store": f"postgresql://oc:{REDACTED}@db/oc", "mirror": f"https://{REDACTED}@git.example/x.git",
        "plain": f"https://git.example/x?page=2&access_token={REDACTED}",
        "conn": f"host=db password={REDACTED} dbname=oc",
        "mail": "user@example.com", "list": [{"requestHeaders": {"X-Api": REDACTED}}]}
    assert config["store"] == "postgresql://oc:pw@db/oc"  # the input is left as it was
