"""Test harness shared by every resource's tests: the real provider host over gRPC (``host``), root projects for
the engine stand-in (``programs``) and certificates (``pki``)."""
