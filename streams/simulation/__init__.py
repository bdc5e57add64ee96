"""Traffic for demos, tests and benchmarks: the simulator and its scenarios.

May import lines 1 to 4: :mod:`streams.wire`, :mod:`streams.telemetry`,
:mod:`streams.experiments`, :mod:`streams.settings`, :mod:`streams.kafka`; not the other
folders of line 5.
"""
