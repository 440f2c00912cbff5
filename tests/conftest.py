"""Shared pytest configuration.

Cluster fixtures live in tests/cluster_fixtures.py (a plugin), so tests that never touch the
API server do not pay for importing it.
"""

pytest_plugins = ["tests.cluster_fixtures"]
