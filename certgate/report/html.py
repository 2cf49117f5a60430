"""pytest-html hooks: certgate's one count, findings first, pictures, changes; printable.

Registered only when pytest-html is active. pytest-html counts and filters pytest's outcomes
with a fixed set of filter names (its script knows no others): each certgate outcome is given
one of those names (:data:`FILTER_KEY`) and its own label, so the filters, the rows and the
header all count certgate's outcomes. Every value from certificates, files or the targets
file is escaped; nothing here ever reads a private key or a password.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from datetime import UTC, datetime
from html import escape
from typing import Any

import pytest

from certgate.controls import CATALOGUE, Control
from certgate.report.changes import Change, Changes
from certgate.report.environment import stamp, trust_store_dates, versions
from certgate.report.evidence import (
    OFFERED_NOT_NEGOTIATED,
    OFFERED_NOT_NEGOTIATED_ZH,
    evidence_of,
    hardening_html,
)
from certgate.report.findings import Cell, findings, row_anchor
from certgate.report.pictures import outcome_bars_svg, timeline_svg
from certgate.report.results import Outcome, Results, certgate_report, stable_nodeid

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
# pytest-html's script filters rows by these names only; each certgate outcome borrows one.
FILTER_KEY = {
    Outcome.PASSED: "passed",
    Outcome.FAILED: "failed",
    Outcome.WARNING: "xpassed",
    Outcome.ERROR: "error",
    Outcome.WAIVED: "xfailed",
}
_UNUSED_FILTERS = ("skipped", "rerun", "retried")
# The results table lists findings first (pytest-html would put errors first).
_TABLE_ORDER = (Outcome.FAILED, Outcome.WARNING, Outcome.ERROR, Outcome.WAIVED, Outcome.PASSED)


# Past this many items the results table lists the findings only: a fleet's report stays
# small and quick to open (SPEC §6: at most 2 MB at 1,000 endpoints, about 12,600 items),
# and its passed items are counted in the summary, the matrix and results.json.
FLEET_ITEMS = 2000


class HtmlReport:
    """The pytest-html side of certgate."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._report_data: Any = None  # pytest-html's ReportData, handed over by its title hook
        self.fleet = False  # more than FLEET_ITEMS items: passed rows are not listed

    @pytest.hookimpl(trylast=True)  # after -k and --shard have deselected
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.fleet = len(session.items) > FLEET_ITEMS
        if self.fleet:
            _feed_listed_only(session.config.pluginmanager)

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
        self._environment()["trust stores (sslyze)"] = trust_store_dates()  # now that it scanned
        if self._report_data is not None:
            self._count_certgate_outcomes(self._report_data)

    def _count_certgate_outcomes(self, data: Any) -> None:
        """pytest-html's filters and table, counted and ordered by certgate's outcomes."""
        summary = self._results.summary()
        outcomes = {
            FILTER_KEY[o]: {"label": o.value.capitalize(), "value": summary[o.value]}
            for o in Outcome
            if o.value in summary
        }
        for name in (*FILTER_KEY.values(), *_UNUSED_FILTERS):  # its script looks each one up
            outcomes.setdefault(name, {"label": "", "value": 0})
        data._outcomes = outcomes  # ReportData has no setter for the whole table
        rank = {row.nodeid: _TABLE_ORDER.index(row.outcome) for row in self._results.rows}
        tests = data.data["tests"]
        if self.fleet:  # rows left out of the table (FLEET_ITEMS) leave an empty entry each
            tests = {nodeid: runs for nodeid, runs in tests.items() if runs}
        ordered = sorted(tests, key=lambda nodeid: rank.get(nodeid, -1))
        data.set_data("tests", {nodeid: tests[nodeid] for nodeid in ordered})
        data.set_data("initialSort", "original")

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

    def pytest_html_report_title(self, report: Any) -> None:
        self._report_data = report
        report.title = report_title(self._results)

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells[1] = '<th class="sortable certgate-key" data-column-type="testId">Row</th>'
        cells[1:1] = [
            '<th class="sortable" data-column-type="target">Target</th>',
            '<th class="sortable" data-column-type="control">Control</th>',
            '<th data-column-type="manual">Manual §</th>',
            '<th data-column-type="item">Item</th>',
        ]
        # read last for each row's "result": the pytest-html filter its outcome borrows
        cells.append('<th class="sortable certgate-key" data-column-type="result"></th>')

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        # a collection error's row is a CollectReport, which has no user properties
        verdict: tuple[Outcome, str] | None = getattr(report, "certgate", None)
        if self.fleet and verdict is not None and verdict[0] is Outcome.PASSED:
            cells.clear()  # counted, not listed (FLEET_ITEMS)
            return
        if _unshown_phase(report):
            cells.clear()  # pytest-html adds no row for it: no need to build one
            return
        props = {k: str(v) for k, v in getattr(report, "user_properties", ())}
        key = cells[0].split(">", 1)[1].rsplit("<", 1)[0]  # pytest-html's own word
        if verdict is not None:
            outcome = verdict[0]
            cells[0] = (
                f'<td class="col-result certgate-{outcome.value}">{outcome.value.capitalize()}</td>'
            )
            key = FILTER_KEY[outcome]
        cells[1] = f'<td class="col-testId certgate-key">{row_anchor(report.nodeid)}</td>'
        cells[1:1] = [
            f'<td class="col-target">{escape(props.get("target", ""))}</td>',
            f'<td class="col-control">{escape(props.get("control", ""))}</td>',
            f'<td class="col-manual">{escape(props.get("manual", ""))}</td>',
            f'<td class="col-item">{escape(props.get("subject", report.nodeid))}</td>',
        ]
        cells.append(f'<td class="col-result certgate-key">{key}</td>')

    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        """The finding is in the row's details already: no second copy in a traceback box."""
        if getattr(report, "certgate", None) is not None:
            data.clear()

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        from certgate.stash import INVENTORY

        order = [t.name for t in self.config.stash[INVENTORY].targets]
        results = self._results
        found = findings(results.rows, link_passed=not self.fleet)
        prefix.append(_CSS + overview_html(results))
        if self.fleet:
            passed = results.summary()[Outcome.PASSED.value]
            prefix.append(
                f"<p>A fleet-size audit: the results table lists the findings; the {passed} "
                "passed items are counted above, in the matrix and in results.json.</p>"
            )
        changes = results.changes()
        if changes is not None:
            prefix.append(changes_html(changes))
        prefix.append(matrix_html(results, order, found.anchors))
        prefix.append(pictures_html(results, self.fleet))
        prefix.append(hardening_note_html(results))
        prefix.append(found.html)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        verdict = getattr(report, "certgate", None)
        if verdict is None:
            return report
        lines = getattr(report, "certgate_evidence", ())
        from pytest_html import extras

        from certgate.stash import ITEM_CONTROL

        # a passed hardening item shows what proves it, unless the report lists findings only
        if verdict[0] is Outcome.PASSED:
            if lines and not self.fleet:
                html = hardening_html(_subject(report), lines)
                report.extras = [*getattr(report, "extras", []), extras.html(html)]  # type: ignore[attr-defined]
            return report
        control = item.stash[ITEM_CONTROL]
        parts = [remediation_html(control, verdict[0], verdict[1])]
        if lines:  # the lines say what was judged (no chain PEM again for every control)
            parts.append(hardening_html(_subject(report), lines))
        else:
            parts.extend(evidence_of(list(getattr(item, "funcargs", {}).values())))
        report.extras = [*getattr(report, "extras", []), extras.html("".join(parts))]  # type: ignore[attr-defined]
        return report


