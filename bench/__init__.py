"""Benchmarks run by ``telesales bench NAME``. Each module has a ``register()`` function."""
