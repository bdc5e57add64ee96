"""Rows of the ClickHouse tables, one mapping per source topic.

Pure: raw records in, (table, column names, column values) out, the shape ClickHouse
inserts without transposing rows; records that fail to decode are
returned as rejections so the sink can dead-letter them too. Every row is built here, so
the privacy policy (:class:`~streams.settings.private_fields.PrivateFields`) is applied here, once;
a dead letter becomes its reason and offsets, never its payload.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from streams.settings.private_fields import PrivateFields
from streams.wire.codec import BatchDecoder, RawRecord, Rejected
from streams.wire.dead_letter import H_ERROR, H_KIND, H_OFFSET, H_PARTITION, H_TOPIC
from streams.wire.events import (
    Alert,
    Cost,
    DetectorReport,
    Event,
    ExperimentDecided,
    ModelUpdate,
    ModelVersionPublished,
    Outcome,
    Prediction,
    RetrainDecided,
    RetrainRequested,
    ShadowDecided,
)
from streams.wire.topics import Topics

_json = msgspec.json.Encoder()


@dataclass
class TableRows:
    """Rows for one table, in source order, held as one list of values per column;
    ``also``: rows the same records give other tables (a candidate's validation checks
    beside its version, an experiment's decisions beside model versions), to insert first."""

    table: str
    columns: tuple[str, ...]
    data: list[list[Any]] = field(default_factory=list)
    also: list[TableRows] = field(default_factory=list)

    @classmethod
    def of_rows(cls, table: str, columns: tuple[str, ...], rows: list[list[Any]]) -> TableRows:
        return cls(table, columns, [list(c) for c in zip(*rows, strict=True)] if rows
                   else [[] for _ in columns])

    @property
    def rows(self) -> list[list[Any]]:
        """The same values, a list per row."""
        return [list(r) for r in zip(*self.data, strict=True)]

    def __len__(self) -> int:
        return len(self.data[0]) if self.data else 0


def _prediction(p: Prediction, private: PrivateFields) -> list[Any]:
    return [p.request_id, p.ts, p.model, p.variant, p.model_version, p.output.label,
            p.output.score, p.latency.queue_s, p.latency.inference_s, p.latency.total_s,
            p.latency.ttft_s, *(col[0] for col in _cost_columns([p.cost])), p.batch_size,
            p.device, p.segment, private.unit(p.unit_id), private.features(p.features), p.error]


def _prediction_columns(ps: list[Prediction], private: PrivateFields) -> list[list[Any]]:
    # a pass per column: each a list comprehension, no row lists to build and transpose
    outs = [p.output for p in ps]
    lats = [p.latency for p in ps]
    costs = [p.cost for p in ps]
    return [[p.request_id for p in ps], [p.ts for p in ps], [p.model for p in ps],
            [p.variant for p in ps], [p.model_version for p in ps], [o.label for o in outs],
            [o.score for o in outs], [t.queue_s for t in lats], [t.inference_s for t in lats],
            [t.total_s for t in lats], [t.ttft_s for t in lats],
            *_cost_columns(costs), [p.batch_size for p in ps],
            [p.device for p in ps], [p.segment for p in ps],
            [private.unit(p.unit_id) for p in ps] if private.unit_id != "drop"
            else [""] * len(ps),
            [private.features(p.features) for p in ps] if private.private_features
            else [p.features for p in ps], [p.error for p in ps]]


def _cost_columns(costs: list[Cost | None]) -> list[list[Any]]:
    """cost_cpu_s, cost_gpu_s, cost_energy_j of each prediction (NULL without a cost)."""
    return [[None if c is None else c.cpu_s for c in costs],
            [None if c is None else c.gpu_s for c in costs],
            [None if c is None else c.energy_j for c in costs]]


def _outcome(o: Outcome, _: PrivateFields) -> list[Any]:
    return [o.request_id, o.ts, o.kind, o.value]


def _report(r: DetectorReport, _: PrivateFields) -> list[Any]:
    return [r.ts, r.detector, r.model, r.variant, r.segment, r.window_start, r.window_end, r.n,
            r.statistic, r.threshold, r.p_value, r.decision, _json.encode(r.evidence).decode()]


def _alert(a: Alert, _: PrivateFields) -> list[Any]:
    return [a.fingerprint, a.status, a.severity, a.labels.get("model", ""),
            a.labels.get("detector", ""), a.annotations.get("summary", ""),
            a.annotations.get("description", ""), a.labels, a.starts_at, a.ends_at,
            _json.encode(a.evidence).decode()]


def _retrain(r: RetrainRequested, _: PrivateFields) -> list[Any]:
    return [r.id, r.model, r.reason, _json.encode(r.evidence).decode(), r.data_from, r.data_to,
            r.requested_at]


def _experiment(d: ExperimentDecided, _: PrivateFields) -> list[Any]:
    return [d.id, d.ts, d.experiment, d.model, d.champion, d.challenger, d.action, d.metric,
            d.test, d.estimate, d.lower, d.upper, d.p_value, d.n_champion, d.n_challenger,
            d.srm_p_value, d.reason]


_SHADOW_DECISION_COLUMNS = (
    "id", "ts", "model", "version", "answer_version", "action", "test", "estimate", "lower",
    "upper", "p_value", "effect", "labelled", "discordant", "requests", "disagreement",
    "disagreement_lower", "disagreement_upper", "reason")


def _shadow_decision(d: ShadowDecided, _: PrivateFields) -> list[Any]:
    return [getattr(d, name) for name in _SHADOW_DECISION_COLUMNS]


def _retrain_decision(d: RetrainDecided, _: PrivateFields) -> list[Any]:
    return [d.ts, d.model, d.status, d.reason, d.incident_start, d.retrain_id]


def _model_update(u: ModelVersionPublished, _: PrivateFields) -> list[Any]:
    return [u.ts, u.model, u.version, u.action, u.artifact, u.retrain_id, u.parent, u.alias,
            u.previous, u.content_hash, u.device, u.data_from, u.data_to, u.passed, u.reason,
            u.metrics, u.traffic_split]


def _validations(u: ModelVersionPublished) -> list[list[Any]]:
    """One row per check of a published candidate (alias moves repeat none)."""
    if u.action != "published":
        return []
    return [[u.ts, u.model, u.version, u.parent, u.retrain_id, c.check, c.value, c.threshold,
             c.passed] for c in u.checks]


@dataclass(frozen=True)
class _Side:
    table: str
    columns: tuple[str, ...]
    rows: Callable[[Any], list[list[Any]]]


@dataclass(frozen=True)
class _Mapping:
    table: str
    event: Any
    columns: tuple[str, ...]
    row: Callable[[Any, PrivateFields], list[Any]]
    side: _Side | None = None
    #: of a topic with several kinds of event (a tagged union), the kind this table
    #: stores (None: every event); the events of no table's kind are stored nowhere
    kind: type[Event] | None = None
    #: other tables the same topic feeds, each with its own ``kind`` (inserted first)
    extra: tuple[_Mapping, ...] = ()
    #: the columns of many events at once, where a hot topic needs it to be fast
    columns_of: Callable[[list[Any], PrivateFields], list[list[Any]]] | None = None


_PREDICTION_COLUMNS = (
    "request_id", "ts", "model", "variant", "model_version", "label", "score", "queue_s",
    "inference_s", "total_s", "ttft_s", "cost_cpu_s", "cost_gpu_s", "cost_energy_j",
    "batch_size", "device", "segment", "unit_id", "features", "error")
_MAPPINGS = {
    "predictions": _Mapping("predictions", Prediction, _PREDICTION_COLUMNS, _prediction,
                            columns_of=_prediction_columns),
    # a shadow's outputs: the same rows in a table of their own, linked by request id
    "shadow-predictions": _Mapping("shadow_predictions", Prediction, _PREDICTION_COLUMNS,
                                   _prediction, columns_of=_prediction_columns),
    "outcomes": _Mapping("outcomes", Outcome, ("request_id", "ts", "kind", "value"), _outcome),
    "detector-reports": _Mapping("detector_reports", DetectorReport, (
        "ts", "detector", "model", "variant", "segment", "window_start", "window_end", "n",
        "statistic", "threshold", "p_value", "decision", "evidence"), _report),
    "alerts": _Mapping("alerts", Alert, (
        "fingerprint", "status", "severity", "model", "detector", "summary", "description",
        "labels", "starts_at", "ends_at", "evidence"), _alert),
    "retrain": _Mapping("retrain_events", RetrainRequested, (
        "id", "model", "reason", "evidence", "data_from", "data_to", "requested_at"), _retrain),
    "retrain-decisions": _Mapping("retrain_decisions", RetrainDecided, (
        "ts", "model", "status", "reason", "incident_start", "retrain_id"), _retrain_decision),
    "model-updates": _Mapping("model_versions", ModelUpdate, (
        "ts", "model", "version", "action", "artifact", "retrain_id", "parent", "alias",
        "previous", "content_hash", "device", "data_from", "data_to", "passed", "reason",
        "metrics", "traffic_split"), _model_update, _Side("validations", (
            "ts", "model", "version", "champion", "retrain_id", "check", "value", "threshold",
            "passed"), _validations), kind=ModelVersionPublished, extra=(_Mapping(
        "experiment_decisions", ModelUpdate, (
            "id", "ts", "experiment", "model", "champion", "challenger", "action", "metric",
            "test", "estimate", "lower", "upper", "p_value", "n_champion", "n_challenger",
            "srm_p_value", "reason"), _experiment, kind=ExperimentDecided), _Mapping(
        "shadow_decisions", ModelUpdate, _SHADOW_DECISION_COLUMNS, _shadow_decision,
        kind=ShadowDecided))),
}
_SOURCE = ("src_partition", "src_offset")
#: the default policy: unit ids dropped, every feature stored
_STORE_EVERYTHING_BUT_UNITS = PrivateFields()
_DEAD_COLUMNS = ("source_topic", "source_partition", "source_offset", "kind", "error", "size")


class RowMapper:
    """Turn records of inferwatch's topics into table rows."""

    def __init__(self, topics: Topics, max_record_bytes: int,
                 private: PrivateFields = _STORE_EVERYTHING_BUT_UNITS) -> None:
        self.topics = topics
        self.private = private
        self._by_topic = {topics.name(role): m for role, m in _MAPPINGS.items()}
        self._decoders = {name: BatchDecoder(m.event, max_record_bytes=max_record_bytes)
                          for name, m in self._by_topic.items()}

    @property
    def source_topics(self) -> list[str]:
        return [*self._by_topic, self.topics.dead_letter]

    @property
    def tables(self) -> set[str]:
        """Every table the mapped topics feed, side tables included."""
        return {"dead_letters", *(m.table for m in self._by_topic.values()),
                *(m.side.table for m in self._by_topic.values() if m.side is not None),
                *(x.table for m in self._by_topic.values() for x in m.extra)}

    def table_of(self, topic: str) -> str:
        return "dead_letters" if topic == self.topics.dead_letter else self._by_topic[topic].table

    def rows(self, topic: str, records: Sequence[RawRecord],
             headers: list[list[tuple[str, bytes]]] | None = None
             ) -> tuple[TableRows, list[Rejected]]:
        """Rows of ``records`` (all from ``topic``) and the records that failed to decode.

        Each record is decoded once; on a topic of several kinds, each event goes to the
        table of its kind.
        """
        if topic == self.topics.dead_letter:
            return _dead_rows(records, headers or [[] for _ in records]), []
        mapping = self._by_topic[topic]
        decoded = self._decoders[topic].decode(records)
        also = [_table_rows(extra, *_of_kind(extra, decoded.events, decoded.sources),
                            self.private) for extra in mapping.extra]
        events, sources = _of_kind(mapping, decoded.events, decoded.sources)
        main = _table_rows(mapping, events, sources, self.private)
        if mapping.side is not None:
            side = mapping.side
            side_rows = [[*row, src.partition, src.offset]
                         for e, src in zip(events, sources, strict=True) for row in side.rows(e)]
            if side_rows:
                also.append(TableRows.of_rows(side.table, side.columns + _SOURCE, side_rows))
        return (TableRows(mapping.table, mapping.columns + _SOURCE, main.data,
                          [t for t in also if len(t)]), decoded.rejected)


def _of_kind(mapping: _Mapping, events: list[Any], sources: list[RawRecord]
             ) -> tuple[list[Any], list[RawRecord]]:
    """The events (and their sources) a mapping stores: those of its kind."""
    if mapping.kind is None:
        return events, sources
    mine = [i for i, e in enumerate(events) if isinstance(e, mapping.kind)]
    return [events[i] for i in mine], [sources[i] for i in mine]


def _table_rows(mapping: _Mapping, events: list[Any], sources: list[RawRecord],
                private: PrivateFields) -> TableRows:
    """The rows of one table, each with its source partition and offset."""
    if mapping.columns_of is not None:
        data = mapping.columns_of(events, private)
    else:
        data = TableRows.of_rows(mapping.table, mapping.columns,
                                 [mapping.row(e, private) for e in events]).data
    data += [[s.partition for s in sources], [s.offset for s in sources]]
    return TableRows(mapping.table, mapping.columns + _SOURCE, data)


def _dead_rows(records: Sequence[RawRecord], headers: list[list[tuple[str, bytes]]]) -> TableRows:
    rows = []
    for rec, hdrs in zip(records, headers, strict=True):
        h = {k: v.decode("utf-8", "replace") for k, v in hdrs}
        rows.append([h.get(H_TOPIC, ""), int(h.get(H_PARTITION, 0) or 0),
                     int(h.get(H_OFFSET, 0) or 0), h.get(H_KIND, ""), h.get(H_ERROR, ""),
                     len(rec.value or b""), rec.partition, rec.offset])
    return TableRows.of_rows("dead_letters", _DEAD_COLUMNS + _SOURCE, rows)