def _feed_listed_only(plugins: pytest.PytestPluginManager) -> None:
    """At fleet size, pytest-html is given the reports of the items its table lists (every
    item but a certgate one that passed), not all three reports of every item: it builds and
    keeps a row's data for each report it gets, and its counts are certgate's anyway
    (``_count_certgate_outcomes``). Its hook is swapped by registering it again."""
    from pytest_html.basereport import BaseReport

    for plugin in plugins.get_plugins():
        hook = getattr(plugin, "pytest_runtest_logreport", None)
        if isinstance(plugin, BaseReport) and not hasattr(hook, "listed_only"):
            name = plugins.get_name(plugin)
            plugins.unregister(plugin)
            held = ListedOnly(plugin.pytest_runtest_logreport)
            plugin.pytest_runtest_logreport = held.pytest_runtest_logreport
            plugin.pytest_runtest_logfinish = held.pytest_runtest_logfinish
            plugins.register(plugin, name)


class ListedOnly:
    """An item's reports held until its teardown, then passed on to pytest-html when the item
    is listed (pytest-html itself waits for the teardown to make a row). An item that passed
    plainly may be reported by its call alone (certgate.protocol): what an item's end finds
    still held is dropped."""

    def __init__(self, feed: Callable[[pytest.TestReport], None]) -> None:
        self.feed = feed
        self.pending: dict[str, list[pytest.TestReport]] = {}

    @pytest.hookimpl(trylast=True)  # where pytest-html's own hook is called
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        held = self.pending.setdefault(report.nodeid, [])
        held.append(report)
        if report.when != "teardown":
            return
        del self.pending[report.nodeid]
        if any(_listed(r) for r in held):
            for each in held:
                self.feed(each)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.pending.pop(stable_nodeid(nodeid), None)  # the id certgate's reports carry
        self.pending.pop(nodeid, None)


