"""Hypothesis profiles for the whole suite.

    dev       quick default for a developer's machine (25 examples)
    thorough  search harder before a release: HYPOTHESIS_PROFILE=thorough pytest
    ci        deterministic (derandomize=True): the same examples on every run, so CI never flakes

HYPOTHESIS_PROFILE picks one; without it, "ci" when the CI variable is set, else "dev".
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, print_blob=True)

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
