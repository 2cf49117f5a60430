"""When certgate's item protocol batches plain items (certgate/protocol.py ``can_batch``):
decided from the run's plugins and options, each condition on its own."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from certgate.protocol import can_batch


def _impl(name: str, module: str) -> SimpleNamespace:
    plugin = SimpleNamespace(__name__=module)
    return SimpleNamespace(plugin_name=name, plugin=plugin)


_PYTEST_OWN = {
    "pytest_runtestloop": [_impl("main", "_pytest.main"), _impl("certgate-protocol", "x")],
    "pytest_runtest_protocol": [
        _impl("runner", "_pytest.runner"),
        _impl("warnings", "_pytest.warnings"),
    ],
    "pytest_assertion_pass": [],
}


def _config(impls: dict[str, list[Any]], faulthandler: object) -> Any:
    def getini(name: str) -> object:
        assert name == "faulthandler_timeout"
        if isinstance(faulthandler, Exception):
            raise faulthandler
        return faulthandler

    hook = SimpleNamespace(
        **{
            name: SimpleNamespace(get_hookimpls=lambda found=found: found)
            for name, found in impls.items()
        }
    )
    return SimpleNamespace(getini=getini, hook=hook)


def test_pytest_and_certgate_alone_batch():
    assert can_batch(_config(_PYTEST_OWN, 0.0))


def test_without_the_faulthandler_plugin_its_option_is_unknown_and_items_batch():
    assert can_batch(_config(_PYTEST_OWN, ValueError("unknown configuration value")))


def test_a_faulthandler_timeout_is_per_protocol_call():
    assert not can_batch(_config(_PYTEST_OWN, 30.0))
    assert not can_batch(_config(_PYTEST_OWN, "30"))


@pytest.mark.parametrize(
    ("hook", "plugin"),
    [
        ("pytest_runtestloop", _impl("dsession", "xdist.dsession")),
        ("pytest_runtest_protocol", _impl("rerunfailures", "pytest_rerunfailures")),
        ("pytest_assertion_pass", _impl("mine", "conftest")),
    ],
)
def test_a_plugin_of_its_own_on_the_loop_the_protocol_or_passing_assertions(hook, plugin):
    impls = {name: list(found) for name, found in _PYTEST_OWN.items()}
    impls[hook].append(plugin)
    assert not can_batch(_config(impls, 0.0))