# the swapped hook is known by this mark (a plugin registered twice is swapped once)
ListedOnly.pytest_runtest_logreport.listed_only = True  # type: ignore[attr-defined]


def _listed(report: pytest.TestReport) -> bool:
    """Whether a fleet-size results table shows the item of this report."""
    if not certgate_report(report):
        return True
    verdict: tuple[Outcome, str] | None = getattr(report, "certgate", None)
    return not report.passed or (verdict is not None and verdict[0] is not Outcome.PASSED)


def _unshown_phase(report: pytest.TestReport) -> bool:
    """A passed setup or teardown of a certgate item, with nothing captured: pytest-html
    lists no row for it (only a call, or a setup or teardown that did not pass) and appends
    no teardown log when there is none, so building its row would be wasted work."""
    return (
        getattr(report, "when", "call") in ("setup", "teardown")
        and report.passed
        and not report.sections
        and certgate_report(report)
    )


def _subject(report: pytest.TestReport) -> str:
    """The item's subject (``ADDRESS:PORT`` for a host item), as its row shows it."""
    return next((str(v) for k, v in report.user_properties if k == "subject"), report.nodeid)


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


def overview_html(results: Results) -> str:
    """The one count, and what the verdicts were judged against."""
    return (
        f'<p id="certgate-count" class="certgate-count">{escape(results.counts_text())}</p>'
        f'<p class="certgate-asof">Judged as of {escape(as_of_text(results))}; targets file '
        f"{escape(str(results.targets_file))}.</p>"
    )


def _cited(control: Control) -> str:
    """``manual § 5.8``, or ``hardening: <sources>`` for a hardening-profile control."""
    return f"hardening: {control.source}" if control.hardening else f"manual § {control.citation}"


def remediation_html(control: Control, outcome: Outcome, message: str) -> str:
    """An item's details: what was seen (its fix is given once, in the findings above)."""
    head = (
        f"<p><b>{escape(control.id)}</b> ({escape(_cited(control))}): {escape(control.title)}</p>"
    )
    word = "Could not audit" if outcome is Outcome.ERROR else "Finding"
    return f'<div class="certgate-finding">{head}<p><b>{word}:</b> {escape(message)}</p></div>'


def hardening_note_html(results: Results) -> str:
    """The hardening profile's heading and what it judges, once; empty when no item of the
    run belongs to it."""
    if not any(CATALOGUE[r.control].hardening for r in results.rows if r.control in CATALOGUE):
        return ""
    return (
        '<section id="certgate-hardening"><h2>Hardening profile</h2>'
        f"<p>{escape(OFFERED_NOT_NEGOTIATED)}</p>"
        f'<p lang="zh-Hant">{escape(OFFERED_NOT_NEGOTIATED_ZH)}</p>'
        "<p>Each hardening item shows what was seen and the command that reproduces it.</p>"
        "</section>"
    )


def changes_html(changes: Changes) -> str:
    """What changed since the earlier run: new failures and fixed items listed."""
    parts = [
        '<section id="certgate-changes"><h2>Changes since the last audit</h2>'
        f"<p>Compared with {escape(changes.compared_with)} (as of "
        f"{escape(changes.compared_as_of)}): <b>{escape(changes.headline())}</b>.</p>"
    ]
    for title, entries in (("New failures", changes.new_failures), ("Fixed", changes.fixed)):
        if entries:
            parts.append(f"<h3>{title}</h3>{_change_list(entries)}")
    parts.append("</section>")
    return "".join(parts)


def _change_list(entries: Iterable[Change]) -> str:
    return (
        '<ul class="certgate-change-list">'
        + "".join(f"<li>{escape(change.describe())}</li>" for change in entries)
        + "</ul>"
    )


FLEET_TIMELINE_ROWS = 300  # a fleet's timeline draws the certificates due, soonest first


def pictures_html(results: Results, fleet: bool = False) -> str:
    """Outcome bars per control, and the expiry timeline (in a fleet, the certificates due)."""
    limit = FLEET_TIMELINE_ROWS if fleet else None
    controls = [c for c in (*CATALOGUE, "waiver") if any(r.control == c for r in results.rows)]
    return (
        '<section id="certgate-pictures"><h2>Outcomes per control</h2>'
        f"{outcome_bars_svg(results.rows, controls)}"
        "<h2>Server certificates: expiry</h2>"
        f"{timeline_svg(list(results.certificates.values()), results.as_of, limit)}</section>"
    )


