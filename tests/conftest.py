"""Fixtures shared by the core test modules (computed once per test session)."""

import pytest

import lmmviz


@pytest.fixture(scope="session")
def seed():
    return lmmviz.seed()


@pytest.fixture(scope="session")
def cmp_slope(seed):
    return lmmviz.compare(seed, "slope")


@pytest.fixture(scope="session")
def cmp_intercept(seed):
    return lmmviz.compare(seed, "intercept")
