"""Run the Examples sections of the part-B analysis modules (factors, CFA) as doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["analysis.factors", "analysis.cfa"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
