"""End to end: the real checks/ against the demo lab's CSRs and certificates.

For every control of the file slice, one target that must pass and one that must fail with a
message citing the manual's section; then errors, warnings, selection and exit statuses.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.support.audit import Audit, demo_targets, project, run


@pytest.fixture(scope="module")
def demo(demo_audit: Audit) -> Audit:
    """The shipped targets.yaml, audited once per session against the demo lab."""
    return demo_audit


CASES = [
    # control, passing (target, subject), failing (target, subject), manual § cited
    ("csr-format", ("good-3tier", "csr"), ("csr-mangled", "csr"), "5.1.8"),
    ("csr-format", ("good-4tier", "csr"), ("csr-bad-signature", "csr"), "5.1.8"),
    ("rsa-2048", ("good-3tier", "csr"), ("rsa-1024", "csr"), "5.1.5"),
    ("rsa-2048", ("good-4tier", "certificate"), ("ec-key", "certificate"), "5.1.5"),
    ("subject-english", ("good-3tier", "csr"), ("chinese-fields", "csr"), "5.1"),
    ("subject-english", ("good-3tier", "certificate"), ("full-width", "certificate"), "5.1"),
    ("subject-fields", ("good-3tier", "csr"), ("missing-st", "csr"), "5.1.4"),
    ("subject-fields", ("good-4tier", "csr"), ("country-twn", "csr"), "5.1.4"),
    ("cn-hostname", ("good-3tier", "csr"), ("cn-with-scheme", "csr"), "5.1.4.1"),
    ("cn-hostname", ("good-3tier", "certificate"), ("cn-with-port", "certificate"), "5.1.4.1"),
    ("validity", ("good-3tier", "certificate"), ("expired", "certificate"), "5.7.1.1"),
    ("validity", ("good-4tier", "certificate"), ("not-yet-valid", "certificate"), "5.7.1.1"),
    ("validity", ("iis-3tier", "bundle"), ("chain-expired-uca", "certificate"), "5.7.1.1"),
    ("bundle-contents", ("iis-3tier", "bundle"), ("bundle-missing-uca", "bundle"), "5.3"),
    ("bundle-contents", ("uca-digits", "bundle"), ("bundle-zip-slip", "bundle"), "5.3"),
    ("bundle-contents", ("iis-4tier", "bundle"), ("bundle-csr-as-cer", "bundle"), "5.3"),
    ("chain-links", ("iis-3tier", "chain"), ("chain-look-alike", "chain"), "5.4, 5.5, 5.7.1.2"),
    ("chain-links", ("ec-sha1-root", "chain"), ("chain-altered", "chain"), "5.4, 5.5, 5.7.1.2"),
    ("chain-links", ("iis-4tier", "pfx"), ("pfx-no-chain", "pfx"), "5.4, 5.5, 5.7.1.2"),
    ("chain-links", ("iis-4tier", "bundle"), ("bundle-missing-uca", "bundle"), "5.4, 5.5, 5.7.1.2"),
    ("key-match", ("iis-3tier", "private_key"), ("key-mismatch", "private_key"), "5.7.1.1, 6.4"),
    ("key-match", ("iis-3tier", "csr"), ("key-mismatch", "csr"), "5.7.1.1, 6.4"),
    ("key-match", ("iis-4tier", "certificate"), ("key-mismatch", "certificate"), "5.7.1.1, 6.4"),
    ("pfx-contents", ("iis-3tier", "pfx"), ("pfx-no-key", "pfx"), "5.9.4"),
    ("pfx-contents", ("iis-4tier", "pfx"), ("pfx-foreign-key", "pfx"), "5.9.4"),
    ("pfx-contents", ("pfx-rc2-40", "pfx"), ("pfx-no-chain", "pfx"), "5.9.5"),
    ("pfx-encryption", ("iis-3tier", "pfx"), ("pfx-rc2-40", "pfx"), "5.9.6"),
    ("pfx-encryption", ("iis-4tier", "pfx"), ("pfx-unencrypted", "pfx"), "5.9.6"),
    ("rsa-2048", ("iis-3tier", "private_key"), ("weak-key-files", "private_key"), "5.1.5"),
    ("rsa-2048", ("iis-3tier", "pfx"), ("weak-key-files", "pfx"), "5.1.5"),
    # the server certificate of every source (SPEC 2.1): cert.zip's server.cer, the PFX's
    ("rsa-2048", ("iis-3tier", "bundle"), ("weak-key-files", "bundle"), "5.1.5"),
    ("subject-english", ("iis-3tier", "bundle"), ("chinese-files", "bundle"), "5.1"),
    ("subject-english", ("iis-4tier", "pfx"), ("chinese-files", "pfx"), "5.1"),
    ("cn-hostname", ("iis-3tier", "pfx"), ("chinese-files", "pfx"), "5.1.4.1"),
    # IIS's own requests (SHA-1, NEW header, CRLF, Microsoft attributes out of DER order)
    ("csr-format", ("iis-one-line", "csr"), ("csr-bad-signature", "csr"), "5.1.8"),
    ("csr-format", ("iis-3tier", "csr"), ("csr-mangled", "csr"), "5.1.8"),
    # names no public CA may issue for (CA/B BRs 7.1.4.2)
    ("cn-hostname", ("good-3tier", "csr"), ("cn-single-label", "csr"), "5.1.4.1"),
    ("cn-hostname", ("iis-3tier", "bundle"), ("cn-internal", "certificate"), "5.1.4.1"),
]


@pytest.mark.parametrize(("control", "good", "bad", "section"), CASES)
def test_control_passes_and_fails_citing_the_manual(demo, control, good, bad, section):
    assert demo.row(control, *good)["outcome"] == "passed"
    failed = demo.row(control, *bad)
    assert failed["outcome"] == "failed"
    assert f"manual {section}" in failed["message"]


def test_the_demo_requests_are_what_iis_writes(demo_lab):
    """The lab's IIS requests are SHA-1 signed, CRLF, NEW header; openssl agrees they verify."""
    import subprocess

    request = demo_lab / "sites" / "good-3tier" / "request.csr"
    data = request.read_bytes()
    assert data.startswith(b"-----BEGIN NEW CERTIFICATE REQUEST-----\r\n")
    text = subprocess.run(
        ["openssl", "req", "-in", str(request), "-noout", "-verify", "-text"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "verify OK" in text.stdout + text.stderr
    assert "sha1WithRSAEncryption" in text.stdout
    assert "1.3.6.1.4.1.311.13.2.2" in text.stdout  # the enrollment CSP attribute


def test_internal_names_name_the_rule(demo):
    single = demo.row("cn-hostname", "cn-single-label", "csr")["message"]
    assert "'intranet' is a single-label name" in single
    assert "Baseline Requirements 7.1.4.2" in single
    local = demo.row("cn-hostname", "cn-internal", "csr")["message"]
    assert "'.local' is no public top-level domain" in local


def test_messages_name_what_was_seen(demo):
    assert "RSA 1024 bits" in demo.row("rsa-2048", "rsa-1024", "csr")["message"]
    assert "EC secp256r1" in demo.row("rsa-2048", "ec-key", "certificate")["message"]
    english = demo.row("subject-english", "chinese-fields", "csr")["message"]
    assert "O='台灣網路認證'" in english
    assert "'台' (U+53F0)" in english
    assert "lacks ST" in demo.row("subject-fields", "missing-st", "csr")["message"]
    assert "C='TWN'" in demo.row("subject-fields", "country-twn", "csr")["message"]
    assert "scheme" in demo.row("cn-hostname", "cn-with-scheme", "csr")["message"]
    assert "expired on" in demo.row("validity", "expired", "certificate")["message"]
    mangled = demo.row("csr-format", "csr-mangled", "csr")["message"]
    assert "not on a line of its own" in mangled


def test_renewal_window_warns_and_passes(demo):
    soon = demo.row("renewal-window", "expiring-soon", "certificate")
    assert soon["outcome"] == "warning"
    assert "manual 5.11" in soon["message"]
    assert "in 29 days" in soon["message"] or "in 30 days" in soon["message"]
    assert demo.row("renewal-window", "good-3tier", "certificate")["outcome"] == "passed"


def test_unreadable_files_are_errors_with_one_line(demo):
    rows = demo.rows(target="unreadable-files")
    outcomes = {(r["control"], r["subject"]): r["outcome"] for r in rows}
    assert outcomes[("csr-format", "csr")] == "failed"  # a certificate is not a CSR
    assert outcomes[("rsa-2048", "csr")] == "error"
    assert outcomes[("rsa-2048", "certificate")] == "error"
    assert outcomes[("validity", "certificate")] == "error"
    for row in rows:
        assert "\n" not in row["message"]
    assert "truncated" in demo.row("validity", "unreadable-files", "certificate")["message"]


def test_results_json_shape_and_exit_status(demo):
    assert demo.status == 1
    doc = demo.json
    assert set(doc) == {
        "certgate",
        "started",
        "finished",
        "as_of",
        "targets",
        "results",
        "summary",
        "certificates",
    }
    assert set(doc["summary"]) == {"passed", "failed", "warning", "error"}
    assert doc["targets"] == "targets.yaml"
    assert doc["summary"]["failed"] > 0
    assert doc["summary"]["warning"] >= 2
    assert sum(doc["summary"].values()) == len(doc["results"])
    row = demo.row("rsa-2048", "rsa-1024", "csr")
    assert row["manual"] == ["5.1.5"]
    assert row["nodeid"] == "checks/test_keys.py::test_rsa_2048[rsa-1024:csr]"


@pytest.mark.parametrize(
    ("target", "subject"),
    [
        ("bundle-not-a-zip", "bundle"),
        ("bundle-empty", "bundle"),
        ("bundle-bomb", "bundle"),
        ("bundle-duplicates", "bundle"),
        ("pfx-wrong-password", "pfx"),
        ("pfx-password-unset", "pfx"),
        ("key-no-password", "private_key"),
        ("key-truncated", "private_key"),
    ],
)
def test_bad_files_are_errors_never_passes(demo, target, subject):
    rows = [r for r in demo.rows(target=target) if r["subject"] == subject]
    audited = [r for r in rows if r["control"] != "pfx-encryption"]  # judged without password
    assert audited
    assert {r["outcome"] for r in audited} == {"error"}
    assert all(r["message"] and "\n" not in r["message"] for r in audited)


def test_validity_never_passes_a_bundle_it_could_not_read_whole(demo):
    row = demo.row("validity", "bundle-csr-as-cer", "bundle")
    assert row["outcome"] == "error"
    assert "certificate request" in row["message"]


def test_pfx_encryption_names_what_it_found(demo):
    message = demo.row("pfx-encryption", "pfx-rc2-40", "pfx")["message"]
    assert "rc2-40" in message.lower()
    assert "iterations" in message


def test_not_applicable_items_are_not_generated(demo):
    assert not [r for r in demo.rows("subject-fields") if r["subject"] == "certificate"]


def test_terminal_shows_one_line_per_failure(demo):
    line = next(
        x for x in demo.stdout.splitlines() if x.startswith("FAILED") and "rsa-1024:csr" in x
    )
    assert "manual 5.1.5" in line


def test_junit_has_control_manual_and_target_properties(demo):
    tree = ET.parse(demo.reports / "junit.xml")
    case = next(c for c in tree.iter("testcase") if c.get("name") == "test_rsa_2048[rsa-1024:csr]")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props == {
        "control": "rsa-2048",
        "manual": "5.1.5",
        "target": "rsa-1024",
        "subject": "csr",
    }


def test_html_report_is_self_contained_with_columns_and_matrix(demo):
    html = (demo.reports / "report.html").read_text(encoding="utf-8")
    assert "Manual §" in html
    assert "certgate-matrix" in html
    assert '<link rel="stylesheet"' not in html  # self-contained
    assert "PRIVATE KEY" not in html


def test_selection_by_target_and_by_control(demo_lab, tmp_path):
    folder = project(tmp_path, demo_targets(demo_lab))
    by_target = run(folder, "-k", "good-4tier and not host")
    assert by_target.status == 0
    assert {r["target"] for r in by_target.json["results"]} == {"good-4tier"}
    by_control = run(folder, "-k", "rsa-2048")
    assert {r["control"] for r in by_control.json["results"]} == {"rsa-2048"}


def test_strict_gate_turns_warnings_into_failures(demo_lab, tmp_path):
    folder = project(tmp_path, demo_targets(demo_lab))
    audit = run(folder, "-k", "expiring-soon", "-W", "error::certgate.ComplianceWarning")
    assert audit.status == 1
    assert audit.row("renewal-window", "expiring-soon", "certificate")["outcome"] == "failed"


def test_bad_targets_file_exits_4_before_any_work(tmp_path):
    text = "targets:\n  - {name: a, csr: nope.csr, pfx_password: hunter2}\n  - {name: a}\n"
    audit = run(project(tmp_path, text))
    assert audit.status == 4
    assert "target 'a': key 'pfx_password'" in audit.stderr
    assert "target 'a': key 'csr': no such file" in audit.stderr
    assert "duplicate target name" in audit.stderr
    assert "hunter2" not in audit.stderr + audit.stdout
    assert not (tmp_path / "reports" / "results.json").exists()


def test_a_bad_targets_file_removes_the_previous_runs_reports(demo_lab, tmp_path):
    folder = project(tmp_path, demo_targets(demo_lab))
    assert run(folder, "-k", "good-4tier and not host").status == 0
    assert (folder / "reports" / "results.json").exists()
    (folder / "targets.yaml").write_text("targets:\n  - {name: a}\n", encoding="utf-8")
    assert run(folder).status == 4
    assert not (folder / "reports" / "results.json").exists()
    assert not (folder / "reports" / "report.html").exists()


def test_collect_only_keeps_the_last_audits_reports(demo_lab, tmp_path):
    folder = project(tmp_path, demo_targets(demo_lab))
    run(folder, "-k", "good-4tier and not host")
    before = (folder / "reports" / "results.json").read_text(encoding="utf-8")
    assert run(folder, "--collect-only", "-q").status == 0
    assert (folder / "reports" / "results.json").read_text(encoding="utf-8") == before


def test_nothing_collected_exits_5(demo_lab, tmp_path):
    audit = run(project(tmp_path, demo_targets(demo_lab)), "-k", "no-such-target")
    assert audit.status == 5


def test_audit_as_of_another_day(demo_lab, tmp_path):
    audit = run(
        project(tmp_path, demo_targets(demo_lab)),
        "-k",
        "good-3tier",
        "--now",
        "2099-01-01T00:00:00Z",
    )
    assert audit.row("validity", "good-3tier", "certificate")["outcome"] == "failed"