_CSS = (
    "<style>.summary{display:block}.summary__data{max-width:none}"
    ".run-count,.certgate-key{display:none}"
    + "".join(
        f'.filters input[data-test-result="{name}"],.filters span.{name}{{display:none}}'
        for name in _UNUSED_FILTERS
    )
    + ".filters span.xpassed,td.col-result.certgate-warning{color:#b07800}"
    ".filters span.xfailed,td.col-result.certgate-waived{color:#3567b5}"
    "td.col-result.certgate-passed{color:green}"
    "td.col-result.certgate-failed,td.col-result.certgate-error{color:red}"
    ".certgate-count{font-size:16px;font-weight:bold}"
    "#certgate-matrix{border-collapse:collapse;margin:8px 0}"
    "#certgate-matrix th,#certgate-matrix td{border:1px solid #ccc;padding:2px 6px;"
    "font-size:12px;text-align:center}#certgate-matrix td a{color:inherit;text-decoration:none}"
    ".certgate-passed{background:#d4f4d4}.certgate-failed{background:#f8c8c8;font-weight:bold}"
    ".certgate-warning{background:#fde9b8}.certgate-error{background:#e0c8f0;font-weight:bold}"
    ".certgate-waived{background:#dde8f8}.certgate-na{color:#999}.certgate-finding p{margin:4px 0}"
    "h3.certgate-failed,h3.certgate-warning,h3.certgate-error,h3.certgate-waived{padding:2px 6px}"
    ".certgate-findings{border-collapse:collapse;margin:4px 0 12px;width:100%}"
    ".certgate-findings th,.certgate-findings td{border:1px solid #ddd;padding:3px 6px;"
    "text-align:left;vertical-align:top;font-weight:normal;color:#222}"
    ".certgate-group td{background:#f4f4f4}.certgate-fix{margin:2px 0}"
    ".certgate-name{white-space:nowrap}.certgate-cause{margin:6px 0 10px}"
    ".certgate-cause p{margin:2px 0}.certgate-picture{display:block;margin:6px 0;max-width:100%}"
    ".certgate-evidence{border-collapse:collapse;margin:6px 0;font-size:12px}"
    ".certgate-evidence th,.certgate-evidence td{border:1px solid #ddd;padding:2px 6px;"
    "text-align:left}.certgate-evidence code{white-space:pre-wrap;word-break:break-all}"
    "#certgate-matrix,.certgate-picture,.certgate-findings{print-color-adjust:exact;"
    "-webkit-print-color-adjust:exact}#environment td{color:#222}"
    "@media print{@page{size:A4 landscape;margin:10mm}"
    "body{min-width:0}#results-table,.controls,.filters,.filter,.summary__reload,"
    ".summary__spacer,.certgate-interactive"
    "{display:none!important}"
    "#environment.hidden{display:table!important}"
    "#certgate-findings tr,.certgate-cause,.certgate-picture{break-inside:avoid}"
    "#certgate-matrix th,#certgate-matrix td{font-size:8px;padding:1px 2px}}"
    "</style>"
)


def matrix_html(
    results: Results, order: list[str] | None = None, anchors: dict[Cell, str] | None = None
) -> str:
    """Targets × controls: the worst outcome of each cell's items, n.a. when none; each cell
    links to its rows (``anchors``: its findings, or its first row in the results table).

    Rows follow ``order`` (the inventory's) where given; waiver rows and the like come last.
    """
    worst: dict[Cell, Outcome] = {}
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
    body = "".join(_matrix_row(t, controls, worst, anchors or {}) for t in targets)
    return (
        f'<h2>Compliance matrix</h2><p class="certgate-counts">{escape(results.counts_text())}</p>'
        f'<table id="certgate-matrix"><tr><th>target</th>{head}</tr>{body}</table>'
    )


def _matrix_row(
    target: str, controls: Iterable[str], worst: dict[Cell, Outcome], anchors: dict[Cell, str]
) -> str:
    cells = []
    for control in controls:
        outcome = worst.get((target, control))
        if outcome is None:
            cells.append('<td class="certgate-na">n.a.</td>')
            continue
        text = _SYMBOL[outcome]
        anchor = anchors.get((target, control))
        link = f'<a href="#{anchor}">{text}</a>' if anchor else text
        cells.append(f'<td class="certgate-{outcome.value}">{link}</td>')
    return f"<tr><th>{escape(target)}</th>{''.join(cells)}</tr>"
