"""reports/junit.xml, written by certgate (certgate/report/junit.py), is the file pytest's own
junitxml plugin writes for the same run, byte for byte but the times: passes, findings
(failure), unreadable input (error on setup), waived findings (xfail), skipped items, the
hardening and host items of the demo."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.audit import BYTES_READ, Audit, lab_site, project, run

_TIMES = re.compile(r' (time|timestamp)="[^"]*"')

GARBLED = """\
  - name: garbled
    certificate: garbled.cer
"""
WAIVERS = """\
waivers:
  - {control: rsa-2048, target: rsa-1024, justification: "appliance <replaced> in Q1",
     who: ops@example.com.tw, expires: 2099-01-31}
"""
SKIPPER = """\
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        if "subject_english" in item.nodeid:
            item.add_marker(pytest.mark.skip(reason="not today & not here"))
"""


def _same_but_times(ours: Path, pytests: Path) -> None:
    def text(path: Path) -> str:
        return BYTES_READ.sub("", _TIMES.sub("", path.read_text(encoding="utf-8")))

    assert text(ours) == text(pytests)


def test_the_junit_xml_of_every_outcome_is_pytests(tmp_path: Path, demo_lab: Path):
    targets = "targets:\n" + "".join(
        [
            lab_site(demo_lab, "good-3tier", "csr", "certificate"),
            lab_site(demo_lab, "expired", "certificate"),
            lab_site(demo_lab, "rsa-1024", "csr"),
            GARBLED,
        ]
    )
    folder = project(tmp_path / "audit", targets)
    (folder / "waivers.yaml").write_text(WAIVERS, encoding="utf-8")
    (folder / "garbled.cer").write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    (folder / "skipper.py").write_text(SKIPPER, encoding="utf-8")
    audit = run(folder, "-p", "skipper", "--junitxml", "reports/pytest-junit.xml")
    ours = folder / "reports" / "junit.xml"
    assert not ours.exists()  # --junitxml given: pytest's writer, not certgate's
    again = run(folder, "-p", "skipper", "--reports-dir", "ours")
    assert audit.status == again.status == 1
    text = (folder / "ours" / "junit.xml").read_text(encoding="utf-8")
    for element in ("<failure ", "<error ", 'type="pytest.xfail"', 'type="pytest.skip"'):
        assert element in text
    assert "&lt;replaced&gt;" in text
    _same_but_times(folder / "ours" / "junit.xml", folder / "reports" / "pytest-junit.xml")


def test_the_demos_junit_xml_is_pytests(demo_audit: Audit):
    folder = demo_audit.reports.parent
    by_pytest = run(folder, "--reports-dir", "reports-pj", "--junitxml", "reports-pj/pytest.xml")
    assert by_pytest.status == demo_audit.status
    _same_but_times(demo_audit.reports / "junit.xml", folder / "reports-pj" / "pytest.xml")
    assert "generated xml file: " in demo_audit.stdout


def test_junit_options_of_the_ini_file_get_pytests_writer(tmp_path: Path, demo_lab: Path):
    """An ini file that sets a junit_* option (here the suite's name) asks for what pytest's
    writer does: reports/junit.xml is then pytest's, with that option."""
    targets = "targets:\n" + lab_site(demo_lab, "good-3tier", "csr", "certificate")
    folder = project(tmp_path / "audit", targets)
    ini = folder / "pytest.ini"
    ini.write_text(ini.read_text("utf-8") + "junit_suite_name = nightly-audit\n", "utf-8")
    audit = run(folder)
    text = (audit.reports / "junit.xml").read_text(encoding="utf-8")
    assert '<testsuite name="nightly-audit"' in text
    assert text.count("<testcase ") == len(audit.rows())
