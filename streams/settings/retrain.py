"""The retrain worker: how much evidence it needs, how it trains and how it decides."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: ``package.module:function``, checked here; importing it is the retrain worker's, at start
_TRAINER = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


class RetrainSettings(BaseSettings):
    """How the retrain worker builds its training set, trains a candidate and validates it."""

    model_config = SettingsConfigDict(env_prefix="INFERWATCH_RETRAIN_", extra="ignore")

    margin: float = Field(0.01, ge=0, le=1, description="A candidate replaces the champion "
                          "only if its holdout accuracy beats the champion's by this much.")
    alpha: float = Field(0.05, gt=0, lt=1, description="A candidate's accuracy gain must "
                         "be significant at this level (McNemar's paired test, one-sided).")
    latency_tolerance: float = Field(
        0.5, ge=0, description="A candidate whose batch latency on this machine exceeds the "
        "champion's by more than this share is rejected (generous: a shared machine is noisy).")
    cost_tolerance: float = Field(
        1.0, ge=0, description="A candidate whose CPU seconds per prediction exceed the "
        "champion's by more than this share is rejected (1.0: up to twice the cost).")
    min_examples: int = Field(500, ge=20, description="Labelled examples a retrain needs "
                              "over its data range; fewer and the worker waits, then rejects.")
    min_new_labels: int = Field(0, ge=0, description="The policy (decide role) asks for a "
                                "retrain only after this many new labels of the model since "
                                "its last request (0: no labels needed).")
    budget: int = Field(3, ge=1, description="At most this many retrain requests per model "
                        "in any budget_period_s, however many incidents (a storm).")
    budget_period_s: float = Field(86400.0, gt=0, description="The budget's period.")
    holdout_fraction: float = Field(0.3, gt=0, lt=1, description="Share of the examples, "
                                    "the most recently labelled, held out to validate on.")
    seed: int = Field(0, description="Seeds the candidate's training (a replay trains alike).")
    patience: int = Field(3, ge=1, description="Stop a fine-tune after this many epochs "
                          "without a better validation loss (the best epoch's weights kept).")
    max_epochs: int = Field(20, ge=1, le=1000, description="Passes over the training rows.")
    label_wait_s: float = Field(60.0, ge=0, description="How long to wait for min_examples "
                                "labelled examples to arrive before deciding without them.")
    lookback_s: float = Field(0.0, ge=0, description="Examples from this long before the "
                              "event's data range are used too (0: the range only).")
    trainer: str = Field("", description="The trainer, package.module:function (the "
                         "contract in retrain/trainer_contract.py), run in a process of its "
                         "own; empty: the built-in fine-tune of the project's MLP.")
    trainer_deadline_s: float = Field(3600.0, gt=0, description="A trainer still running "
                                      "this long after it started is killed; the retrain "
                                      "fails with that reason.")
    retry_max: int = Field(3, ge=0, description="A request that trained nothing for want of "
                           "labels is asked again, once enough exist, at most this many times.")
    retry_first_check_s: float = Field(60.0, gt=0, description="When to first count the "
                                       "labels of such a request again; each later check "
                                       "waits twice as long.")
    retry_give_up_s: float = Field(86400.0, gt=0, description="Such a request still short of "
                                   "labels this long after it failed is given up.")

    @field_validator("trainer")
    @classmethod
    def _entry_point(cls, value: str) -> str:
        value = value.strip()
        if value and not _TRAINER.match(value):
            raise ValueError("must be package.module:function, the trainer's entry point")
        return value
