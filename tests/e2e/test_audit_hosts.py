"""End to end: the host controls against the demo lab's live HTTPS servers on 127.0.10.x.

For every host control one address that must pass and one that must fail citing the manual;
could-not-audit addresses are errors on their other items, never passes.
"""

from __future__ import annotations

import pytest

from tests.support.audit import Audit, comparable_rows, run_beside

GOOD3, GOOD4 = ("host-good-3tier", "127.0.10.1:8443"), ("host-good-4tier", "127.0.10.2:8443")

CASES = [
    # control, passing (target, subject), failing (target, subject), manual § cited
    ("https-binding", GOOD3, ("host-refused", "127.0.10.12:8443"), "5.8"),
    ("https-binding", GOOD4, ("host-plain-http", "127.0.10.14:8443"), "5.8"),
    ("chain-served", GOOD3, ("host-leaf-only", "127.0.10.3:8443"), "6.1"),
    ("chain-served", GOOD4, ("host-wrong-order", "127.0.10.5:8443"), "6.1"),
    ("chain-served", GOOD3, ("host-leaf-root", "127.0.10.4:8443"), "6.1"),
    ("chain-trusted", GOOD3, ("host-untrusted-root", "127.0.10.9:8443"), "5.4, 5.5, 5.7.1.2"),
    ("chain-trusted", GOOD4, ("host-wrong-name", "127.0.10.7:8443"), "5.4, 5.5, 5.7.1.2"),
    ("chain-trusted", GOOD3, ("host-expired", "127.0.10.6:8443"), "5.4, 5.5, 5.7.1.2"),
    ("served-expected", GOOD3, ("host-renewal-missed", "127.0.10.11:8443"), "6.2"),
    ("validity", GOOD4, ("host-expired", "127.0.10.6:8443"), "5.7.1.1"),
    ("chain-trusted", GOOD3, ("host-sha1-leaf", "127.0.10.17:8443"), "5.4, 5.5, 5.7.1.2"),
    ("chain-trusted", GOOD4, ("host-rsa-1024", "127.0.10.18:8443"), "5.4, 5.5, 5.7.1.2"),
    ("rsa-2048", GOOD3, ("host-rsa-1024", "127.0.10.18:8443"), "5.1.5"),
    ("chain-served", GOOD4, ("host-missing-uca1", "127.0.10.19:8443"), "6.1"),
]


@pytest.mark.parametrize(("control", "good", "bad", "section"), CASES)
def test_host_control_passes_and_fails_citing_the_manual(
    demo_audit: Audit, control, good, bad, section
):
    assert demo_audit.row(control, *good)["outcome"] == "passed"
    failed = demo_audit.row(control, *bad)
    assert failed["outcome"] == "failed"
    assert f"manual {section}" in failed["message"]


def test_a_sha1_leaf_is_sent_in_full_and_rejected_for_its_signature(demo_audit: Audit):
    """Issue 9.2: a SHA-1 link is a link (chain-served passes); chain-trusted says why."""
    where = ("host-sha1-leaf", "127.0.10.17:8443")
    assert demo_audit.row("chain-served", *where)["outcome"] == "passed"
    trusted = demo_audit.row("chain-trusted", *where)["message"]
    assert "weak signature" in trusted
    assert "'sha1.lab' is signed with SHA1" in trusted
    assert "uca.cer" in trusted
    assert "SHA-256" in trusted
    assert "is not sent" not in trusted


def test_a_short_leaf_key_is_rejected_as_browsers_do(demo_audit: Audit):
    message = demo_audit.row("chain-trusted", "host-rsa-1024", "127.0.10.18:8443")["message"]
    assert "weak key" in message
    assert "RSA 1024-bit key, under 2048" in message


def test_a_missing_upper_intermediate_fails_chain_served_with_both_fixes(demo_audit: Audit):
    message = demo_audit.row("chain-served", "host-missing-uca1", "127.0.10.19:8443")["message"]
    assert "certgate Lab SSL CA 1" in message or "uca_1" in message
    assert "neither sent nor a trusted root" in message
    assert "Intermediate Certification Authorities" in message
    assert "Trusted Root Certification Authorities" in message
    assert "Install uca.cer" not in message  # one fix for this finding, not a contradiction


