"""Retraining on the stream: the retrain worker and the labelled examples it trains on.

May import everything below it: the ground floors, settings, kafka, serving, storage,
alerting and health.
"""
