"""Benchmarks of the provider through the real provider host: ``python -m b2c_policy_keys.bench --help``.

Graph requests per operation, overhead over the bare HTTP request, scale against the ideal for the service, cold
start against its floor, and the host's peak memory; printed as tables and written to ``BENCHMARKS.md``. The scale
run drives a real program through the engine stand-in (``b2c_policy_keys.testing.engine``). Two focused benchmarks
run on their own: ``python -m b2c_policy_keys.bench.client_overhead`` (the Graph client against a bare ``requests``
GET) and ``python -m b2c_policy_keys.bench.emulator_throughput`` (the emulator's requests per second and memory).
"""
