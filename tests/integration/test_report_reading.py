"""report.html as an auditor reads it, in headless Chromium: one count everywhere, findings
first, pictures that match results.json, and a printout that holds every finding."""

from __future__ import annotations

import re
from collections import Counter
from html import escape

from certgate.report.html import FILTER_KEY
from certgate.report.results import Outcome
from tests.support.audit import Audit
from tests.support.browser import console_errors, print_pdf, render


def _summary(audit: Audit) -> dict[str, int]:
    summary: dict[str, int] = audit.json["summary"]
    assert sum(summary.values()) == len(audit.json["results"])
    return summary


def test_one_count_in_the_header_filters_rows_and_terminal(demo_audit: Audit):
    summary = _summary(demo_audit)
    assert summary["warning"] > 0  # the demo has renewal warnings: they must not pass as passed
    page = render(demo_audit.reports / "report.html")
    assert console_errors(page.console) == []
    header = re.search(r'id="certgate-count"[^>]*>([^<]*)<', page.dom)
    assert header is not None
    assert header.group(1) == f"{sum(summary.values())} items: " + ", ".join(
        f"{n} {o}" for o, n in summary.items()
    )
    rows = Counter(re.findall(r'<tbody class="results-table-row (\w+)"', page.dom))
    for outcome, count in summary.items():
        key = FILTER_KEY[Outcome(outcome)]
        label = outcome.capitalize()
        assert re.search(rf'<span class="{key}">{count} {label},?</span>', page.dom), outcome
        assert rows[key] == count, outcome
    assert "tests took" not in page.dom.split('class="run-count"')[0]
    # pytest's final line counts the same items the same way
    final = re.search(r"=+ ([^=]*) in [\d.]+s", demo_audit.stdout.splitlines()[-1])
    assert final is not None
    said = {w.rstrip("s"): int(n) for n, w in re.findall(r"(\d+) (\w+)", final.group(1))}
    assert said == summary
    assert f"certgate: {sum(summary.values())} items: " in demo_audit.stdout


def test_findings_come_first_without_pytest_jargon_or_a_second_copy(demo_audit: Audit):
    page = render(demo_audit.reports / "report.html").dom
    findings = page.split('id="certgate-findings"', 1)[1].split("</section>", 1)[0]
    assert page.index('id="certgate-findings"') < page.index('id="results-table"')
    assert findings.index("Failed:") < findings.index("Could not audit")
    assert "::setup" not in page
    assert "AssertionError" not in page
    failed = [r for r in demo_audit.json["results"] if r["outcome"] == "failed"]
    for row in failed:  # each finding once in the findings, with its message
        assert findings.count(escape(row["message"], quote=False)) >= 1
    errors = [r for r in demo_audit.json["results"] if r["outcome"] == "error"]
    causes = re.findall(r'<div class="certgate-cause" id="cause-\d+"><p><b>(.*?)</b>', findings)
    assert len(causes) == len({r["message"] for r in errors}) < len(errors)
    refused = [r for r in errors if "connection refused" in r["message"]]
    assert len(refused) > 1
    assert findings.count(escape(refused[0]["message"], quote=False)) == 1  # one group


def test_every_matrix_cell_links_to_its_rows(demo_audit: Audit):
    page = render(demo_audit.reports / "report.html").dom
    matrix = page.split('id="certgate-matrix"', 1)[1].split("</table>", 1)[0]
    links = re.findall(r'<td class="certgate-(\w+)"><a href="#([\w-]+)">', matrix)
    cells = {(r["target"], r["control"]) for r in demo_audit.json["results"]}
    assert len(links) == len(cells)
    ids = set(re.findall(r'\bid="([\w-]+)"', page))
    assert {anchor for _, anchor in links} <= ids
    for outcome, anchor in links:  # findings link into the findings section
        if outcome in ("failed", "error", "warning"):
            section = page.split('id="certgate-findings"', 1)[1]
            assert f'id="{anchor}"' in section


def test_pictures_are_drawn_and_match_results(demo_audit: Audit):
    shot = demo_audit.reports / "pictures.png"
    page = render(demo_audit.reports / "report.html", shot).dom
    assert shot.stat().st_size > 50_000
    timeline = page.split('id="certgate-timeline"', 1)[1].split("</svg>", 1)[0]
    drawn = set(
        re.findall(
            r'<g class="cert" data-target="([^"]*)" data-subject="([^"]*)" '
            r'data-not-after="([\d-]+)" data-expiry="(\w+)"',
            timeline,
        )
    )
    listed = {
        (c["target"], c["subject"], c["not_after"][:10], c["expiry"])
        for c in demo_audit.json["certificates"]
    }
    assert drawn == listed
    renewal = {
        (r["target"], r["subject"])
        for r in demo_audit.rows("renewal-window")
        if r["outcome"] != "error"  # could not be read: no date to draw
    }
    assert {(c[0], c[1]) for c in listed} == renewal  # every server certificate judged
    assert {"expired", "renew", "valid"} <= {c[3] for c in listed}
    assert timeline.count("<path") == sum(1 for c in listed if c[3] == "expired")  # the X marks
    assert 'class="renewal-window"' in timeline
    assert f"as of {demo_audit.json['as_of'][:10]}" in timeline
    bars = page.split('id="certgate-bars"', 1)[1].split("</svg>", 1)[0]
    for control in {r["control"] for r in demo_audit.json["results"]}:
        counts = Counter(r["outcome"] for r in demo_audit.rows(control))
        data = " ".join(f'data-{o.value}="{counts[o.value]}"' for o in Outcome)
        assert f'data-control="{control}" {data}' in bars, control
    raw = (demo_audit.reports / "report.html").read_text(encoding="utf-8")
    assert not re.search(r'<(script|img|link|image|use)\b[^>]*(src|href)="(https?:|//)', raw)


def test_report_prints_every_finding_with_its_fix(demo_audit: Audit, tmp_path):
    text = print_pdf(demo_audit.reports / "report.html", tmp_path / "report.pdf")
    lines = text.splitlines()
    failed = [r for r in demo_audit.json["results"] if r["outcome"] == "failed"]
    warned = [r for r in demo_audit.json["results"] if r["outcome"] == "warning"]
    assert failed
    missing = [
        (r["target"], r["control"])
        for r in failed
        if not any(
            re.search(rf"(^|\s){re.escape(r['target'])}\s+{re.escape(r['control'])}\s", line)
            for line in lines
        )
    ]
    assert missing == []
    fixes = re.findall(r"^ {0,3}Fix: ", text, re.MULTILINE)  # a group's fix starts its line
    assert len(fixes) == len({r["control"] for r in failed + warned})  # once per control
    assert "Compliance matrix" in text
    as_of = demo_audit.json["as_of"].replace("T", " ").replace("Z", " UTC")
    assert f"Judged as of {as_of}" in text
    assert re.search(rf"certgate as of\s+{as_of}", text)  # the environment table
    assert "OpenSSL" in text
    assert "(Un)check the boxes" not in text  # no interactive parts
    assert "Show all details" not in text
