"""Issue 7, tests half: the fault matrix, concurrency, restart, hostile input, secret scans and TLS."""
