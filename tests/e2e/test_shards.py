"""One audit split four ways (``--shard K/4``) and merged (``python -m certgate.merge``) is the
unsharded audit: the same items, outcomes and messages in results.json, the same test cases in
junit.xml, the same rows, title and matrix in report.html (timings and the live evidence
aside, which results.json does not carry)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.support.audit import (
    BYTES_READ,
    Audit,
    checkout_env,
    demo_targets,
    project,
    report_table,
    run,
)

pytestmark = pytest.mark.slow

NOW = "--now=2026-12-01T00:00:00Z"  # every shard judges at the same time
_COLLECTED = re.compile(r"collected (\d+) items?(?: / (\d+) deselected)?(?: / (\d+) selected)?")


def _run(folder: Path, reports: str, *args: str) -> Audit:
    """An audit of the project in ``folder`` writing its reports to ``folder/reports``."""
    audit = run(folder, NOW, f"--reports-dir={reports}", *args)
    audit.reports = folder / reports
    return audit


@pytest.fixture(scope="module")
def runs(demo_lab: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Audit]:
    """The demo audited once whole and once in four shards, in one project folder."""
    folder = project(tmp_path_factory.mktemp("shards"), demo_targets(demo_lab))
    audits = {"whole": _run(folder, "whole")}
    for k in range(1, 5):
        audits[f"{k}/4"] = _run(folder, f"shard{k}", f"--shard={k}/4")
    return audits


def _merge(folder: Path, reports: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "certgate.merge", "--reports-dir", str(reports), *map(str, files)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=checkout_env(),
    )


@pytest.fixture(scope="module")
def merged(runs: dict[str, Audit]) -> tuple[subprocess.CompletedProcess[str], Path]:
    folder = runs["whole"].reports.parent
    out = folder / "merged"
    done = _merge(folder, out, *(runs[f"{k}/4"].reports / "results.json" for k in range(1, 5)))
    return done, out


def _items(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    keys = ("nodeid", "target", "control", "subject", "outcome", "message")
    return [
        (*tuple(BYTES_READ.sub("", str(r[k])) for k in keys), ",".join(r["manual"]))
        for r in doc["results"]
    ]


def test_every_target_in_exactly_one_shard(runs):
    whole = {r["nodeid"] for r in runs["whole"].json["results"]}
    shards = [{r["nodeid"] for r in runs[f"{k}/4"].json["results"]} for k in range(1, 5)]
    assert sum(len(s) for s in shards) == len(whole)
    assert set().union(*shards) == whole
    owners = [{r["target"] for r in runs[f"{k}/4"].json["results"]} for k in range(1, 5)]
    for a in range(4):
        for b in range(a + 1, 4):
            assert not owners[a] & owners[b], "a target's items are split across shards"


def test_shard_counts_add_up(runs):
    for k in range(1, 5):
        audit = runs[f"{k}/4"]
        head = _COLLECTED.search(audit.stdout)
        assert head is not None, audit.stdout[:2000]
        collected, deselected = int(head[1]), int(head[2] or 0)
        assert collected - deselected == len(audit.json["results"])
        assert audit.status == 1  # every shard of the demo has a finding
        assert audit.json["shard"]["index"] == k
        assert audit.json["shard"]["count"] == 4


def test_merge_is_the_unsharded_results_json(runs, merged):
    done, out = merged
    assert done.returncode == runs["whole"].status == 1, done.stderr[-2000:]
    whole = runs["whole"].json
    doc = json.loads((out / "results.json").read_text("utf-8"))
    assert _items(doc) == _items(whole)
    assert doc["summary"] == whole["summary"]
    assert doc["as_of"] == whole["as_of"]
    # the expiry timeline's certificates come through the merge too, in one run's order
    assert doc["certificates"] == whole["certificates"]
    assert doc["certificates"]
    assert "shard" not in doc
    starts = [runs[f"{k}/4"].json["started"] for k in range(1, 5)]
    ends = [runs[f"{k}/4"].json["finished"] for k in range(1, 5)]
    assert doc["started"] == min(starts)
    assert doc["finished"] == max(ends)


def _cases(path: Path) -> tuple[dict[str, str], list[str]]:
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    counts = {k: v for k, v in suite.attrib.items() if k not in ("time", "timestamp")}
    cases = []
    for case in root.iter("testcase"):
        case.attrib.pop("time", None)
        cases.append(BYTES_READ.sub("", ET.tostring(case, encoding="unicode")))
    return counts, cases


def test_merge_is_the_unsharded_junit_xml(runs, merged):
    assert _cases(merged[1] / "junit.xml") == _cases(runs["whole"].reports / "junit.xml")


def test_merge_is_the_unsharded_report_html(runs, merged):
    """Same rows, outcomes, logs, title and matrix; each finding's remediation is there, the
    live evidence (served chain, openssl command) after it is not: results.json lacks it."""
    title, matrix, rows = report_table(merged[1] / "report.html")
    whole_title, whole_matrix, whole_rows = report_table(runs["whole"].reports / "report.html")
    assert (title, matrix) == (whole_title, whole_matrix)
    assert [r[:2] for r in rows] == [r[:2] for r in whole_rows]
    for (test_id, _, got), (_, _, want) in zip(rows, whole_rows, strict=True):
        cells = [c for c in got if c.startswith("<td")]
        assert cells == [c for c in want if c.startswith("<td")], test_id
        findings = [c for c in got if not c.startswith("<td")]
        live = [c for c in want if not c.startswith("<td")]
        assert len(findings) == len(live), test_id
        assert all(
            BYTES_READ.sub("", w).startswith(BYTES_READ.sub("", f))
            for f, w in zip(findings, live, strict=False)
        ), test_id


def test_an_empty_shard_exits_0_and_the_merge_5(demo_lab, tmp_path):
    """More shards than selected targets: the empty shard passes with a note; merging shards
    that ran nothing at all is pytest's "nothing collected"."""
    folder = project(tmp_path, demo_targets(demo_lab))
    ran = [_run(folder, f"s{k}", "-k", "iis-3tier", f"--shard={k}/2") for k in (1, 2)]
    empty = next(a for a in ran if not a.json["results"])
    assert empty.status == 0, empty.stdout[-2000:]
    assert "has no items (exit 0)" in empty.stdout
    assert _merge(
        folder, tmp_path / "m", *(a.reports / "results.json" for a in ran)
    ).returncode in (0, 1)
    nothing = _merge(folder, tmp_path / "n", empty.reports / "results.json")
    assert nothing.returncode == 4  # shard 1 of 2 alone: one missing
    assert "missing" in nothing.stderr


def test_k_works_within_a_shard(demo_lab, tmp_path):
    folder = project(tmp_path, demo_targets(demo_lab))
    audits = [_run(folder, f"s{k}", "-k", "rsa-2048", f"--shard={k}/3") for k in (1, 2, 3)]
    rows = [r for a in audits for r in a.json["results"]]
    assert rows
    assert {r["control"] for r in rows} == {"rsa-2048"}
    whole = _run(folder, "w", "-k", "rsa-2048")
    assert sorted(r["nodeid"] for r in rows) == sorted(r["nodeid"] for r in whole.json["results"])
