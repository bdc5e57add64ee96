"""Topic specs: the dead-letter topic's own retention (its records hold raw payloads)."""

from __future__ import annotations

from streams.settings import KafkaSettings
from streams.wire.topics import ROLES, Topics


def test_dead_letter_retention_is_set_on_that_topic_only() -> None:
    plain = dict(Topics("p.").specs())
    kept = dict(Topics("p.", dead_letter_retention_ms=3_600_000).specs())
    assert kept.keys() == plain.keys() == {f"p.{s.role}" for s in ROLES}
    assert dict(kept["p.dead-letter"].configs) == {**dict(plain["p.dead-letter"].configs),
                                                   "retention.ms": "3600000"}
    assert "retention.ms" not in dict(plain["p.dead-letter"].configs)
    assert all(kept[name] == spec for name, spec in plain.items() if name != "p.dead-letter")


def test_the_setting_defaults_to_a_week() -> None:
    assert KafkaSettings.model_fields["dead_letter_retention_ms"].default == 7 * 24 * 3600 * 1000
