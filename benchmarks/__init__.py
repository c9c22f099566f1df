"""Benchmarks of lmmviz against statsmodels and lme4 (speed, memory, correctness).

Run ``python -m benchmarks.run`` from the repository root; see benchmarks/README.md.
"""
