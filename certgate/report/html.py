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
from certgate.report.environment import stamp, trust_store_dates, versions
from certgate.report.evidence import evidence_of
from certgate.report.results import Outcome, Results

_RANK = {
    Outcome.ERROR: 5,
    Outcome.FAILED: 4,
    Outcome.WARNING: 3,
    Outcome.WAIVED: 2,
    Outcome.PASSED: 1,
}
_SYMBOL = {
    Outcome.PASSED: "pass",
    Outcome.FAILED: "FAIL",
    Outcome.WARNING: "warn",
    Outcome.ERROR: "ERROR",
    Outcome.WAIVED: "waived",
}


class HtmlReport:
    """The pytest-html side of certgate."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @property
    def _results(self) -> Results:
        from certgate.stash import RESULTS

        return self.config.stash[RESULTS]

    @pytest.hookimpl(tryfirst=True)  # before pytest-html reads the environment table
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._environment()["certgate started"] = stamp(self._results.started)
        self._environment()["certgate as of"] = as_of_text(self._results)

    @pytest.hookimpl(tryfirst=True)  # before pytest-html writes the report
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._environment()["certgate finished"] = stamp(datetime.now(UTC))

    def _environment(self) -> dict[str, object]:
        """pytest-metadata's table, with what the audit ran with (set once)."""
        from pytest_metadata.plugin import metadata_key

        table: dict[str, object] = self.config.stash[metadata_key]
        if "certgate" not in table:
            table.update(versions())
            table["trust stores (sslyze)"] = trust_store_dates()
            from certgate.stash import INVENTORY

            inventory = self.config.stash[INVENTORY]
            table["targets file"] = str(inventory.path)
            table["targets file SHA-256"] = inventory.sha256
        return table

    def pytest_html_report_title(self, report: object) -> None:
        report.title = report_title(self._results)  # type: ignore[attr-defined]

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(1, '<th class="sortable" data-column-type="target">Target</th>')
        cells.insert(2, '<th class="sortable" data-column-type="control">Control</th>')
        cells.insert(3, '<th data-column-type="manual">Manual §</th>')

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        # a collection error's row is a CollectReport, which has no user properties
        props = {k: str(v) for k, v in getattr(report, "user_properties", ())}
        cells.insert(1, f'<td class="col-target">{escape(props.get("target", ""))}</td>')
        cells.insert(2, f'<td class="col-control">{escape(props.get("control", ""))}</td>')
        cells.insert(3, f'<td class="col-manual">{escape(props.get("manual", ""))}</td>')

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        from certgate.stash import INVENTORY

        order = [t.name for t in self.config.stash[INVENTORY].targets]
        prefix.append(matrix_html(self._results, order))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        verdict = getattr(report, "certgate", None)
        if verdict is None or verdict[0] is Outcome.PASSED:
            return report
        from pytest_html import extras

        from certgate.stash import ITEM_CONTROL

        control = item.stash[ITEM_CONTROL]
        parts = [remediation_html(control, verdict[0], verdict[1])]
        funcargs = getattr(item, "funcargs", {})
        parts.extend(evidence_of(list(funcargs.values())))
        report.extras = [*getattr(report, "extras", []), extras.html("".join(parts))]  # type: ignore[attr-defined]
        return report


def report_title(results: Results) -> str:
    """``certgate audit — targets.yaml — 2026-11-26``: the inventory and the day it was judged
    as of (``--now``, else the day of the run)."""
    title = f"certgate audit — {results.targets_file.name} — {results.as_of:%Y-%m-%d}"
    if results.as_of.date() != results.started.date():
        title += f" (as of, with --now; run on {results.started:%Y-%m-%d})"
    return title


def as_of_text(results: Results) -> str:
    """The time every verdict was judged at, and whether it was the run's own."""
    note = "the start of the run" if results.as_of == results.started else "--now"
    return f"{stamp(results.as_of)} ({note})"


def remediation_html(control: Control, outcome: Outcome, message: str) -> str:
    """The finding and its fix, in English and Traditional Chinese (errors: what to check)."""
    head = (
        f"<p><b>{escape(control.id)}</b> (manual § {escape(control.citation)}): "
        f"{escape(control.title)}</p>"
    )
    if outcome is Outcome.ERROR:
        body = (
            f"<p><b>Could not audit:</b> {escape(message)}</p>"
            "<p><b>Check:</b> the file or host named above is the right one, readable, and of "
            "the kind this control needs; the item is neither passed nor failed until it can "
            "be audited.</p>"
            '<p lang="zh-Hant"><b>請確認：</b>上述檔案或主機正確、可讀取且格式符合；'
            "在能完成稽核之前，此項目不視為通過。</p>"
        )
    else:
        body = (
            f"<p><b>Finding:</b> {escape(message)}</p>"
            f"<p><b>Fix:</b> {escape(control.remediation_en)}</p>"
            f'<p lang="zh-Hant"><b>修正方式：</b>{escape(control.remediation_zh)}</p>'
        )
    return f'<div class="certgate-finding">{head}{body}</div>'


_MATRIX_CSS = (
    "<style>#certgate-matrix{border-collapse:collapse;margin:8px 0}"
    "#certgate-matrix th,#certgate-matrix td{border:1px solid #ccc;padding:2px 6px;"
    "font-size:12px;text-align:center}"
    ".certgate-passed{background:#d4f4d4}.certgate-failed{background:#f8c8c8;font-weight:bold}"
    ".certgate-warning{background:#fde9b8}.certgate-error{background:#e0c8f0;font-weight:bold}"
    ".certgate-waived{background:#dde8f8}.certgate-na{color:#999}.certgate-finding p{margin:4px 0}"
    ".certgate-evidence{border-collapse:collapse;margin:6px 0;font-size:12px}"
    ".certgate-evidence th,.certgate-evidence td{border:1px solid #ddd;padding:2px 6px;"
    "text-align:left}</style>"
)


def matrix_html(results: Results, order: list[str] | None = None) -> str:
    """Targets × controls: the worst outcome of each cell's items, n.a. when none.

    Rows follow ``order`` (the inventory's) where given; waiver rows and the like come last.
    """
    worst: dict[tuple[str, str], Outcome] = {}
    targets: list[str] = []
    for row in results.rows:
        if row.target not in targets:
            targets.append(row.target)
        cell = (row.target, row.control)
        if cell not in worst or _RANK[row.outcome] > _RANK[worst[cell]]:
            worst[cell] = row.outcome
    rank = {name: i for i, name in enumerate(order or [])}
    targets.sort(key=lambda t: rank.get(t, len(rank)))
    controls = [c for c in (*CATALOGUE, "waiver") if any(k[1] == c for k in worst)]
    head = "".join(f"<th>{escape(c)}</th>" for c in controls)
    body = "".join(_matrix_row(t, controls, worst) for t in targets)
    counts = ", ".join(f"{n} {o}" for o, n in results.summary().items())
    return _MATRIX_CSS + (
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
