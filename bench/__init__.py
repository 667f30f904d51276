"""Benchmark of the pipeline against its ceilings on the embedded stack (``make bench``)."""
