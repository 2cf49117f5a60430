"""pytest-html hooks: columns, title, summary matrix, remediation and evidence.

Registered only when pytest-html is active. Every value from certificates, files or the
targets file is escaped; nothing here ever reads a private key or a password.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from datetime import UTC, datetime
from html import escape

import pytest

from certgate.controls import CATALOGUE, Control
from certgate.evidence import evidence_of
from certgate.results import Outcome, Results

_RANK = {Outcome.ERROR: 4, Outcome.FAILED: 3, Outcome.WARNING: 2, Outcome.PASSED: 1}
_SYMBOL = {
    Outcome.PASSED: "pass",
    Outcome.FAILED: "FAIL",
    Outcome.WARNING: "warn",
    Outcome.ERROR: "ERROR",
}


class HtmlReport:
    """The pytest-html side of certgate."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @property
    def _results(self) -> Results:
        from certgate.plugin import RESULTS

        return self.config.stash[RESULTS]

    def pytest_html_report_title(self, report: object) -> None:
        inventory = self._results.targets_file.name
        report.title = f"certgate audit — {inventory} — {datetime.now(UTC):%Y-%m-%d}"  # type: ignore[attr-defined]

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(1, '<th class="sortable" data-column-type="target">Target</th>')
        cells.insert(2, '<th class="sortable" data-column-type="control">Control</th>')
        cells.insert(3, '<th data-column-type="manual">Manual §</th>')

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        props = {k: str(v) for k, v in report.user_properties}
        cells.insert(1, f'<td class="col-target">{escape(props.get("target", ""))}</td>')
        cells.insert(2, f'<td class="col-control">{escape(props.get("control", ""))}</td>')
        cells.insert(3, f'<td class="col-manual">{escape(props.get("manual", ""))}</td>')

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        prefix.append(matrix_html(self._results))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        verdict = getattr(report, "certgate", None)
        if verdict is None or verdict[0] is Outcome.PASSED:
            return report
        from pytest_html import extras

        from certgate.plugin import ITEM_CONTROL

        control = item.stash[ITEM_CONTROL]
        parts = [remediation_html(control, verdict[1])]
        funcargs = getattr(item, "funcargs", {})
        parts.extend(evidence_of(list(funcargs.values())))
        report.extras = [*getattr(report, "extras", []), extras.html("".join(parts))]  # type: ignore[attr-defined]
        return report


def remediation_html(control: Control, message: str) -> str:
    """The finding and its fix, in English and Traditional Chinese."""
    return (
        '<div class="certgate-finding">'
        f"<p><b>{escape(control.id)}</b> (manual § {escape(control.citation)}): "
        f"{escape(control.title)}</p>"
        f"<p><b>Finding:</b> {escape(message)}</p>"
        f"<p><b>Fix:</b> {escape(control.remediation_en)}</p>"
        f'<p lang="zh-Hant"><b>修正方式：</b>{escape(control.remediation_zh)}</p>'
        "</div>"
    )


def matrix_html(results: Results) -> str:
    """Targets × controls: the worst outcome of each cell's items, n.a. when none."""
    worst: dict[tuple[str, str], Outcome] = {}
    targets: list[str] = []
    for row in results.rows:
        if row.target not in targets:
            targets.append(row.target)
        cell = (row.target, row.control)
        if cell not in worst or _RANK[row.outcome] > _RANK[worst[cell]]:
            worst[cell] = row.outcome
    controls = [c for c in CATALOGUE if any(k[1] == c for k in worst)]
    head = "".join(f"<th>{escape(c)}</th>" for c in controls)
    body = "".join(_matrix_row(t, controls, worst) for t in targets)
    counts = ", ".join(f"{n} {o}" for o, n in results.summary().items())
    return (
        f'<h2>Compliance matrix</h2><p class="certgate-counts">{escape(counts)}</p>'
        f'<table id="certgate-matrix"><tr><th>target</th>{head}</tr>{body}</table>'
    )


def _matrix_row(target: str, controls: Iterable[str], worst: dict[tuple[str, str], Outcome]) -> str:
    cells = []
    for control in controls:
        outcome = worst.get((target, control))
        text = _SYMBOL[outcome] if outcome else "n.a."
        css = outcome.value if outcome else "na"
        cells.append(f'<td class="certgate-{css}">{text}</td>')
    return f"<tr><th>{escape(target)}</th>{''.join(cells)}</tr>"
