"""Test harness shared by every resource's tests: the real provider host over gRPC (``host``) and program mocks
that delegate to the unpickled providers (``mocks``)."""
