"""Which report readers let a plain pass be reported by its call alone (certgate/protocol.py,
phases_unread): judged by the module of the code each hook implementation runs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from certgate.protocol import REPORT_HOOKS, phases_unread


def _function_of(module: str) -> object:
    def hook() -> None:
        pass

    hook.__module__ = module
    return hook


def _impls(modules: list[str]) -> SimpleNamespace:
    """A hook caller whose implementations are functions of these modules."""
    found = [SimpleNamespace(function=_function_of(m)) for m in modules]
    return SimpleNamespace(get_hookimpls=lambda: found)


def _config(**modules: list[str]) -> object:
    """A config whose report hooks are implemented by functions of these modules."""
    hooks = {name: _impls(modules.get(name, [])) for name in REPORT_HOOKS}
    return SimpleNamespace(hook=SimpleNamespace(**hooks))


AUDIT_RUN = {
    "pytest_runtest_makereport": ["_pytest.runner", "_pytest.skipping", "pytest_html.plugin"],
    "pytest_runtest_logreport": ["_pytest.terminal", "_pytest.main", "certgate.report.junit"],
    "pytest_report_teststatus": ["_pytest.runner", "_pytest.terminal", "certgate.plugin"],
}


def test_an_audit_runs_plugins_read_no_passed_phase():
    assert phases_unread(_config(**AUDIT_RUN))  # type: ignore[arg-type]


@pytest.mark.parametrize("hook", REPORT_HOOKS)
@pytest.mark.parametrize(
    "module",
    [
        "_pytest.junitxml",  # --junitxml: a test case is closed at its teardown
        "pytest_html.basereport",  # pytest-html's table of every item
        "xdist.remote",  # a worker sends every report to the controller
        "certgate_own_conftest_1",  # an admin's conftest.py, not certgate's code
        "adminplugin",
    ],
)
def test_any_other_reader_gets_every_phase(hook: str, module: str):
    modules = {**AUDIT_RUN, hook: [*AUDIT_RUN[hook], module]}
    assert not phases_unread(_config(**modules))  # type: ignore[arg-type]
