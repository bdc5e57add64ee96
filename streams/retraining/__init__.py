"""Retraining on the stream: the retrain worker and the labelled examples it trains on.

May import lines 1 to 5 (the ground floors, experiments, settings, kafka, and serving,
storage, alerting, health, simulation); not :mod:`streams.monitoring`.
"""