def test_consistent_addresses_names_which_address_serves_what(demo_audit: Audit):
    row = demo_audit.row("consistent-addresses", "host-renewal-missed", "*")
    assert row["outcome"] == "failed"
    assert "127.0.10.10:8443 serves" in row["message"]
    assert "127.0.10.11:8443 serves" in row["message"]
    assert "manual 6.2.2, 6.2.3, 6.2.4" in row["message"]
    assert "one of several servers behind the name was not updated (6.2.2)" in row["message"]
    assert "(6.2.1)" not in row["message"]  # not a cause consistent-addresses cites
    # the renewed address is fine; only the stale one fails served-expected
    new = demo_audit.row("served-expected", "host-renewal-missed", "127.0.10.10:8443")
    assert new["outcome"] == "passed"


def test_consistent_addresses_passes_when_every_server_was_renewed(demo_audit: Audit):
    assert demo_audit.row("consistent-addresses", "host-two-servers", "*")["outcome"] == "passed"
    for address in ("127.0.10.1:8443", "127.0.10.16:8443"):
        row = demo_audit.row("served-expected", "host-two-servers", address)
        assert row["outcome"] == "passed"


def test_trust_failures_are_told_apart(demo_audit: Audit):
    def message(target: str, address: str) -> str:
        return str(demo_audit.row("chain-trusted", target, address)["message"])

    assert message("host-untrusted-root", "127.0.10.9:8443").startswith(
        "127.0.10.9:8443 (rogue.lab): untrusted root"
    )
    assert "incomplete chain" in message("host-leaf-only", "127.0.10.3:8443")
    assert "name mismatch" in message("host-wrong-name", "127.0.10.7:8443")
    assert "expired" in message("host-expired", "127.0.10.6:8443")


@pytest.mark.parametrize(
    ("target", "subject", "reason"),
    [
        ("host-refused", "127.0.10.12:8443", "connection refused"),
        ("host-hanging", "127.0.10.13:8443", "no TLS answer within"),
        ("host-plain-http", "127.0.10.14:8443", "not with TLS"),
        ("host-no-such-name", "unresolved:443", "does not resolve"),
    ],
)
def test_unreachable_addresses_fail_binding_and_error_elsewhere(
    demo_audit: Audit, target, subject, reason
):
    rows = [r for r in demo_audit.rows(target=target) if r["subject"] == subject]
    binding = next(r for r in rows if r["control"] == "https-binding")
    assert binding["outcome"] == "failed"
    assert reason in binding["message"]
    others = [r for r in rows if r["control"] != "https-binding"]
    assert others
    assert {r["outcome"] for r in others} == {"error"}
    assert all(reason in r["message"] and "\n" not in r["message"] for r in others)


def test_host_item_ids_and_subjects(demo_audit: Audit):
    row = demo_audit.row("chain-served", "host-good-3tier", "127.0.10.1:8443")
    assert (
        row["nodeid"] == "checks/test_hosts.py::test_chain_served[host-good-3tier@127.0.10.1:8443]"
    )
    assert row["manual"] == ["6.1", "5.5"]


def test_served_leaf_gets_the_certificate_controls(demo_audit: Audit):
    for control in ("rsa-2048", "subject-english", "validity", "renewal-window"):
        assert demo_audit.row(control, *GOOD3)["outcome"] == "passed"
    expired = demo_audit.row("renewal-window", "host-expired", "127.0.10.6:8443")
    assert expired["outcome"] == "warning"


def test_report_shows_the_reproducing_command(demo_audit: Audit):
    html = (demo_audit.reports / "report.html").read_text(encoding="utf-8")
    assert "openssl s_client -connect 127.0.10.3:8443 -servername leafonly.lab -showcerts" in html


# HARDENING.md §A.1's prediction for a default IIS, as far as the demo's Python server can
# offer it (no 3DES in Debian's OpenSSL; no OCSP or DHE here): fail, warning, pass.
IIS_DEFAULT = ("host-iis-default", "127.0.10.20:8443")
HARDENED = ("host-hardened", "127.0.10.21:8443")
IIS_FAILS = (
    "tls-no-legacy",
    "cipher-no-cbc-sha1",
    "cipher-forward-secrecy",
    "hsts",
    "http-redirects-to-https",
)
IIS_WARNS = ("cipher-aead-only", "cert-lifetime")  # a 397-day leaf issued after 2026-03-15


