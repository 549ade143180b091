"""Warnings for the user: one line on stderr, never a traceback."""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    # One line: a broken plugin or an odd setting must not drown the command.
    print(f"openclaw: warning: {message}", file=sys.stderr)
