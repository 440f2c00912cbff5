"""Placeholder: the real API-server fixtures land with the test-cluster work."""
