"""Errors a user can see. Each carries one line of text and an exit code."""

from __future__ import annotations


class OpenClawError(Exception):
    """Base of every error the CLI turns into one stderr line and an exit code."""

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(OpenClawError):
    """The config file does not parse or a value is invalid; nothing was touched."""


class StoreCorruptError(OpenClawError):
    """A store that is not a JSON object of objects. It is never written over."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"session store {path} is unreadable: {problem}; refusing to touch it")
        self.path = path
        self.problem = problem


class StoreConflict(OpenClawError):
    """The store changed under a commit (another writer); the commit was not made."""


class StoreLockTimeout(OpenClawError):
    """Another process held the store's lock for longer than the timeout."""


class UsageError(OpenClawError):
    """A flag combination or value the command refuses (the reference's messages)."""


class GatewayError(OpenClawError):
    """The Gateway answered with an error, or may still be running a job."""


class PluginError(OpenClawError):
    """A plugin returned something the core cannot use."""


class GatewaySecretRefUnavailableError(ConfigError):
    """A Gateway credential is a ``${VAR}`` reference whose variable is unset: no value, never its text."""

    def __init__(self, key: str) -> None:
        # The reference's three lines, word for word.
        super().__init__(f"GatewaySecretRefUnavailableError: {key} is configured as a secret reference but is "
                         "unavailable in this command path.\n"
                         "Fix: set OPENCLAW_GATEWAY_TOKEN/OPENCLAW_GATEWAY_PASSWORD, pass explicit --token/--password,\n"
                         "or run a gateway command path that resolves secret references before credential selection.")
        self.key = key


def first_line(exc: BaseException) -> str:
    """An exception's first line for a one-line error (its type when it has no text)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
