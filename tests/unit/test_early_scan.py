"""The host scan starts while pytest collects only when the run keeps every target's items
(certgate/early_scan.py, may_start_early); a run that selects plans from what it kept."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from certgate.early_scan import may_start_early


def _config(tmp_path: Path, args: list[str], **options: object) -> pytest.Config:
    (tmp_path / "checks").mkdir(exist_ok=True)
    (tmp_path / "checks" / "test_hosts.py").write_text("", encoding="utf-8")
    option = SimpleNamespace(collectonly=False, keyword="", markexpr="", deselect=None)
    hooks = SimpleNamespace(get_hookimpls=lambda: [])
    plugin_hooks = dict.fromkeys(
        ["pytest_collection_modifyitems", "pytest_deselected", "pytest_ignore_collect"], hooks
    )
    for name, value in options.items():
        setattr(option, name, value)
    made = SimpleNamespace(
        option=option,
        args=args,
        invocation_params=SimpleNamespace(dir=tmp_path),
        hook=SimpleNamespace(**plugin_hooks),
    )
    return made  # type: ignore[return-value]


def test_a_run_of_every_check_starts_the_scan_early(tmp_path: Path):
    assert may_start_early(_config(tmp_path, ["checks"]))
    assert may_start_early(_config(tmp_path, [str(tmp_path / "checks")]))


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (["checks"], {"keyword": "shop"}),
        (["checks"], {"markexpr": "not slow"}),
        (["checks"], {"deselect": ["checks/test_hosts.py::test_https_binding[shop@1.2.3.4:443]"]}),
        (["checks"], {"lf": True}),
        (["checks"], {"stepwise": True}),
        (["checks"], {"ignore": ["checks/test_hosts.py"]}),
        (["checks"], {"ignore_glob": ["*hosts*"]}),
        (["checks"], {"collectonly": True}),
        (["checks/test_hosts.py"], {}),
        (["checks/test_hosts.py::test_https_binding"], {}),
    ],
)
def test_a_run_that_selects_plans_after_collecting(tmp_path: Path, args, options):
    assert not may_start_early(_config(tmp_path, args, **options))


def test_a_plugin_that_may_deselect_keeps_the_scan_for_after_collecting(tmp_path: Path):
    config = _config(tmp_path, ["checks"])
    foreign = SimpleNamespace(plugin_name="admin_plugin", plugin=SimpleNamespace(__name__="x"))
    config.hook.pytest_deselected = SimpleNamespace(get_hookimpls=lambda: [foreign])  # type: ignore[attr-defined]
    assert not may_start_early(config)
