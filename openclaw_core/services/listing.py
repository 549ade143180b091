"""Rows of ``openclaw sessions``: what each stored entry lists as, in which
order, and the JSON document around them (spec section 9).

Everything here is the reference's ``sessions`` command rule for rule:
the display model and provider (defaults per agent, overrides, CLI providers),
the context window fallbacks, ``agentRuntime``, ``kind``, newest-first order
with the reference's tie and oddity behaviour, ``--active`` and ``--limit``.
Values are copied as stored, of any JSON type, and coerced the JS way only
where the reference computes with them (``ageMs``, sorting).

:class:`ListingContext` holds what the config decides once per command; the
Gateway's ``sessions.list`` can reuse it and :func:`display_model_ref`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from openclaw_core.js import values as js
from openclaw_core.base.record import Record
from openclaw_core.config.model import Config
from openclaw_core.config.models import DEFAULT_MODEL, DEFAULT_PROVIDER, parse_model_ref  # noqa: F401 - re-exported
from openclaw_core.js.json import MAX_SAFE_INTEGER
from openclaw_core.js.values import js_trim
from openclaw_core.base.keys import normalize_agent_id, parse_agent_session_key, session_kind
from openclaw_core.engine.store.normalize import normalize_model_fields

DEFAULT_CONTEXT_TOKENS = 200_000
DEFAULT_LIMIT = 100
_ABSENT = object()
#: up to this limit the reference picks rows by insertion, beyond it sorts everything
TOP_N_SELECTION_LIMIT = 200

#: the CLI backends the reference's bundled plugins declare (anthropic, openai, google)
BUNDLED_CLI_PROVIDERS = frozenset({"claude-cli", "codex-cli", "google-gemini-cli"})

#: entry fields a row copies when the entry has them, in the row's key order;
#: totalTokens, totalTokensFresh, model, modelProvider and contextTokens are
#: always present in JSON (derived), the rest only when stored
ROW_FIELDS = (
    "sessionId", "systemSent", "abortedLastRun", "thinkingLevel", "verboseLevel", "traceLevel",
    "reasoningLevel", "elevatedLevel", "responseUsage", "groupActivation", "inputTokens", "outputTokens",
    "totalTokens", "totalTokensFresh", "model", "modelProvider", "providerOverride", "modelOverride",
    "contextTokens",
)
DERIVED_FIELDS = frozenset({"totalTokens", "totalTokensFresh", "model", "modelProvider", "contextTokens"})

_PROVIDER_ALIASES = {
    "modelstudio": "qwen", "qwencloud": "qwen", "z.ai": "zai", "z-ai": "zai", "opencode-zen": "opencode",
    "opencode-go-auth": "opencode-go", "kimi-code": "kimi", "kimi-coding": "kimi", "bedrock": "amazon-bedrock",
    "aws-bedrock": "amazon-bedrock", "bytedance": "volcengine", "doubao": "volcengine",
}


def now_ms() -> int:
    """``Date.now()``."""
    return time.time_ns() // 1_000_000


# --- small reference helpers ------------------------------------------------------------------

def _opt_str(value: Any) -> str | None:
    """A trimmed non-empty string, else None (``normalizeOptionalString``)."""
    if not isinstance(value, str):
        return None
    return js_trim(value) or None


def primary_model_value(model: Any) -> str | None:
    """A model setting as written in config: ``"p/m"`` or ``{"primary": "p/m"}``."""
    if isinstance(model, str):
        return _opt_str(model)
    return _opt_str(model.get("primary")) if isinstance(model, dict) else None


def normalize_provider_id(provider: Any) -> str:
    lowered = (_opt_str(provider) or "").lower()
    return _PROVIDER_ALIASES.get(lowered, lowered)


def normalize_runtime_id(value: Any) -> str | None:
    """An agent runtime id: trimmed, lower-cased, ``codex-app-server`` read as ``codex``."""
    normalized = (_opt_str(value) or "").lower()
    if not normalized:
        return None
    return "codex" if normalized == "codex-app-server" else normalized


# --- what the config decides ------------------------------------------------------------------

class ListingContext:
    """Config-derived answers, computed once per command (or Gateway request)."""

    def __init__(self, config: Config, env: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.env: Mapping[str, str] = env or config.env
        self._default_refs: dict[str | None, tuple[str, str]] = {}
        self._runtimes: dict[str, dict[str, str]] = {}
        self._model_refs: dict[tuple[Any, ...], tuple[str, str]] = {}
        cfg = config
        self.configured_context_tokens: Any = cfg.get("agents.defaults.contextTokens")
        self.context_windows = _configured_context_windows(cfg.get("models.providers"))
        backends = cfg.get("agents.defaults.cliBackends")
        self.cli_providers = BUNDLED_CLI_PROVIDERS | (
            {normalize_provider_id(k) for k in backends} if isinstance(backends, dict) else set())
        default_model = self.default_ref(None)[1]
        configured = self.configured_context_tokens
        self.fallback_context_tokens: Any = (
            configured if configured is not None
            else self.context_windows.get(default_model, DEFAULT_CONTEXT_TOKENS))

    # -- models --------------------------------------------------------------------------------

    def default_ref(self, agent_segment: str | None) -> tuple[str, str]:
        """The default (provider, model) of rows whose key names ``agent_segment``
        (compared with the configured ``id`` exactly, as the reference does)."""
        cached = self._default_refs.get(agent_segment)
        if cached is None:
            model = None
            if agent_segment:
                for agent in self.config.agents_list():
                    if agent.get("id") == agent_segment:
                        model = primary_model_value(agent.get("model"))
                        break
            if model is None:
                model = primary_model_value(self.config.get("agents.defaults.model"))
            cached = parse_model_ref(model or DEFAULT_MODEL, DEFAULT_PROVIDER)
            self._default_refs[agent_segment] = cached
        return cached

    def is_cli_provider(self, provider: str) -> bool:
        return normalize_provider_id(provider) in self.cli_providers

    def infer_unique_provider(self, model: str) -> str | None:
        """The one configured provider offering ``model`` (agents.defaults.models
        keys, models.providers), or None when none or several do."""
        wanted = js_trim(model)
        if not wanted:
            return None
        lowered = wanted.lower()
        providers: list[str] = []

        def add(provider: Any) -> None:
            normalized = normalize_provider_id(provider)
            if normalized and normalized not in providers:
                providers.append(normalized)

        configured = self.config.get("agents.defaults.models")
        if isinstance(configured, dict):
            for key in configured:
                ref = js_trim(key)
                slash = ref.find("/")
                if slash == -1:
                    continue
                provider, model_id = js_trim(ref[:slash]), js_trim(ref[slash + 1:])
                if not provider or not model_id:
                    continue
                if model_id == wanted or model_id.lower() == lowered:
                    add(provider)
                    if len(providers) > 1:
                        return None
        configured_providers = self.config.get("models.providers")
        if isinstance(configured_providers, dict):
            for provider_id, provider in configured_providers.items():
                models = provider.get("models") if isinstance(provider, dict) else None
                if not isinstance(models, list):
                    continue
                for entry in models:
                    model_id = _opt_str(entry.get("id")) if isinstance(entry, dict) else None
                    if model_id and (model_id == wanted or model_id.lower() == lowered):
                        add(provider_id)
                if len(providers) > 1:
                    return None
        return providers[0] if len(providers) == 1 else None

    def real_provider_ref(self, ref: tuple[str, str], default: tuple[str, str]) -> tuple[str, str]:
        # A CLI backend is a way to run a model, not where it comes from: show the real provider.
        provider, model = ref
        if not self.is_cli_provider(provider):
            return ref
        if "/" in model:
            parsed = parse_model_ref(model, default[0])
            if not self.is_cli_provider(parsed[0]):
                return parsed
        inferred = self.infer_unique_provider(model)
        if inferred and not self.is_cli_provider(inferred):
            return inferred, model
        parsed = parse_model_ref(model, default[0])
        if not self.is_cli_provider(parsed[0]):
            return parsed
        return default[0] or provider, parsed[1] or model

    def context_tokens_for(self, model: str) -> Any:
        """The configured context window of a display model id, or None."""
        return self.context_windows.get(model) if model else None

    # -- agents --------------------------------------------------------------------------------

    def agent_runtime(self, agent_id: str) -> dict[str, str]:
        """``{id, source}``: the environment, the agent's config, the defaults, else pi."""
        cached = self._runtimes.get(agent_id)
        if cached is None:
            cached = self._resolve_runtime(agent_id)
            self._runtimes[agent_id] = cached
        return dict(cached)

    def _resolve_runtime(self, agent_id: str) -> dict[str, str]:
        from_env = normalize_runtime_id(self.env.get("OPENCLAW_AGENT_RUNTIME"))
        if from_env:
            return {"id": from_env, "source": "env"}
        wanted = normalize_agent_id(agent_id)
        for agent in self.config.agents_list():
            raw_id = agent.get("id")
            if normalize_agent_id(raw_id if isinstance(raw_id, str) else None) == wanted:
                runtime = _runtime_policy_id(agent)
                if runtime:
                    return {"id": runtime, "source": "agent"}
                break
        runtime = _runtime_policy_id(self.config.get("agents.defaults"))
        if runtime:
            return {"id": runtime, "source": "defaults"}
        return {"id": "pi", "source": "implicit"}


