"""A model store's folders: ``root/<model>/<version>/``, checked names, natural order.

Models and versions are folder names, so a name must be letters, digits, ``.``, ``_``
or ``-`` and start with a letter or digit (no hidden folders, no paths). Versions sort in
natural order (``v2`` < ``v10``), and the latest is the last.

Examples
--------
>>> sorted(["v10", "v2", "v1.5"], key=natural_key)
['v1.5', 'v2', 'v10']
>>> check_name("model", "churn-v2"), check_name("version", "2024.06_1")
('churn-v2', '2024.06_1')
>>> check_name("model", "../etc")  # doctest: +ELLIPSIS
Traceback (most recent call last):
ValueError: model must be letters, digits, '.', '_' or '-', ... got '../etc'
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["StoreLayout", "check_name", "natural_key"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_name(field: str, value: str) -> str:
    """``value``, once checked to be a name that can be a store folder (else ValueError)."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(
            f"{field} must be letters, digits, '.', '_' or '-', starting with a letter or "
            f"digit, got {value!r}"
        )
    return value


def natural_key(version: str) -> list[tuple[int, int | str]]:
    """The sort key that orders version names naturally: digit runs compare as numbers."""
    return [
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"(\d+)", version)
        if part
    ]


def _named_folders(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.is_dir() and _NAME.match(p.name)]


class StoreLayout:
    """The folders of a model store under ``root``: a model's, a version's, which exist.

    Parameters
    ----------
    root
        The store's folder; it need not exist yet.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, model: str, version: str) -> Path:
        """The folder of ``model``'s ``version`` (it may not exist)."""
        return self.root / check_name("model", model) / check_name("version", version)

    def versions(self, model: str) -> list[str]:
        """Published versions of ``model``, oldest first in natural order."""
        folder = self.root / check_name("model", model)
        if not folder.is_dir():
            return []
        return sorted(_named_folders(folder), key=natural_key)

    def latest(self, model: str) -> str | None:
        """The highest published version of ``model``, or None if there is none."""
        found = self.versions(model)
        return found[-1] if found else None

    def models(self) -> list[str]:
        """The models that have a folder in the store."""
        if not self.root.is_dir():
            return []
        return sorted(_named_folders(self.root))
