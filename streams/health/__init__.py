"""The pipeline's own health: dead-letter rates and consumer lag, judged and paged.

May import the ground floors, :mod:`streams.settings` and :mod:`streams.kafka`.
"""
