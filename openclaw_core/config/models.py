"""Model references in the config (``provider/model``): the defaults and the
reference's two ways of splitting one, in one place.

The CLI's listing and cleanup table split at the first slash only when both
sides are non-empty (``"/x"`` and ``"x/"`` stay whole models); the Gateway's
session rows split at any slash (its own resolver). Both trim as JS does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openclaw_core.js.values import js_trim

DEFAULT_PROVIDER = "openai"
DEFAULT_MODEL = "gpt-5.5"


def parse_model_ref(raw: str, default_provider: str) -> tuple[str, str]:
    """``provider/model`` with fallbacks, as the CLI's listing and cleanup table split it."""
    text = js_trim(raw)
    if not text:
        return default_provider, DEFAULT_MODEL
    slash = text.find("/")
    if slash <= 0 or slash == len(text) - 1:
        return default_provider, text
    return js_trim(text[:slash]) or default_provider, js_trim(text[slash + 1:]) or DEFAULT_MODEL


def primary_ref(value: Any) -> str | None:
    """A model setting's primary ref (a string, or ``{primary: ...}``), trimmed; None when blank."""
    if isinstance(value, Mapping):
        value = value.get("primary")
    return (js_trim(value) or None) if isinstance(value, str) else None


def split_gateway_ref(value: Any) -> tuple[str, str] | None:
    """The Gateway's split of a model setting: any slash divides provider from model."""
    text = primary_ref(value)
    if text is None:
        return None
    if "/" in text:
        provider, model = text.split("/", 1)
        return js_trim(provider) or DEFAULT_PROVIDER, js_trim(model)
    return DEFAULT_PROVIDER, text
