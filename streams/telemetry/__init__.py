"""The worker's own signals: readiness, the web port, operations metrics, progress bars.

On the ground floor beside :mod:`streams.wire`: imports nothing of ``streams`` but
:mod:`streams.errors`. Every other folder may import it.
"""
