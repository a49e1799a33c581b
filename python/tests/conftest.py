"""Shared fixtures of the libeql Python tests.

The module is imported from PYTHONPATH (scripts/test points it at
<build>/python); EQL_BUILD_DIR names that build folder, for eql-gen.
"""
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def _missing(what):
    # Under CI a missing input is a broken checkout, not a reason to skip:
    # a skipped test there would pass without testing anything.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing and CI=true")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def shared_dir():
    """The shared data folder: $EQL_SHARED_DIR, else <repo>/../shared."""
    path = pathlib.Path(os.environ.get("EQL_SHARED_DIR") or REPO.parent / "shared")
    if not path.is_dir():
        _missing(f"shared data folder {path} (set EQL_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def build_dir():
    """The CMake build folder that holds bin/eql-gen ($EQL_BUILD_DIR)."""
    value = os.environ.get("EQL_BUILD_DIR")
    if not value:
        _missing("EQL_BUILD_DIR (the CMake build folder)")
    return pathlib.Path(value)


@pytest.fixture(scope="session")
def missing():
    """missing(what): skip, or fail under CI=true."""
    return _missing
