"""Writing a reference file atomically: a reader sees the old file or the new, never half.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "reference.json"
>>> write_atomically(path, '{"n": 1}'); path.read_text()
'{"n": 1}'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it, renamed into place
    (the temporary file is removed if anything fails)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
