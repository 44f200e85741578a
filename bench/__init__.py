"""ltc-gateway's benchmark: `bench/run` (or `python -m bench`), see README "Benchmarks". Not part of the tests."""
