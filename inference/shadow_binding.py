"""Which version of a model runs in shadow, and on what share of its requests.

A shadow version is bound by the registry's ``shadow`` alias (``inferwatch experiment
start --shadow VERSION``, or ``inferwatch models alias``): it scores a share of the
model's requests after the answering version, and its outputs answer no one. The share
is the one recorded for that version in the model's ``.shadow.json`` (set by ``experiment
start --shadow-share``), else the worker's default (``INFERWATCH_INFERENCE_SHADOW_SHARE``).
A verdict on the shadow ends it by recording a share of 0 for its version (the way a
rolled-back challenger keeps a share of 0): a restarted worker does not score it again,
while a later version moved to the alias starts on the default share.

Which requests a share picks is :func:`inference.routing.in_share` of the request id,
salted by :func:`shadow_salt`: the same requests in every process and on every replay.

Examples
--------
>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp()); src = root / "b"; src.mkdir()
>>> store = ModelStore(root / "models")
>>> for v in ("v1", "v2"): _ = store.publish("churn", v, src)
>>> shadow_of(store, "churn", default_share=1.0) is None
True
>>> bind_shadow(store, "churn", "v2", share=0.3)
>>> shadow_of(store, "churn", default_share=1.0)
ShadowBinding(model='churn', version='v2', share=0.3)
>>> end_shadow(store, "churn", reason="rejected")
>>> shadow_of(store, "churn", default_share=1.0) is None
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from inference.registry import ModelStore

__all__ = ["SHADOW", "ShadowBinding", "bind_shadow", "check_shadow", "end_shadow", "shadow_of",
           "shadow_record", "shadow_salt"]

#: the registry alias of a model's shadow version
SHADOW = "shadow"
#: the model's record of its shadow version's share (beside the aliases file)
SHADOW_FILE = ".shadow.json"


def shadow_salt(model: str) -> str:
    """The salt of the hash that picks ``model``'s shadowed requests."""
    return f"shadow:{model}"


@dataclass(frozen=True)
class ShadowBinding:
    """A model's shadow: the version that scores, and the share of requests it scores."""

    model: str
    version: str
    share: float

    def __post_init__(self) -> None:
        check_share(self.share)

    @property
    def salt(self) -> str:
        return shadow_salt(self.model)


def check_share(share: float, what: str = "shadow share") -> float:
    """``share`` if it is a number in [0, 1]; else a ValueError naming ``what``."""
    if not (isinstance(share, int | float) and math.isfinite(share) and 0.0 <= share <= 1.0):
        raise ValueError(f"{what} must be a number in [0, 1], got {share!r}")
    return float(share)


def shadow_of(store: ModelStore, model: str, default_share: float) -> ShadowBinding | None:
    """``model``'s shadow now; None when it has none or its share is 0."""
    version = store.resolve(model, SHADOW)
    if version is None:
        return None
    recorded = shadow_record(store, model)
    share = recorded.get("share") if recorded.get("version") == version else None
    share = default_share if share is None else check_share(share, f"{SHADOW_FILE} share")  # type: ignore[arg-type]
    return ShadowBinding(model, version, share) if share > 0 else None


def bind_shadow(store: ModelStore, model: str, version: str, share: float | None = None,
                *, reason: str = "") -> None:
    """Move ``model``'s ``shadow`` alias to ``version``, at ``share`` (None: the default).

    A ValueError names what is wrong (an unpublished version, a share out of [0, 1])
    before anything is written.
    """
    check_shadow(store, model, version, share)
    # the registry's own atomic writer (private to the package): the shadow's record is
    # one more of its per-model files, beside the aliases and the traffic split
    store._write(model, SHADOW_FILE, {"version": version, "share": share})
    store.set_alias(model, SHADOW, version, reason=reason or "shadow started")


def check_shadow(store: ModelStore, model: str, version: str, share: float | None) -> None:
    """A ValueError naming what is wrong if ``version`` of ``model`` cannot be a shadow at
    ``share``: an unpublished version, a share out of [0, 1]."""
    if share is not None:
        check_share(share)
    if version not in store.versions(model):
        raise ValueError(f"{model!r} has no version {version!r} to shadow "
                         f"(published: {', '.join(store.versions(model)) or 'none'})")


def shadow_record(store: ModelStore, model: str) -> dict[str, object]:
    """What the registry holds of ``model``'s shadow: ``version``, ``share`` (None: the
    default) and, once a verdict ended it, ``ended`` (its reason); empty: never had one."""
    return store._read(model, SHADOW_FILE)


def end_shadow(store: ModelStore, model: str, *, reason: str) -> None:
    """Stop ``model``'s shadow version scoring (its share recorded as 0)."""
    version = store.resolve(model, SHADOW)
    if version is not None:
        store._write(model, SHADOW_FILE,
                     {"version": version, "share": 0.0, "ended": reason})
