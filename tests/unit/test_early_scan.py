"""The host scan starts while pytest collects only when the run keeps every target's items
(certgate/plugin.py, selects_every_target); a run that selects plans from what it kept."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from certgate.plugin import selects_every_target


def _config(tmp_path: Path, args: list[str], **options: object) -> pytest.Config:
    (tmp_path / "checks").mkdir(exist_ok=True)
    (tmp_path / "checks" / "test_hosts.py").write_text("", encoding="utf-8")
    option = SimpleNamespace(collectonly=False, keyword="", markexpr="", deselect=None)
    for name, value in options.items():
        setattr(option, name, value)
    made = SimpleNamespace(
        option=option, args=args, invocation_params=SimpleNamespace(dir=tmp_path)
    )
    return made  # type: ignore[return-value]


def test_a_run_of_every_check_starts_the_scan_early(tmp_path: Path):
    assert selects_every_target(_config(tmp_path, ["checks"]))
    assert selects_every_target(_config(tmp_path, [str(tmp_path / "checks")]))


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (["checks"], {"keyword": "shop"}),
        (["checks"], {"markexpr": "not slow"}),
        (["checks"], {"deselect": ["checks/test_hosts.py::test_https_binding[shop@1.2.3.4:443]"]}),
        (["checks"], {"lf": True}),
        (["checks"], {"stepwise": True}),
        (["checks"], {"collectonly": True}),
        (["checks/test_hosts.py"], {}),
        (["checks/test_hosts.py::test_https_binding"], {}),
    ],
)
def test_a_run_that_selects_plans_after_collecting(tmp_path: Path, args, options):
    assert not selects_every_target(_config(tmp_path, args, **options))
