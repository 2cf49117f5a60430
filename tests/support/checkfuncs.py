"""Import the real check modules of checks/ so a self-test can call a check directly.

The checks carry the ``certgate_control`` marker, which the certgate plugin registers; the
self-tests run without that plugin under ``--strict-markers``, so it is registered here
before the import.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest


def load_checks(config: pytest.Config, module: str) -> ModuleType:
    """``checks.<module>``, importable under the self-tests' strict markers."""
    config.addinivalue_line("markers", "certgate_control(id): the catalogue control a check tests")
    return importlib.import_module(f"checks.{module}")
