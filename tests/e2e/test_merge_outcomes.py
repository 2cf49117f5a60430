"""Every outcome survives the merge: a results.json of one run, merged alone, comes back the
same, and junit.xml and report.html say what an audit's would (waived: xfailed; error: a setup
error; warning: passed)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

NOTE = "waived: accepted until the migration (ops, until 2027-01-31)"
ROWS = [
    ("passed", ""),
    ("failed", "CSR key is RSA 1024 bits; manual 5.1.5.2 requires RSA 2048 bits."),
    ("warning", "expires in 20 days; manual 5.11: renew 60 days ahead"),
    ("error", "certs/x.pfx: cannot read: no such file"),
    ("waived", f"CSR key is RSA 1024 bits <b>; manual 5.1.5.2 requires 2048. [{NOTE}]"),
]


def _doc() -> dict[str, object]:
    results = [
        {
            "target": f"t{i}",
            "control": "rsa-2048",
            "subject": "csr",
            "outcome": outcome,
            "message": message,
            "manual": ["5.1.5"],
            "nodeid": f"checks/test_keys.py::test_rsa_2048[t{i}:csr]",
        }
        for i, (outcome, message) in enumerate(ROWS)
    ]
    counts = {
        o: sum(r["outcome"] == o for r in results)
        for o in ("passed", "failed", "warning", "error", "waived")
    }
    return {
        "certgate": "0.1.0",
        "started": "2026-12-01T00:00:00Z",
        "finished": "2026-12-01T00:00:09Z",
        "as_of": "2026-12-01T00:00:00Z",
        "targets": "targets.yaml",
        "results": results,
        "summary": counts,
    }


def test_each_outcome_replays(tmp_path: Path):
    source = tmp_path / "results.json"
    source.write_text(json.dumps(_doc()), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "certgate.merge",
            "--reports-dir",
            str(tmp_path / "out"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    merged = json.loads((tmp_path / "out" / "results.json").read_text("utf-8"))
    assert merged["results"] == _doc()["results"]
    assert merged["summary"] == _doc()["summary"]
    suite = ET.parse(tmp_path / "out" / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == (
        "5",
        "1",
        "1",
        "1",
    )
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    skipped = cases["test_rsa_2048[t4:csr]"].find("skipped")
    assert skipped is not None
    assert skipped.get("type") == "pytest.xfail"
    assert skipped.get("message") == NOTE
    error = cases["test_rsa_2048[t3:csr]"].find("error")
    assert error is not None
    assert "failed on setup" in str(error.get("message"))
    report = (tmp_path / "out" / "report.html").read_text("utf-8")
    # the finding's text is escaped once by certgate, once more in pytest-html's data attribute
    assert "1024 bits &amp;lt;b&amp;gt;;" in report
