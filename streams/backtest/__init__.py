"""Backtests: recorded traffic replayed through the worker's own decision code, offline.

``traffic`` is the recorded source (ClickHouse's rows, the topics' retained history, a
JSONL file), ``replay`` runs it through the stages :mod:`streams.decision.stages` builds
on the records' event time, ``episodes`` compares the incidents of two runs, ``rule_tests``
is the folder of recorded scenarios with the incidents each must produce, ``recorder``
records a simulator scenario into one, and ``section`` writes the comparison as text and
as a report section. Nothing here sends a record.
"""
