"""A look at report.html in a real browser: it renders, its scripts run, the matrix is right."""

from __future__ import annotations

import re
from collections import Counter

from certgate.lab import pki
from tests.support.audit import Audit, project, run
from tests.support.browser import console_errors, render


def test_report_renders_without_script_errors_and_matrix_matches(demo_audit: Audit):
    report = demo_audit.reports / "report.html"
    screenshot = demo_audit.reports / "report.png"
    page = render(report, screenshot)
    assert console_errors(page.console) == []
    # pytest-html builds the results table in the browser: its rows exist only if JS ran
    rows = re.findall(r'<tbody class="results-table-row', page.dom)
    assert len(rows) >= len(demo_audit.json["results"])
    summary = demo_audit.json["summary"]
    counts = ", ".join(f"{n} {o}" for o, n in summary.items())
    assert counts in page.dom
    matrix = page.dom.split('id="certgate-matrix"', 1)[1].split("</table>", 1)[0]
    cells = Counter(re.findall(r'class="certgate-(\w+)"', matrix))
    assert cells["failed"] == _worst_cells(demo_audit)["failed"]
    assert cells["error"] == _worst_cells(demo_audit)["error"]
    assert screenshot.stat().st_size > 10_000


def _worst_cells(audit: Audit) -> Counter[str]:
    rank = {"error": 5, "failed": 4, "warning": 3, "waived": 2, "passed": 1}
    worst: dict[tuple[str, str], str] = {}
    for row in audit.json["results"]:
        cell = (row["target"], row["control"])
        if cell not in worst or rank[row["outcome"]] > rank[worst[cell]]:
            worst[cell] = row["outcome"]
    return Counter(worst.values())


def test_values_from_the_wild_are_escaped(chains, tmp_path):
    hostile = "<script>alert(1)</script>"
    leaf = pki.make_leaf(pki.name(O=hostile, CN=hostile), chains.uca, key=pki.pooled_key())
    pki.write(tmp_path / "audit" / "server.cer", leaf.pem)
    audit = run(project(tmp_path / "audit", "targets:\n  - {name: x, certificate: server.cer}\n"))
    assert audit.row("cn-hostname", "x", "certificate")["outcome"] == "failed"
    page = render(audit.reports / "report.html")
    assert console_errors(page.console) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.dom  # shown as text
    assert hostile not in page.dom  # never as markup


def test_environment_table_pins_the_audited_targets_file(demo_audit: Audit):
    import hashlib

    targets = demo_audit.reports.parent / "targets.yaml"
    html = (demo_audit.reports / "report.html").read_text(encoding="utf-8")
    assert hashlib.sha256(targets.read_bytes()).hexdigest() in html
    assert "trust stores (sslyze)" in html


def test_hardening_evidence_renders_as_rows_with_commands(demo_audit: Audit):
    """In the browser, a passed hardening item's details hold its evidence table, the command
    as code; the note on what is judged is a section of its own, once."""
    page = render(demo_audit.reports / "report.html")
    assert console_errors(page.console) == []
    assert page.dom.count('id="certgate-hardening"') == 1
    assert page.dom.count("stricter than SSL Labs") == 1
    command = "curl -skI --resolve www.hardened.lab:8443:127.0.10.21 https://www.hardened.lab:8443/"
    assert f"<code>{command}</code>" in page.dom  # hsts passed: what proves it
    assert "<th>HTTPS GET /</th><td>Strict-Transport-Security: max-age=31536000" in page.dom
