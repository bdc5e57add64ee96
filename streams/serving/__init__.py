"""Serving: the inference stage (requests in, predictions out), hot reload on
model-updates, model-load tickets, and the reference profiles the monitors compare against.

What a worker serves (a predictor per model and variant) lives in :mod:`inference`. May
import the ground floors, :mod:`streams.settings` and :mod:`streams.kafka`.
"""
