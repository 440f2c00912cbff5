"""The test environment: one module per component the tests start (app repository, cluster, …)."""
