"""The one error users see for bad input: it names the field, so UIs can show it in place."""
from __future__ import annotations

from typing import Any, Optional


def short(value: Any, limit: int = 60) -> str:
    """`repr(value)` cut to `limit` characters: an error line never repeats a huge bad value."""
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4,300 digits has no repr
        return f"<a {type(value).__name__} too long to show>"
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} chars)"


class ConfigError(ValueError):
    """A value is out of range. `field` is the config field (or CLI/grid key) it is about and
    `message` says what is allowed; `str(error)` is the one line the CLI prints."""

    def __init__(self, field: str, message: str):
        field = field if len(field) <= 60 else f"{field[:45]}... ({len(field)} chars)"  # a typed key
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class WorkerError(RuntimeError):
    """A worker process failed or died; the message says which and, for a failure, carries its
    traceback. The CLI prints it as one line and exits 1."""


class Stopped(Exception):
    """Raised by `experiment.run` when the stop event was set; nothing finished is lost."""


class Diverged(FloatingPointError):
    """The loss became NaN/inf. Names the field to change (`lr`); `experiment.train` fills in
    `history` (the rounds finished before it) and `phase` ("non_iid" or "iid")."""

    field = "lr"

    def __init__(self, message: str):
        super().__init__(message)
        self.history: list = []
        self.phase: Optional[str] = None
