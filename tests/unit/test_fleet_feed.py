"""At fleet size pytest-html is given the reports of the items its table lists, each item's
reports together at its teardown, in order (certgate/report/html.py, ListedOnly)."""

from __future__ import annotations

from typing import Literal

import pytest

from certgate.report.html import ListedOnly
from certgate.report.results import Outcome

PROPS = [("control", "rsa-2048"), ("manual", "5.1.5"), ("target", "t"), ("subject", "csr")]


Phase = Literal["passed", "failed", "skipped"]


def _reports(nodeid: str, call_outcome: Phase, verdict: Outcome | None, props=PROPS):
    made = []
    for when in ("setup", "call", "teardown"):
        outcome: Phase = call_outcome if when == "call" else "passed"
        report = pytest.TestReport(
            nodeid, ("f.py", 1, nodeid), {}, outcome, None, when, (), 0, 0, 0, props
        )
        if when == "call" and verdict is not None:
            report.certgate = (verdict, "")  # type: ignore[attr-defined]
        made.append(report)
    return made


def test_only_listed_items_reach_pytest_html_whole_and_in_order():
    fed: list[tuple[str, str]] = []
    hook = ListedOnly(lambda r: fed.append((r.nodeid, r.when))).pytest_runtest_logreport
    items = {
        "passed": _reports("passed", "passed", Outcome.PASSED),
        "failed": _reports("failed", "failed", Outcome.FAILED),
        "warning": _reports("warning", "passed", Outcome.WARNING),
        "waived": _reports("waived", "skipped", Outcome.WAIVED),
        "not-certgate": _reports("not-certgate", "passed", None, props=[]),
    }
    for reports in items.values():
        for report in reports[:2]:
            hook(report)
        assert fed == [] or fed[-1][1] == "teardown"  # nothing passed on before a teardown
        hook(reports[2])
    listed = ["failed", "warning", "waived", "not-certgate"]
    assert fed == [(n, w) for n in listed for w in ("setup", "call", "teardown")]


def test_an_item_whose_setup_failed_is_listed():
    fed: list[str] = []
    hook = ListedOnly(lambda r: fed.append(r.when)).pytest_runtest_logreport
    setup, _, teardown = _reports("error", "passed", None)
    setup.outcome = "failed"
    hook(setup)
    hook(teardown)
    assert fed == ["setup", "teardown"]


def test_a_pass_reported_by_its_call_alone_is_not_held_past_its_end():
    """certgate.protocol may report a plain pass by its call report alone: no teardown comes,
    and the item's end drops what was held (nothing kept per passed item at fleet size)."""
    fed: list[str] = []
    listed = ListedOnly(lambda r: fed.append(r.nodeid))
    _, call, _ = _reports("checks/test_keys.py::test_rsa_2048[t:csr]", "passed", Outcome.PASSED)
    listed.pytest_runtest_logreport(call)
    assert listed.pending  # held, as for any item before its teardown
    # the item's own id, as collected from the installed package: its reports carry the stable one
    listed.pytest_runtest_logfinish(
        "site-packages/certgate/checks/test_keys.py::test_rsa_2048[t:csr]"
    )
    assert listed.pending == {}
    assert fed == []
