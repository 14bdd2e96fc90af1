"""Throughput benchmark of the service against the emulator at the provider's limits."""
