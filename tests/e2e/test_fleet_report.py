"""A fleet-size report (issue 13): 1,000 targets, 13,000 items, replayed from a results.json
through the same report code (`python -m certgate.merge`). It stays under 2 MB, lists the
findings (passed items are counted, not listed), and opens in headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certgate.controls import CATALOGUE
from tests.support.browser import console_errors, render

TARGETS = 1000
CHECKS = {  # control -> (check, file or host item)
    "https-binding": ("test_hosts.py::test_https_binding", "host"),
    "chain-served": ("test_hosts.py::test_chain_served", "host"),
    "chain-trusted": ("test_hosts.py::test_chain_trusted", "host"),
    "served-expected": ("test_hosts.py::test_served_expected", "host"),
    "rsa-2048": ("test_keys.py::test_rsa_2048", "host"),
    "subject-english": ("test_subject.py::test_subject_english", "host"),
    "validity": ("test_validity.py::test_validity", "host"),
    "renewal-window": ("test_validity.py::test_renewal_window", "host"),
    "cn-hostname": ("test_subject.py::test_cn_hostname", "certificate"),
}
AS_OF = datetime(2026, 11, 30, tzinfo=UTC)


def fleet_results() -> dict[str, object]:
    """1,000 targets; every 97th fails chain-served; certificates expire over 400 days."""
    rows, certificates = [], []
    for i in range(TARGETS):
        target, where = f"site-{i:04d}", f"127.40.{i // 250}.{i % 250 + 1}:443"
        for control, (check, kind) in CHECKS.items():
            subject = where if kind == "host" else "certificate"
            item = f"{target}@{where}" if kind == "host" else f"{target}:certificate"
            failed = control == "chain-served" and i % 97 == 0
            rows.append(
                {
                    "target": target,
                    "control": control,
                    "subject": subject,
                    "outcome": "failed" if failed else "passed",
                    "message": "only the server certificate is sent; manual 6.1 ..." * failed,
                    "manual": list(CATALOGUE[control].manual),
                    "nodeid": f"checks/{check}[{item}]",
                }
            )
        not_after = AS_OF + timedelta(days=20 + i % 400)
        certificates.append(
            {
                "target": target,
                "subject": where,
                "name": f"CN=www{i}.example.com.tw",
                "not_after": f"{not_after:%Y-%m-%dT%H:%M:%SZ}",
                "renewal_window_days": 60,
                "expiry": "valid",
            }
        )
    stamp = f"{AS_OF:%Y-%m-%dT%H:%M:%SZ}"
    return {
        "certgate": "0.1.0",
        "started": stamp,
        "finished": stamp,
        "as_of": stamp,
        "targets": "targets.yaml",
        "results": rows,
        "summary": {},
        "certificates": certificates,
    }


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fleet")
    (folder / "fleet.json").write_text(json.dumps(fleet_results()), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "certgate.merge", "--reports-dir", "out", "fleet.json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    return folder / "out" / "report.html"


def test_a_fleet_report_stays_under_2_mb(fleet: Path):
    assert fleet.stat().st_size <= 2 * 1024 * 1024


def test_a_fleet_report_lists_the_findings_and_counts_the_rest(fleet: Path):
    text = fleet.read_text("utf-8")
    assert "9000 items: 8989 passed, 11 failed, 0 warning, 0 error" in text
    assert "passed items are counted above" in text
    assert "more certificate(s), valid beyond the renewal window" in text


def test_a_fleet_report_opens_in_chromium(fleet: Path, tmp_path: Path):
    started = time.monotonic()
    page = render(fleet, tmp_path / "fleet.png")
    seconds = time.monotonic() - started
    print(f"fleet report.html ({fleet.stat().st_size / 1e6:.2f} MB) rendered in {seconds:.1f} s")
    assert not console_errors(page.console)
    rows = re.findall(r'<td class="col-target">site-\d+</td>', page.dom)
    assert len(rows) == 11  # the findings only: the passed rows are counted, not listed
