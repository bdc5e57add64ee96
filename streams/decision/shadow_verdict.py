"""The paired verdict on each shadow version: the join's pair counts in, decisions out.

The outcome join counts, per partition, each shadow version's pairs against the answers
(:class:`~streams.wire.events.ShadowPairs`); here they are added up per (model, shadow
version) into :class:`detectors.ab.paired.PairedCorrectnessTest`, the sequential test on
the discordant pairs, valid at every look. Each batch that brings pairs is a look, and
each look is a :class:`~streams.wire.events.ShadowDecided` on the model-updates topic (the
way experiment decisions go out): before labels it carries the disagreement rate and its
interval, after them the verdict so far. The first final look is the decision:

- the shadow is better: promoted to a live challenger (an experiment of its own), or
  straight to champion where the policy says so for its model;
- it is worse, or undecided once ``horizon`` labelled pairs are in: rejected.

A decided shadow is not judged again (later pairs of it are ignored). The inference
workers apply the decision to the registry (:mod:`streams.serving.shadow_decision`).

The counts and the test's state of a model's shadows are written to the decision-state
topic under ``SHADOW_KEY + model`` with each look, in the look's transaction, and taken
back by the worker that owns the model after a restart or a rebalance (:meth:`hold`): the
verdict's running p-value and a decided shadow's decision outlive the worker.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from detectors.ab.paired import PairedCorrectnessTest, PairedVerdict, Rate
from streams.wire.events import ShadowAction, ShadowDecided, ShadowPairs

__all__ = ["SHADOW_KEY", "ShadowJudge", "ShadowPolicy"]

#: the decision-state key prefix of a model's shadows (NUL first: no model name's)
SHADOW_KEY = b"\x00shadow\x00"

PromoteTo = Literal["challenger", "champion"]


@dataclass(frozen=True)
class ShadowPolicy:
    """How shadows are judged and where a better one goes.

    Parameters
    ----------
    promote_to
        Where a better shadow goes unless its model is in ``per_model``.
    per_model
        ``{model: "challenger" | "champion"}``.
    horizon
        Labelled pairs after which a shadow still undecided is rejected.
    alpha
        The test's level: P(ever deciding | equal models) <= alpha.
    """

    promote_to: PromoteTo = "challenger"
    per_model: Mapping[str, PromoteTo] = field(default_factory=dict)
    horizon: int = 20_000
    alpha: float = 0.05

    def __post_init__(self) -> None:
        for model, to in {"*": self.promote_to, **self.per_model}.items():
            if to not in ("challenger", "champion"):
                raise ValueError(f"shadow promote_to for {model!r} must be 'challenger' or "
                                 f"'champion', got {to!r}")
        if self.horizon < 1:
            raise ValueError(f"shadow horizon must be >= 1 labelled pair, got {self.horizon}")

    @classmethod
    def parse(cls, text: str, horizon: int, alpha: float) -> ShadowPolicy:
        """The policy of ``INFERWATCH_MONITOR_SHADOW_PROMOTE``: ``challenger``, ``champion``,
        or ``MODEL=TO,...`` with ``*=TO`` for the rest; a ValueError names the setting.

        >>> ShadowPolicy.parse("churn=champion", 100, 0.05).per_model
        {'churn': 'champion'}
        """
        default, per_model = "challenger", {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            model, eq, to = (x.strip() for x in part.rpartition("=")) if "=" in part else (
                "*", "=", part)
            if to not in ("challenger", "champion") or not (eq and model):
                raise ValueError(f"INFERWATCH_MONITOR_SHADOW_PROMOTE: expected 'challenger', "
                                 f"'champion' or MODEL=challenger|champion, got {part!r}")
            if model == "*":
                default = to
            else:
                per_model[model] = to
        return cls(default, per_model, horizon, alpha)  # type: ignore[arg-type]

    def action(self, model: str, verdict: PairedVerdict) -> ShadowAction:
        """The decision a look's ``verdict`` makes for a shadow of ``model``."""
        if verdict.outcome == "better":
            to = self.per_model.get(model, self.promote_to)
            return "promote_champion" if to == "champion" else "promote_challenger"
        if verdict.outcome == "worse" or verdict.labelled >= self.horizon:
            return "reject"
        return "continue"


