"""What people read: the HTML report, its queries and sections, SVG charts, Grafana
provisioning, and how a time is written for them.

May import every folder below it, :mod:`streams.decision` included.
"""
