"""Monitoring: per-partition summaries of predictions (the monitor stage), the outcome
join, and the sighting of experiment units.

May import lines 1 to 5 (the ground floors, experiments, settings, kafka, and serving,
storage, alerting, health, simulation); not :mod:`streams.retraining`.
"""
