"""Test settings: never touch the network, keep the cache in a temporary folder, keep TF quiet."""

from __future__ import annotations

import os

# Set before TensorFlow or the helpers are imported by any test module.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["NST_OFFLINE"] = os.environ.get("NST_TEST_ONLINE") and "0" or "1"
os.environ.setdefault("MPLBACKEND", "Agg")
# precision="auto" would time bfloat16 on this machine and, where it is native, run every test in it; tests that
# are about the choice unset this (tests/test_precision.py).
os.environ.setdefault("NST_PRECISION", "float32")

import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory):
    """A private NST_CACHE for the whole test session, so tests never see a user's downloads."""
    cache = tmp_path_factory.mktemp("nst_cache")
    old = os.environ.get("NST_CACHE")
    os.environ["NST_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("NST_CACHE", None)
    else:
        os.environ["NST_CACHE"] = old


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `online` unless NST_TEST_ONLINE=1."""
    if os.environ.get("NST_TEST_ONLINE") == "1":
        return
    skip = pytest.mark.skip(reason="needs the network; set NST_TEST_ONLINE=1 to run")
    for item in items:
        if "online" in item.keywords:
            item.add_marker(skip)


# Property-based tests (tests/test_properties.py): a fixed number of examples from a fixed seed, so every run and CI
# try the same inputs within the unit tests' time; HYPOTHESIS_PROFILE=explore tries many more, new ones each run.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is in requirements.txt; without it only the property tests fail
    pass
else:
    settings.register_profile("ci", max_examples=20, derandomize=True, deadline=None, database=None, print_blob=True,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    settings.register_profile("explore", max_examples=300, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
