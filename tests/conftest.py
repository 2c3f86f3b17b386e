"""Hypothesis profiles for the whole suite.

    dev       quick default for a developer's machine (25 examples)
    thorough  search harder before a release: HYPOTHESIS_PROFILE=thorough pytest
    ci        deterministic (derandomize=True): the same examples on every run, so CI never flakes

HYPOTHESIS_PROFILE picks one; without it, "ci" when the CI variable is set, else "dev".
"""
import os

# One BLAS thread: on a busy 2-core machine OpenBLAS's spinning worker threads make the course networks
# several times slower; results are the same either way. Set before NumPy loads its BLAS.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, print_blob=True)

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