@dataclass
class _Shadow:
    test: PairedCorrectnessTest
    answer_version: str = ""
    decided: ShadowAction = "continue"


class ShadowJudge:
    """Add up each shadow's pairs and decide on it at every look."""

    def __init__(self, policy: ShadowPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.policy = policy if policy is not None else ShadowPolicy()
        self.clock = clock
        self._shadows: dict[tuple[str, str], _Shadow] = {}
        self._looked: set[tuple[str, str]] = set()

    def take(self, pairs: ShadowPairs) -> None:
        """Add one partition's counts (ignored once the shadow is decided)."""
        key = (pairs.model, pairs.version)
        shadow = self._shadows.get(key)
        if shadow is None:
            shadow = self._shadows[key] = _Shadow(PairedCorrectnessTest(self.policy.alpha))
        if shadow.decided != "continue":
            return
        counts = shadow.test.pairs
        for name in ("requests", "disagreements", "labelled", "shadow_wins", "champion_wins"):
            setattr(counts, name, getattr(counts, name) + getattr(pairs, name))
        shadow.answer_version = pairs.answer_version or shadow.answer_version
        self._looked.add(key)

    def look(self) -> list[ShadowDecided]:
        """One decision per shadow that got pairs since the last look."""
        out = []
        for key in sorted(self._looked):
            shadow = self._shadows[key]
            verdict = shadow.test.decide()
            shadow.decided = self.policy.action(key[0], verdict)
            out.append(_event(key, shadow, verdict, shadow.test.disagreement(), self.clock()))
        self._looked.clear()
        return out

    def record(self, model: str) -> dict[str, Any]:
        """What is held of ``model``'s shadows (a per-model record, like the decision
        state's), for :meth:`adopt` after a restart or a rebalance."""
        return {version: {"test": s.test.snapshot(), "answer_version": s.answer_version,
                          "decided": s.decided}
                for (m, version), s in self._shadows.items() if m == model}

    def hold(self, saved: Mapping[bytes, bytes], owns: Callable[[str], bool]) -> None:
        """After an assignment: drop the shadows of models not owned, and take back from
        ``saved`` (the decision-state topic) those of owned models not held."""
        held = {m for m, _ in self._shadows}
        for gone in [k for k in self._shadows if not owns(k[0])]:
            del self._shadows[gone]
            self._looked.discard(gone)
        for key, raw in saved.items():
            if key.startswith(SHADOW_KEY):
                model = key[len(SHADOW_KEY):].decode("utf-8", "replace")
                if owns(model) and model not in held:
                    self.adopt(model, msgspec.json.decode(raw))

    def adopt(self, model: str, record: Mapping[str, Any]) -> None:
        """Hold ``model``'s shadows as :meth:`record` wrote them."""
        for version, held in record.items():
            test = PairedCorrectnessTest(self.policy.alpha)
            test.restore(held["test"])
            self._shadows[(model, version)] = _Shadow(test, str(held["answer_version"]),
                                                      held["decided"])


def _event(key: tuple[str, str], shadow: _Shadow, verdict: PairedVerdict, rate: Rate,
           at: float) -> ShadowDecided:
    model, version = key
    pairs = shadow.test.pairs
    # one look is one set of counts: a redelivered batch makes the same id
    look = f"{model}\x00{version}\x00{pairs.requests}\x00{pairs.labelled}\x00{shadow.decided}"
    reason = verdict.reason
    if shadow.decided == "reject" and verdict.outcome == "undecided":
        reason = f"undecided at the horizon of {pairs.labelled} labels: {reason}"
    return ShadowDecided(
        id=hashlib.blake2b(look.encode(), digest_size=12).hexdigest(), model=model,
        version=version, answer_version=shadow.answer_version, action=shadow.decided,
        test=verdict.test, estimate=verdict.estimate, lower=verdict.lower,
        upper=verdict.upper, p_value=verdict.p_value, effect=verdict.effect,
        labelled=pairs.labelled, discordant=pairs.discordant, requests=pairs.requests,
        disagreement=None if math.isnan(rate.estimate) else rate.estimate,
        disagreement_lower=rate.lower, disagreement_upper=rate.upper, reason=reason, ts=at)
