"""What people read: the HTML report, its queries and sections, SVG charts, Grafana
provisioning, and how a time is written for them.

May import lines 1 to 7, :mod:`streams.decision` included.
"""
