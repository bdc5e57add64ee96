"""The retry of requests short of labels: on evidence, with a doubling gap, bounded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrain.failure_ledger import FailureLedger
from retrain.label_retry import LabelRetry, NotEnoughLabels


def test_checks_come_at_doubling_gaps_and_ask_again_only_with_enough_labels() -> None:
    retry = LabelRetry(min_examples=500, first_check_s=10, max_retries=3, give_up_s=10_000)
    retry.wait("rt-1", "churn", data_from=1.0, now=100.0)
    checks = []
    now = 100.0
    for labelled in (10, 200, 499):  # never enough: each check sets the next one later
        (waiting,) = retry.waiting()
        now = waiting.next_check
        assert retry.due(now - 1e-9) == []
        checks.append(now)
        assert retry.checked("rt-1", labelled=labelled, now=now) is None
    assert checks == [110.0, 130.0, 170.0]  # gaps 10, 20, 40: a closed form, 10 * 2**k
    (waiting,) = retry.waiting()
    assert [w.retrain_id for w in retry.due(waiting.next_check)] == ["rt-1"]
    asked = retry.checked("rt-1", labelled=500, now=waiting.next_check)
    assert asked is not None and (asked.attempt, asked.data_from, asked.model) == (1, 1.0, "churn")
    assert retry.due(5000.0) == []  # asked again: nothing more until it fails again


def test_asks_again_at_most_max_retries_times_per_request() -> None:
    retry = LabelRetry(min_examples=5, first_check_s=1, max_retries=2, give_up_s=1e9)
    asks = 0
    now = 0.0
    for _ in range(6):  # it keeps failing for labels however often it is asked
        retry.wait("rt-1", "churn", data_from=0.0, now=now)
        due = retry.due(now + 1)
        if not due:
            break
        asks += retry.checked("rt-1", labelled=5, now=now + 1) is not None
        now += 2
    assert asks == 2 and retry.waiting() == []


def test_a_request_short_for_too_long_is_given_up_and_zero_retries_never_waits() -> None:
    retry = LabelRetry(min_examples=5, first_check_s=1, max_retries=3, give_up_s=50)
    retry.wait("rt-1", "churn", data_from=0.0, now=0.0)
    assert [w.retrain_id for w in retry.due(50.0)] == ["rt-1"]
    assert retry.due(50.1) == [] and retry.waiting() == []
    never = LabelRetry(min_examples=5, max_retries=0)
    never.wait("rt-2", "churn", data_from=0.0, now=0.0)
    assert never.waiting() == []


def test_bad_parameters_name_themselves() -> None:
    with pytest.raises(ValueError, match="min_examples"):
        LabelRetry(0)
    with pytest.raises(ValueError, match="first_check_s"):
        LabelRetry(5, first_check_s=0)
    with pytest.raises(ValueError, match="max_retries"):
        LabelRetry(5, max_retries=-1)


def test_not_enough_labels_says_n_of_m_within_w() -> None:
    exc = NotEnoughLabels(12, 500, 60.0)
    assert exc.reason == "not trained: 12 of 500 labels within 60 s"


def test_the_ledger_survives_a_restart_and_a_pass_closes_every_open_ticket(
        tmp_path: Path) -> None:
    path = tmp_path / FailureLedger.FILE
    ledger = FailureLedger(path, LabelRetry(100, first_check_s=5))
    assert ledger.failed("churn", "rt-1", "not trained: 3 of 100 labels within 60 s",
                         now=10.0, waits_for_labels=True, data_from=2.0) == 10.0
    assert ledger.failed("churn", "rt-2", "the trainer raised", now=20.0) == 20.0
    assert ledger.failed("fraud", "rt-3", "the trainer raised", now=21.0) == 21.0

    again = FailureLedger(path, LabelRetry(100, first_check_s=5))  # a restarted worker
    assert [(w.retrain_id, w.next_check) for w in again.retry.due(15.0)] == [("rt-1", 15.0)]
    assert again.passed("churn", "rt-9") == [("rt-1", 10.0), ("rt-2", 20.0)]
    saved = json.loads(path.read_text())
    assert saved["open"] == {"fraud": {"rt-3": {"at": 21.0, "reason": "the trainer raised"}}}
    assert FailureLedger(path, LabelRetry(100)).passed("churn", "rt-10") == []