def test_the_demo_shows_the_hardening_profile_failing_and_passing(demo_audit: Audit):
    iis = {r["control"]: r["outcome"] for r in demo_audit.rows(target=IIS_DEFAULT[0])}
    hardened = {r["control"]: r["outcome"] for r in demo_audit.rows(target=HARDENED[0])}
    assert {c for c, o in iis.items() if o == "failed"} == set(IIS_FAILS)
    assert {c for c, o in iis.items() if o == "warning"} == set(IIS_WARNS)
    assert "fallback-scsv" in hardened
    assert "tls13-offered" in hardened
    assert {o for c, o in hardened.items()} == {"passed"}, hardened


def test_every_demo_hardening_item_carries_its_evidence_and_manual_items_none(demo_audit: Audit):
    for row in demo_audit.rows(target=HARDENED[0]) + demo_audit.rows(target=IIS_DEFAULT[0]):
        hardening = row["manual"] == ["hardening"]
        assert bool(row.get("evidence")) is hardening, row
        if hardening:
            assert any(line.startswith("reproduce: ") for line in row["evidence"]), row
    legacy = demo_audit.row("tls-no-legacy", *IIS_DEFAULT)["evidence"]
    assert legacy[0].startswith("TLS 1.0: accepted: TLS_RSA_WITH_AES_256_CBC_SHA")
    assert demo_audit.row("hsts", *HARDENED)["evidence"][0] == (
        "HTTPS GET /: Strict-Transport-Security: max-age=31536000; includeSubDomains"
    )


def test_the_demo_report_shows_hardening_evidence_and_says_what_is_judged(demo_audit: Audit):
    import html as markup

    page = (demo_audit.reports / "report.html").read_text(encoding="utf-8")
    shown = markup.unescape(markup.unescape(page))  # pytest-html's JSON in an attribute
    assert shown.count("stricter than SSL Labs") == 1
    # a passed item's evidence too: the redirect that proves http-redirects-to-https
    assert "GET http://www.hardened.lab:8080/" in shown
    assert "curl -sI --resolve www.hardened.lab:8080:127.0.10.21 http://www.hardened.lab:8080/" in (
        shown
    )
    assert (
        "openssl s_client -connect 127.0.10.20:8443 -servername iis.hardening.lab -tls1 "
        "-cipher 'AES256-SHA:@SECLEVEL=0' -brief </dev/null"
    ) in shown


def test_every_address_is_scanned_once_in_one_scan(demo_audit: Audit):
    # 127.0.10.1-21: the host targets' addresses (two targets share 127.0.10.1, the four
    # pages-* targets share 127.0.10.15), none for the name that does not resolve
    assert "certgate: scanned 21 addresses in 1 scan" in demo_audit.stdout


def test_selection_scans_only_the_selected_target(demo_lab, tmp_path):
    from tests.support.audit import demo_targets, project, run

    audit = run(project(tmp_path, demo_targets(demo_lab)), "-k", "host-good-4tier")
    assert "certgate: scanned 1 address in 1 scan" in audit.stdout
    assert audit.status == 0
    assert {r["target"] for r in audit.json["results"]} == {"host-good-4tier"}


def test_a_run_that_deselects_every_item_contacts_no_host(demo_lab, tmp_path):
    """The scan starts while pytest collects only when nothing is deselected: -m that keeps
    no item scans nothing."""
    from tests.support.audit import demo_targets, project, run

    audit = run(project(tmp_path, demo_targets(demo_lab)), "-m", "not certgate_control")
    assert audit.status == 5
    assert "scanned" not in audit.stdout
    assert "certgate: scanning" not in audit.stdout


