"""Errors raised by inferwatch's stream side.

::

    InferwatchError            base of everything below
    ├── ConfigError            a setting is invalid; raised at start, names the variable
    ├── KafkaAccessError       the brokers cannot be reached, or refuse this client (TLS,
    │                          credentials); raised at start; ``retriable`` says which
    └── SinkError              a sink could not write; ``retriable`` says whether to retry

Every message says what failed, with which input, and what to do.
"""

from __future__ import annotations


class InferwatchError(Exception):
    """Base of inferwatch's errors."""


class ConfigError(InferwatchError):
    """A setting is invalid. The message names the environment variable."""


class KafkaAccessError(InferwatchError):
    """The brokers could not be reached (``retriable``) or refused this client (not)."""

    def __init__(self, message: str, *, retriable: bool) -> None:
        super().__init__(message)
        self.retriable = retriable


class SinkError(InferwatchError):
    """A sink failed to write a batch."""

    def __init__(self, message: str, *, retriable: bool) -> None:
        super().__init__(message)
        self.retriable = retriable
