"""The ``inferwatch`` command: one module per command; ``main`` parses and dispatches.

The top floor beside :mod:`streams.app`: may import every folder.
"""