def _runtime_policy_id(container: Any) -> str | None:
    policy = container.get("agentRuntime") if isinstance(container, dict) else None
    return normalize_runtime_id(policy.get("id")) if isinstance(policy, dict) else None


def _configured_context_windows(providers: Any) -> dict[str, Any]:
    """model id -> context window from ``models.providers.*.models[]``.

    The reference's config loader gives every configured model a
    ``contextWindow`` (200000 unless a positive one is set), so a model's own
    ``contextTokens`` or that window always wins over the provider's; a later
    provider's entry for the same id replaces an earlier one.
    """
    windows: dict[str, Any] = {}
    if not isinstance(providers, dict):
        return windows
    for provider in providers.values():
        models = provider.get("models") if isinstance(provider, dict) else None
        if not isinstance(models, list):
            continue
        for model in models:
            if not isinstance(model, dict):
                continue
            model_id = model.get("id")
            if not isinstance(model_id, str) or not model_id:
                continue
            tokens = model.get("contextTokens")
            if not js.is_number(tokens):
                window = model.get("contextWindow")
                tokens = window if js.is_number(window) and math.isfinite(js.to_number(window)) and window > 0 \
                    else DEFAULT_CONTEXT_TOKENS
            if not js.truthy(tokens) or tokens <= 0:
                continue
            windows[model_id] = tokens
    return windows


