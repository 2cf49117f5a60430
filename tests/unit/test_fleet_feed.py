"""At fleet size pytest-html is given the reports of the items its table lists, each item's
reports together at its teardown, in order (certgate/report/html.py, listed_only)."""

from __future__ import annotations

from typing import Literal

import pytest

from certgate.report.html import listed_only
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
    hook = listed_only(lambda r: fed.append((r.nodeid, r.when)))
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
    hook = listed_only(lambda r: fed.append(r.when))
    setup, _, teardown = _reports("error", "passed", None)
    setup.outcome = "failed"
    hook(setup)
    hook(teardown)
    assert fed == ["setup", "teardown"]
