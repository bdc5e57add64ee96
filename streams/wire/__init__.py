"""What travels on the topics: the events, their codec, the topic names, dead letters.

The ground floor of ``streams``: imports nothing of ``streams`` but :mod:`streams.errors`.
Every other folder may import it.
"""
