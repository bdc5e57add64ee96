"""Traffic for demos, tests and benchmarks: the simulator and its scenarios.

May import every folder below it.
"""
