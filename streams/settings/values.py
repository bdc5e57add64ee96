"""How settings read and check a value given as text: written once for every component.

A check is a plain function of the value that returns it unchanged or raises a
``ValueError`` saying what is wrong; a settings class attaches it to its fields with
``field_validator(*fields)(check)``, so that a bad value fails at start and
:func:`streams.settings.load` names its variable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def comma_names(text: str) -> list[str]:
    """The names of a comma-separated list, each stripped, blanks dropped.

    >>> comma_names(" income, zip,, ")
    ['income', 'zip']
    >>> comma_names("")
    []
    """
    return [name for name in (part.strip() for part in text.split(",")) if name]


def parsed_by(parse: Callable[[str], object]) -> Callable[[str], str]:
    """The check that ``parse`` accepts the value (its error is the check's).

    >>> parsed_by(int)("42")
    '42'
    """

    def check(value: str) -> str:
        parse(value)
        return value

    return check


def url_scheme(*schemes: str) -> Callable[[str], str]:
    """The check that a URL, when given, starts with one of ``schemes``.

    >>> url_scheme("http://", "https://")("ftp://host")
    Traceback (most recent call last):
    ...
    ValueError: must start with http:// or https://
    >>> url_scheme("http://", "https://", "chdb://")("")
    ''
    """
    *others, last = schemes
    wanted = f"{', '.join(others)} or {last}" if others else last

    def check(value: str) -> str:
        if value and not value.startswith(schemes):
            raise ValueError(f"must start with {wanted}")
        return value

    return check


def readable_file(path: Path | None) -> Path | None:
    """The check that a path, when given, names a file."""
    if path is not None and not path.is_file():
        raise ValueError(f"no such file: {path}")
    return path
