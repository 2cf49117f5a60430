"""Shared fixtures of the self-tests: the lab PKI and the demo lab, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from certgate.lab import demo
from tests.support.audit import Audit, demo_targets, project, run

REPO = Path(__file__).resolve().parent.parent
KINDS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each self-test by its folder, so `-m unit` (or integration, e2e) runs one kind."""
    for item in items:
        kind = next((k for k in KINDS if k in item.path.parts), None)
        if kind is not None:
            item.add_marker(kind)


@pytest.fixture(scope="session")
def chains() -> demo.Chains:
    """Fresh lab CAs: 3-tier and 4-tier."""
    return demo.make_chains()


@pytest.fixture(scope="session")
def demo_lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo lab, built once into a temporary folder."""
    folder = tmp_path_factory.mktemp("lab") / ".lab"
    demo.ensure_lab(folder)
    return folder


@pytest.fixture(scope="session")
def demo_audit(demo_lab: Path, tmp_path_factory: pytest.TempPathFactory) -> Audit:
    """The shipped targets.yaml audited once, as `make audit` does, against the demo lab.

    The audit starts the lab's HTTPS hosts itself (targets.yaml has ``lab:``).
    """
    folder = project(tmp_path_factory.mktemp("demo"), demo_targets(demo_lab))
    return run(folder)