def test_a_run_of_other_tests_beside_the_inventory_contacts_no_host(tmp_path):
    """The scan starts with certgate's first check item: a folder of someone's own tests,
    run where targets.yaml is, is refused (exit 4) and its host never hears from certgate."""
    import socket

    from tests.support.audit import project, run

    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        targets = f"targets:\n  - {{name: quiet, host: www.quiet.lab, port: {port}, "
        folder = project(tmp_path, targets + "addresses: [127.0.0.1]}\n")
        (folder / "own").mkdir()
        (folder / "own" / "test_mine.py").write_text("def test_mine():\n    pass\n", "utf-8")
        audit = run(folder, "own")
        assert audit.status == 4
        assert "hold none of certgate's checks" in audit.stdout + audit.stderr
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody connected


def test_an_audit_where_nothing_answers_never_exits_0(demo_lab, tmp_path):
    from tests.support.audit import demo_targets, project, run

    audit = run(project(tmp_path, demo_targets(demo_lab)), "-k", "host-refused")
    assert audit.status == 1
    assert audit.json["summary"]["passed"] == 0


def test_progress_line_names_the_address_that_holds_up_the_scan(demo_audit: Audit):
    assert "waiting for 127.0.10.13:8443" in demo_audit.stdout  # the port that never answers
    assert "certgate: scanning 21 addresses: 21/21 done" in demo_audit.stdout


def test_targets_sharing_an_address_are_judged_by_their_own_trust(demo_lab, tmp_path):
    from tests.support.audit import project, run

    targets = f"""
lab: {demo_lab}
targets:
  - {{name: own-root, host: www.good.lab, port: 8443, addresses: [127.0.10.1],
      policy: {{trust: [{demo_lab}/pki/root.cer]}}}}
  - {{name: public-only, host: www.good.lab, port: 8443, addresses: [127.0.10.1],
      policy: {{trust: [mozilla]}}}}
"""
    audit = run(project(tmp_path, targets), "-k", "chain-trusted")
    assert audit.row("chain-trusted", "own-root", "127.0.10.1:8443")["outcome"] == "passed"
    public = audit.row("chain-trusted", "public-only", "127.0.10.1:8443")
    assert public["outcome"] == "failed"
    assert "untrusted root" in public["message"]
    assert "certgate: scanned 2 addresses in 2 scans" in audit.stdout


def test_consistent_addresses_cannot_pass_when_an_address_is_silent(demo_lab, tmp_path):
    from tests.support.audit import project, run

    targets = f"""
lab: {demo_lab}
targets:
  - {{name: half-down, host: www.good.lab, port: 8443, addresses: [127.0.10.1, 127.0.10.12],
      policy: {{trust: [{demo_lab}/pki/root.cer]}}}}
"""
    audit = run(project(tmp_path, targets), "-k", "consistent-addresses or https-binding")
    row = audit.row("consistent-addresses", "half-down", "*")
    assert row["outcome"] == "error"
    assert "127.0.10.12:8443 (connection refused" in row["message"]


# the audit's threads may not stand in for the handshake process (they answer what it never
# does): the run below is the process's own
_PROCESS_ONLY = """\
from certgate.hosts import probe

def _no_threads(*args):
    raise AssertionError("the handshake process left addresses unanswered")

probe._from_threads = _no_threads
"""


def test_the_demo_audited_with_the_handshake_process_reports_what_the_threads_report(
    demo_audit: Audit,
):
    """At 200 addresses or more the handshakes run in a process of their own (the demo has
    fewer, so its own run used threads): asked to use the process, the whole demo audit gives
    the same rows, every host control's passes and failures with their manual sections
    included, and the same counts."""
    folder = demo_audit.reports.parent
    (folder / "process_only.py").write_text(_PROCESS_ONLY, encoding="utf-8")
    by_process = run_beside(
        demo_audit, "reports-child", "-p", "process_only", env={"CERTGATE_HANDSHAKES": "child"}
    )
    assert by_process.status == demo_audit.status == 1
    assert comparable_rows(by_process) == comparable_rows(demo_audit)
    hosts = {"https-binding", "chain-served", "chain-trusted", "served-expected"}
    outcomes = {(r["control"], r["outcome"]) for r in by_process.rows() if r["control"] in hosts}
    assert {(c, o) for c in hosts for o in ("passed", "failed")} <= outcomes
