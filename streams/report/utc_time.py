"""How the command-line views and the report print a moment: UTC, to the second.

>>> utc_stamp(0.0)
'1970-01-01 00:00:00Z'
>>> utc_stamp(1780000000.7)
'2026-05-28 20:26:40Z'
"""

from __future__ import annotations

import datetime as dt

__all__ = ["utc_stamp"]


def utc_stamp(ts: float) -> str:
    """Epoch seconds ``ts`` as ``YYYY-MM-DD HH:MM:SSZ``."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