# --- rows --------------------------------------------------------------------------------------

def display_model_ref(ctx: ListingContext, key: str, fields: Mapping[str, Any]) -> tuple[str, str]:
    """(provider, model) a row shows: the stored override, else the runtime
    model, else the default model of the key's agent."""
    default = ctx.default_ref(key.split(":")[1] if key.startswith("agent:") else None)
    provider_override = fields.get("providerOverride")
    model_override = fields.get("modelOverride")
    # Non-strings: the reference would crash on them; we read them as not set.
    provider_override = js_trim(provider_override) if isinstance(provider_override, str) else None
    model_override = js_trim(model_override) if isinstance(model_override, str) else None
    if provider_override and model_override:
        prefix = provider_override.lower() + "/"
        if model_override.lower().startswith(prefix):
            model_override = js_trim(js.utf16_slice(model_override, js.utf16_len(provider_override) + 1)) \
                or model_override
    if model_override:
        return parse_model_ref(model_override, provider_override if provider_override is not None else default[0])
    model = fields.get("model")
    if isinstance(model, str) and model:
        provider = fields.get("modelProvider")
        ref = parse_model_ref(model, provider if isinstance(provider, str) else default[0])
        return ctx.real_provider_ref(ref, default)
    return default


class SessionRow(Record):
    """One listed entry: its key, the copied fields and what is derived from the key."""

    __slots__ = ("key", "updated_at", "fields", "agent_id", "kind", "sort_value", "age_ms", "json", "json_simple")

    def __init__(self, key: str, updated_at: Any, fields: dict[str, Any], agent_id: str, kind: str,
                 sort_value: float, age_ms: Any = None, json: dict[str, Any] | None = None,
                 json_simple: bool = False) -> None:
        self.key = key
        self.updated_at = updated_at    # the stored value (None when absent or null)
        self.fields = fields            # ROW_FIELDS the entry has, copied
        self.agent_id = agent_id
        self.kind = kind
        self.sort_value = sort_value    # Number(updatedAt ?? 0)
        self.age_ms = age_ms            # None, or a number (NaN prints as null)
        # the row as ``sessions --json`` prints it, when built at once from the entry
        # (listing_json.json_rows_of_store; ``fields`` is then empty)
        self.json = json
        self.json_simple = json_simple  # ``json``'s values hold no float and no container but agentRuntime


_ROW_FIELD_SET = frozenset(ROW_FIELDS)


