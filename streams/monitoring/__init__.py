"""Monitoring: per-partition summaries of predictions (the monitor stage), the outcome
join, and the sighting of experiment units.

May import everything below it: the ground floors, settings, kafka, serving, storage,
alerting and health.
"""
