"""Benchmarks of the provider through the real provider host: ``python -m b2c_policy_keys.bench --help``.

Graph requests per operation, overhead over the bare HTTP request, scale against the ideal for the service, cold
start against its floor, and the host's peak memory; printed as tables and written to ``BENCHMARKS.md``.
"""
