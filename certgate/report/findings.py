"""The report's findings, first: failures grouped by control with the fix once; warnings and
waived items the same way; items that could not be audited grouped by their one cause.

Plain HTML built on the server (it reads and prints without scripts). Every value from
certificates, files or the targets file is escaped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from certgate.controls import CATALOGUE, Control
from certgate.report.results import Outcome, ResultRow
from certgate.waivers import WAIVER_CONTROL

Cell = tuple[str, str]  # target, control

HEADINGS = {
    Outcome.FAILED: "Failed",
    Outcome.WARNING: "Warning",
    Outcome.WAIVED: "Waived (accepted exceptions in force)",
}

CHECK_NOTE = (
    "<p><b>Check:</b> the file or host named is the right one, readable, and of the kind the "
    "control needs; an item is neither passed nor failed until it can be audited.</p>"
    '<p lang="zh-Hant"><b>請確認：</b>所列檔案或主機正確、可讀取且格式符合；'
    "在能完成稽核之前，此項目不視為通過。</p>"
)


def row_anchor(nodeid: str) -> str:
    """The id of an item's row in the results table (ids stay ASCII, whatever the names)."""
    return "r-" + hashlib.sha256(nodeid.encode()).hexdigest()[:12]


def cell_anchor(cell: Cell) -> str:
    """The id of a matrix cell's first finding."""
    return "c-" + hashlib.sha256("\0".join(cell).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Findings:
    """The findings section, and where each matrix cell's rows are (its anchor)."""

    html: str
    anchors: dict[Cell, str]


def findings(rows: Sequence[ResultRow], link_passed: bool = True) -> Findings:
    """Failed, then warning, then could-not-audit (grouped by cause), then waived.

    ``anchors`` link each matrix cell to its finding, or (``link_passed``) a passed cell to its
    first row in the results table (a fleet-size report does not list passed rows)."""
    anchors: dict[Cell, str] = {}
    parts = ['<section id="certgate-findings"><h2>Findings</h2>']
    for outcome in (Outcome.FAILED, Outcome.WARNING):
        parts.append(_by_control(rows, outcome, anchors))
    parts.append(_by_cause(rows, anchors))
    parts.append(_by_control(rows, Outcome.WAIVED, anchors))
    for row in rows if link_passed else ():  # passed cells: their first row in the table
        anchors.setdefault((row.target, row.control), row_anchor(row.nodeid))
    if len(parts) == 1 or all(not p for p in parts[1:]):
        parts.append("<p>No findings: every item passed.</p>")
    parts.append("</section>")
    return Findings("".join(parts), anchors)


def _by_control(rows: Sequence[ResultRow], outcome: Outcome, anchors: dict[Cell, str]) -> str:
    hits = [r for r in rows if r.outcome is outcome]
    if not hits:
        return ""
    groups: dict[str, list[ResultRow]] = {}
    for row in hits:
        groups.setdefault(row.control, []).append(row)
    body = []
    for control_id, group in groups.items():
        body.append(_group_head(_control(control_id), len(group)))
        body.extend(_finding_row(row, anchors) for row in group)
    return (
        f'<h3 class="certgate-{outcome.value}">{HEADINGS[outcome]}: {_items(len(hits))}</h3>'
        f'<table class="certgate-findings"><thead><tr><th>Target</th>'
        "<th>Control</th><th>Item</th><th>Finding</th></tr></thead>"
        f"{''.join(body)}</table>"
    )


def _control(control_id: str) -> Control:
    return CATALOGUE.get(control_id, WAIVER_CONTROL)


def _group_head(control: Control, count: int) -> str:
    manual = f" (manual § {escape(control.citation)})" if control.manual else ""
    if control.hardening and control.source:
        manual = f" (hardening: {escape(control.source)})"
    return (
        f'<tbody class="certgate-group"><tr><td colspan="4"><b>{escape(control.id)}</b>{manual}'
        f": {escape(control.title)} — {_items(count)}"
        f'<p class="certgate-fix"><b>Fix:</b> {escape(control.remediation_en)}</p>'
        f'<p class="certgate-fix" lang="zh-Hant"><b>修正方式：</b>{escape(control.remediation_zh)}'
        "</p></td></tr></tbody>"
    )


def _finding_row(row: ResultRow, anchors: dict[Cell, str]) -> str:
    cell = (row.target, row.control)
    anchor = ""
    if cell not in anchors:
        anchors[cell] = cell_anchor(cell)
        anchor = f' id="{anchors[cell]}"'
    return (
        f'<tr{anchor}><td class="certgate-name">{escape(row.target)}</td>'
        f'<td class="certgate-name">{escape(row.control)}</td>'
        f'<td class="certgate-name">{escape(row.subject)}</td><td>{escape(row.message)} '
        f'<a class="certgate-interactive" href="#{row_anchor(row.nodeid)}">evidence</a></td></tr>'
    )


def _by_cause(rows: Sequence[ResultRow], anchors: dict[Cell, str]) -> str:
    """Errors sharing one message (one unreadable file, one unreachable address) are one
    cause, listed once with the items it kept from being audited."""
    causes: dict[str, list[ResultRow]] = {}
    for row in rows:
        if row.outcome is Outcome.ERROR:
            causes.setdefault(row.message, []).append(row)
    if not causes:
        return ""
    total = sum(len(group) for group in causes.values())
    body = []
    for index, (message, group) in enumerate(causes.items(), 1):
        anchor = f"cause-{index}"
        for row in group:
            anchors.setdefault((row.target, row.control), anchor)
        body.append(
            f'<div class="certgate-cause" id="{anchor}"><p><b>{escape(message)}</b></p>'
            f'<p class="certgate-affected">{_items(len(group))}: {_affected(group)}</p></div>'
        )
    noun = "cause" if len(causes) == 1 else "causes"
    return (
        f'<h3 class="certgate-error">Could not audit (error): {_items(total)}, '
        f"{len(causes)} {noun}</h3>{CHECK_NOTE}{''.join(body)}"
    )


def _affected(group: Sequence[ResultRow]) -> str:
    """``shop · 127.0.0.1:443: chain-served, validity``: the items by target and subject."""
    by_item: dict[tuple[str, str], list[ResultRow]] = {}
    for row in group:
        by_item.setdefault((row.target, row.subject), []).append(row)
    return "; ".join(
        f'<span class="certgate-name">{escape(target)} · {escape(subject)}</span>: '
        + ", ".join(f'<a href="#{row_anchor(r.nodeid)}">{escape(r.control)}</a>' for r in items)
        for (target, subject), items in by_item.items()
    )


def _items(count: int) -> str:
    return f"{count} item{'' if count == 1 else 's'}"