def updated_sort_and_age(updated_at: Any, now: int) -> tuple[Any, float, Any]:
    """(the row's ``updatedAt``, a copy if it is a container; its sort value
    ``Number(updatedAt ?? 0)``; ``ageMs``, None when ``updatedAt`` is falsy)."""
    if type(updated_at) is int and updated_at and -MAX_SAFE_INTEGER <= updated_at <= MAX_SAFE_INTEGER \
            and -MAX_SAFE_INTEGER <= now - updated_at <= MAX_SAFE_INTEGER:
        # The same number as the float difference below, as the int JSON prints.
        return updated_at, float(updated_at), now - updated_at
    if isinstance(updated_at, (dict, list)):
        updated_at = copy.deepcopy(updated_at)
    sort_value = js.to_number(updated_at)
    return updated_at, sort_value, float(now) - sort_value if js.truthy(updated_at) else None


def build_row(key: str, entry: Mapping[str, Any], store_agent_id: str, now: int) -> SessionRow:
    """The row of one entry (values copied, so the entry may be let go)."""
    if type(entry) is dict:
        # One pass over the entry's own keys (a few of ROW_FIELDS are stored): a
        # listing builds a row for every entry of the store.
        fields = {name: value for name, value in entry.items() if name in _ROW_FIELD_SET}
    else:  # a lazy entry decodes what it is asked for, and all of itself when iterated
        fields = {name: entry[name] for name in ROW_FIELDS if name in entry}
    for value in fields.values():
        if type(value) is dict or type(value) is list:
            fields = copy.deepcopy(fields)
            break
    updated_at, sort_value, age_ms = updated_sort_and_age(entry.get("updatedAt"), now)
    parsed = parse_agent_session_key(key)
    return SessionRow(key, updated_at, fields, parsed.agent_id if parsed else store_agent_id,
                      session_kind(key, entry, parsed=parsed), sort_value, age_ms)


#: the entry fields rows read; of the load normalisation (store/normalize.py)
#: only that of model and modelProvider changes any of them
LISTED_FIELDS = frozenset(ROW_FIELDS) | {"updatedAt", "chatType"}


def normalize_listed_fields(entry: dict[str, Any]) -> None:
    """Bring the :data:`LISTED_FIELDS` of a parsed entry into their loaded form
    (the rest of the load normalisation leaves them alone): what a listing
    passes to :meth:`StoreBackend.load_entries`."""
    normalize_model_fields(entry)


def is_active(entry: Mapping[str, Any], active_minutes: float | None, now: int) -> bool:
    """``--active N``: a numeric ``updatedAt`` at most N minutes ago (future ones count)."""
    if active_minutes is None:
        return True
    updated_at = entry.get("updatedAt")
    return js.is_number(updated_at) and float(now) - js.to_number(updated_at) <= active_minutes * 60_000.0


def rows_of_store(entries: Iterable[tuple[str, Mapping[str, Any]]], store_agent_id: str,
                  active_minutes: float | None, now: int) -> list[SessionRow]:
    return [build_row(key, entry, store_agent_id, now) for key, entry in entries
            if is_active(entry, active_minutes, now)]


def select_newest(rows: Sequence[SessionRow], limit: int | float | None) -> list[SessionRow]:
    """Newest first, ties in store order, at most ``limit`` rows (None: all).

    The reference compares ``(b.updatedAt ?? 0) - (a.updatedAt ?? 0)``. For
    numbers that is a stable descending sort; a value that is not a number
    (NaN) compares equal to everything, and then the algorithm decides the
    order: the reference picks up to 200 rows by insertion and sorts larger
    selections with V8's TimSort, both reproduced here for that case.
    """
    if not any(math.isnan(row.sort_value) for row in rows):
        ordered = sorted(rows, key=lambda row: -row.sort_value)
        return ordered if limit is None else ordered[:int(min(limit, len(ordered)))]
    if limit is not None and limit <= TOP_N_SELECTION_LIMIT:
        from openclaw_core.js.sort import insertion_select

        return insertion_select(rows, _compare, int(limit))
    from openclaw_core.js.sort import v8_sort

    ordered = v8_sort(list(rows), _compare)
    return ordered if limit is None else ordered[:int(min(limit, len(ordered)))]


def _compare(a: SessionRow, b: SessionRow) -> float:
    diff = b.sort_value - a.sort_value
    return 0.0 if diff != diff else diff



