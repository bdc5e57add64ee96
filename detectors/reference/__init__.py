"""Reference profiles: what the detectors compare a window against.

Built from the user's data when a version is published, saved beside it, read by the
monitors and the decision step. Like all of :mod:`detectors`, numpy and scipy only.
"""
