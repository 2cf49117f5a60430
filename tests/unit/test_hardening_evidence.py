"""The hardening profile's evidence lines on recorded facts: what each control shows, for a
default IIS (failing) and a hardened server (passing), with the exact reproducing commands."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from certgate.controls import CATALOGUE
from certgate.files.certificates import certificate_facts
from certgate.files.facts import CertificateFacts
from certgate.hosts.commands import openssl_cipher_name
from certgate.hosts.facts import (
    AcceptedSuite,
    AttemptStatus,
    CommandAttempt,
    Endpoint,
    EndpointFacts,
    EndpointStatus,
    GroupScan,
    HardeningFacts,
    HttpAnswer,
    NonSniFacts,
    Observed,
    OcspFacts,
    OcspStaple,
    Renegotiation,
    RobotResult,
)
from certgate.hosts.hardening_evidence import (
    EVIDENCE,
    MAX_COMMANDS,
    Line,
    evidence_lines,
)
from certgate.lab import demo, pki
from certgate.report.evidence import hardening_html
from certgate.report.html import hardening_note_html
from certgate.report.results import Outcome, ResultRow, Results
from tests.support.hardening import SCANNED, observed, scanned, suite

SHOP = Endpoint("shop.example", "192.0.2.7", 443)
DONE = SCANNED
ECDH = "ECDH X25519 (253 bits)"
NOW = datetime(2026, 11, 30, tzinfo=UTC)
_seen = observed


def _suite(name: str, version: str = "TLS 1.2", kx: str | None = ECDH) -> AcceptedSuite:
    return suite(name, version, kx)


def _facts(*suites: AcceptedSuite, failed: str | None = None, **more: Any) -> HardeningFacts:
    """A server that answers every probe cleanly, unless ``more`` says otherwise."""
    http = HttpAnswer(
        "http://shop.example/", "curl -sI --resolve shop.example:80:192.0.2.7 http://shop.example/"
    )
    clean: dict[str, Any] = {
        "leaf_eku": ("1.3.6.1.5.5.7.3.1",),
        "compression": _seen(False),
        "heartbleed": _seen(False),
        "ccs_injection": _seen(False),
        "robot": _seen(RobotResult.NOT_VULNERABLE_NO_ORACLE),
        "renegotiation": _seen(Renegotiation(secure=True, client_dos=False)),
        "fallback_scsv": _seen(True),
    }
    return scanned(*suites, failed=failed, http=replace(http, status=200), **(clean | more))


# A default Windows Server 2019 IIS (HARDENING.md §C): TLS 1.0-1.2, static RSA, CBC-SHA1, 3DES.
IIS = _facts(
    _suite("TLS_RSA_WITH_AES_128_CBC_SHA", "TLS 1.0", None),
    _suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS 1.1"),
    _suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    _suite("TLS_RSA_WITH_AES_128_CBC_SHA", kx=None),
    _suite("TLS_RSA_WITH_3DES_EDE_CBC_SHA", kx=None),
)
HARDENED = _facts(
    _suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    _suite("TLS_AES_128_GCM_SHA256", "TLS 1.3"),
    hsts="max-age=31536000",
    hsts_max_age=31_536_000,
)


def _lines(control: str, h: HardeningFacts, endpoint: Endpoint = SHOP) -> list[str]:
    return [str(line) for line in evidence_lines(control, _served(h, endpoint))]


def _served(
    h: HardeningFacts | None, endpoint: Endpoint = SHOP, chain: tuple[CertificateFacts, ...] = ()
) -> EndpointFacts:
    return EndpointFacts(endpoint, EndpointStatus.OK, served_chain=chain, hardening=h)


def test_every_hardening_control_has_evidence_and_nothing_else_does():
    hardening = {c.id for c in CATALOGUE.values() if c.hardening}
    assert set(EVIDENCE) == hardening
    assert evidence_lines("rsa-2048", _served(IIS)) == ()
    assert evidence_lines("tls-no-legacy", _served(None)) == ()  # not scanned with the profile


def test_legacy_tls_shows_the_suites_and_a_handshake_that_works_openssl_3():
    lines = _lines("tls-no-legacy", IIS)
    assert lines == [
        "TLS 1.0: accepted: TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS 1.1: accepted: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "reproduce: openssl s_client -connect 192.0.2.7:443 -servername shop.example -tls1 "
        "-cipher 'AES128-SHA:@SECLEVEL=0' -brief </dev/null",
        "reproduce: openssl s_client -connect 192.0.2.7:443 -servername shop.example -tls1_1 "
        "-cipher 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0' -brief </dev/null",
    ]


def test_a_passed_version_control_shows_the_refusal_and_the_handshake_that_fails():
    lines = _lines("tls-no-legacy", HARDENED)
    assert lines[:2] == ["TLS 1.0: refused", "TLS 1.1: refused"]
    assert "-tls1 -cipher 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'" in lines[2]
    # OpenSSL 3 has no SSL 2.0/3.0 client: sslyze's enumeration of that version
    assert _lines("tls-no-ssl", HARDENED)[2:] == [
        "reproduce: sslyze --sslv2 shop.example:443{192.0.2.7}",
        "reproduce: sslyze --sslv3 shop.example:443{192.0.2.7}",
    ]
    assert _lines("tls13-offered", HARDENED)[-1].endswith(
        "-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256 -brief </dev/null"
    )


def test_a_weak_suite_is_named_with_the_openssl_handshake_that_takes_it():
    lines = _lines("cipher-no-weak", IIS)
    assert "weak: TLS 1.2 TLS_RSA_WITH_3DES_EDE_CBC_SHA" in lines
    assert lines[-1] == (
        "reproduce: openssl s_client -connect 192.0.2.7:443 -servername shop.example -tls1_2 "
        "-cipher 'DES-CBC3-SHA:@SECLEVEL=0' -brief </dev/null"
    )


def test_a_passed_suite_control_shows_every_accepted_suite_and_sslyzes_enumeration():
    lines = _lines("cipher-no-cbc-sha1", HARDENED)
    assert lines == [
        "TLS 1.2: accepted: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "CBC-SHA1: none",
        "reproduce: sslyze --tlsv1_2 shop.example:443{192.0.2.7}",
    ]


def test_forward_secrecy_shows_each_suites_key_exchange():
    lines = _lines("cipher-forward-secrecy", IIS)
    assert any(
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (ECDH X25519 (253 bits))" in line for line in lines
    )
    assert any("TLS_RSA_WITH_AES_128_CBC_SHA (static RSA, no ephemeral key)" in x for x in lines)


def test_many_offending_suites_give_a_few_commands_and_a_count():
    many = _facts(*(_suite(f"TLS_RSA_WITH_AES_{n}_CBC_SHA256", kx=None) for n in range(6)))
    lines = _lines("cipher-aead-only", many)
    assert sum(line.startswith("reproduce: ") for line in lines) == MAX_COMMANDS
    assert lines[-1] == "and: 3 more suites, the same way"


def test_a_failed_enumeration_is_said_never_shown_as_a_pass():
    broken = _facts(_suite("TLS_AES_128_GCM_SHA256", "TLS 1.3"), failed="TLS 1.2")
    lines = _lines("cipher-no-cbc-sha1", broken)
    assert lines[0] == "TLS 1.2: not scanned: connection reset"
    assert lines[1].startswith("CBC-SHA1: not checked: could not enumerate")
    assert not any(line == "CBC-SHA1: none" for line in lines)


def test_hsts_shows_the_header_seen_or_its_absence_and_curl():
    assert _lines("hsts", IIS) == [
        "HTTPS GET /: no Strict-Transport-Security header",
        "required: max-age >= 31536000 s (one year)",
        "reproduce: curl -skI --resolve shop.example:443:192.0.2.7 https://shop.example:443/",
    ]
    assert _lines("hsts", HARDENED)[0] == "HTTPS GET /: Strict-Transport-Security: max-age=31536000"
    unread = replace(HARDENED, headers=CommandAttempt("http_headers", AttemptStatus.ERROR, "reset"))
    assert _lines("hsts", unread)[0] == "HTTPS GET /: not read: reset"


@pytest.mark.parametrize(
    ("answer", "seen"),
    [
        ({"status": 200}, "GET http://shop.example/: 200"),
        (
            {"status": 301, "location": "https://shop.example/"},
            "GET http://shop.example/: 301, Location: https://shop.example/",
        ),
        ({"refused": True}, "GET http://shop.example/: connection refused (nothing listens"),
        ({"error": "timed out"}, "GET http://shop.example/: no answer: timed out"),
    ],
)
def test_the_plain_http_answer_is_shown_with_its_curl(answer: dict[str, object], seen: str):
    http = replace(HttpAnswer(IIS.http.url, IIS.http.command), **answer)  # type: ignore[arg-type]
    lines = _lines("http-redirects-to-https", replace(IIS, http=http))
    assert lines[0].startswith(seen)
    assert lines[1] == f"reproduce: {IIS.http.command}"


def test_vulnerability_results_are_named_and_a_missing_one_is_not_a_pass():
    vulnerable = replace(HARDENED, heartbleed=_seen(True))
    assert _lines("vuln-heartbleed-ccs", vulnerable)[:2] == [
        "Heartbleed: VULNERABLE",
        "CCS injection: not vulnerable",
    ]
    missing = replace(
        HARDENED,
        compression=Observed(CommandAttempt("tls_compression", AttemptStatus.ERROR, "reset")),
    )
    assert _lines("tls-compression-off", missing)[0] == "TLS compression: not checked: reset"
    strong = replace(HARDENED, robot=_seen(RobotResult.VULNERABLE_STRONG_ORACLE))
    assert _lines("vuln-robot", strong)[0] == "ROBOT: strong oracle (VULNERABLE_STRONG_ORACLE)"
    insecure = replace(HARDENED, renegotiation=_seen(Renegotiation(secure=False, client_dos=True)))
    assert _lines("renegotiation-secure", insecure)[:2] == [
        "secure renegotiation (RFC 5746): NOT supported",
        "client-initiated renegotiation: unlimited",
    ]


def test_fallback_scsv_is_shown_na_on_a_tls12_server_and_probed_below_the_best_version():
    assert "TLS_FALLBACK_SCSV: not applicable: TLS 1.0 and 1.1 are refused" in _lines(
        "fallback-scsv", HARDENED
    )
    lines = _lines("fallback-scsv", replace(IIS, fallback_scsv=_seen(False)))
    assert "TLS_FALLBACK_SCSV: NOT refused" in lines
    assert (
        "reproduce: openssl s_client -connect 192.0.2.7:443 -servername shop.example -tls1_1 "
        "-fallback_scsv -cipher 'ALL:@SECLEVEL=0' -brief </dev/null"
    ) in lines


def test_certificate_controls_show_the_leaf_and_the_openssl_x509_command(chains: demo.Chains):
    start = pki.now() - timedelta(days=1)
    made = pki.make_leaf(
        pki.name(CN="shop.example"),
        chains.uca,
        key=pki.pooled_key(),
        dns_names=["shop.example"],
        not_before=start,
        not_after=start + timedelta(days=500),
    )
    chain = (certificate_facts(made.cert, "leaf"), certificate_facts(chains.uca.cert, "uca"))
    served = _served(IIS, chain=chain)
    lifetime = [str(line) for line in evidence_lines("cert-lifetime", served)]
    assert "lifetime: 500 days" in lifetime
    assert lifetime[-1] == (
        "reproduce: openssl s_client -connect 192.0.2.7:443 -servername shop.example "
        "</dev/null 2>/dev/null | openssl x509 -noout -dates"
    )
    signatures = [str(line) for line in evidence_lines("cert-sig-sha2", served)]
    assert signatures[0] == "certificate: CN=shop.example signed with sha256WithRSAEncryption"
    eku = [str(line) for line in evidence_lines("cert-eku-serverauth", served)]
    assert eku[0] == "Extended Key Usage: 1.3.6.1.5.5.7.3.1 (serverAuth)"


def test_an_ipv6_address_is_bracketed_in_every_command():
    v6 = Endpoint("shop.example", "2001:db8::7", 443)
    assert "-connect [2001:db8::7]:443" in _lines("tls-no-legacy", IIS, v6)[2]
    assert "--resolve shop.example:443:[2001:db8::7]" in _lines("hsts", IIS, v6)[2]


def test_lines_come_back_from_results_json_as_they_were():
    for control in EVIDENCE:
        for line in evidence_lines(control, _served(IIS)):
            assert Line.parse(str(line)) == line


def test_openssl_names_come_from_sslyzes_suite_list():
    assert openssl_cipher_name("TLS_RSA_WITH_AES_128_CBC_SHA") == "AES128-SHA"
    assert openssl_cipher_name("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384") == (
        "ECDHE-RSA-AES256-GCM-SHA384"
    )
    assert openssl_cipher_name("TLS_AES_128_GCM_SHA256") == "TLS_AES_128_GCM_SHA256"


# --- where the lines go: results.json, a merged run, report.html ------------------------------


def _row(control: str, evidence: tuple[str, ...] = ()) -> ResultRow:
    nodeid = f"checks/test_hardening.py::test_x[shop@{SHOP.where}]"
    return ResultRow("shop", control, SHOP.where, Outcome.PASSED, "", (), nodeid, evidence)


def test_results_json_carries_the_lines_on_hardening_rows_only():
    lines = tuple(str(line) for line in evidence_lines("hsts", _served(HARDENED)))
    assert _row("hsts", lines).as_json()["evidence"] == list(lines)
    assert "evidence" not in _row("rsa-2048").as_json()  # SPEC §4's keys, unchanged


def test_a_merged_run_reads_the_lines_back():
    from certgate.merge import _row as merged_row

    lines = tuple(str(line) for line in evidence_lines("tls-no-legacy", _served(IIS)))
    assert merged_row(_row("tls-no-legacy", lines).as_json()).evidence == lines
    assert merged_row(_row("rsa-2048").as_json()).evidence == ()


def test_the_html_escapes_every_line_and_marks_commands():
    hostile = Line("TLS 1.0", "accepted: <script>x</script>")
    html = hardening_html("192.0.2.7:443", [hostile, Line("reproduce", "curl -sI 'a&b'")])
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<code>curl -sI &#x27;a&amp;b&#x27;</code>" in html


def test_the_offered_not_negotiated_note_is_shown_once_when_hardening_items_ran(tmp_path):
    results = Results(NOW, NOW, tmp_path / "targets.yaml", tmp_path / "results.json")
    assert hardening_note_html(results) == ""
    results.rows += [_row("hsts"), _row("tls-no-legacy"), _row("rsa-2048")]
    note = hardening_note_html(results)
    assert note.count("stricter than SSL Labs") == 1
    assert "simulated browsers" in note


# --- the three controls of the hardening-controls branch: groups, OCSP staple, no SNI ---------


def test_kex_groups_shows_the_groups_the_keys_and_a_handshake_with_the_weak_one():
    dhe = AcceptedSuite(
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS 1.2", 128, False, "DH 1024 bits", None, 1024
    )
    groups = (GroupScan("TLS 1.2", ("X25519", "secp224r1")),)
    lines = _lines("kex-groups", replace(_facts(dhe), groups=_seen(groups)))
    assert "groups (TLS 1.2): X25519, secp224r1" in lines
    assert "ephemeral keys: TLS 1.2 DH 1024 bits" in lines
    outside = next(x for x in lines if x.startswith("outside: "))
    assert "secp224r1 (TLS 1.2)" in outside
    assert "DH 1024 bits (TLS 1.2: TLS_DHE_RSA_WITH_AES_128_GCM_SHA256)" in outside
    assert (
        "reproduce: openssl s_client -connect 192.0.2.7:443 -servername shop.example -tls1_2 "
        "-groups secp224r1 -brief </dev/null"
    ) in lines
    assert "-cipher 'DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0'" in " ".join(lines)
    clean = _lines(
        "kex-groups", replace(HARDENED, groups=_seen((GroupScan("TLS 1.3", ("X25519",)),)))
    )
    assert "outside: none" in clean
    assert clean[-1] == "reproduce: sslyze --elliptic_curves shop.example:443{192.0.2.7}"
    assert "groups: not probed: not run" in _lines("kex-groups", HARDENED)


def test_ocsp_shows_the_staple_status_and_times_or_that_nothing_was_stapled():
    produced = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    staple = OcspStaple(
        "successful", "good", produced, produced, produced + timedelta(days=7), True
    )
    responder = ("http://ocsp.example/",)
    lines = _lines(
        "ocsp-stapled", replace(HARDENED, ocsp=_seen(OcspFacts(responder, False, staple)))
    )
    assert lines[:7] == [
        "leaf's OCSP responder: http://ocsp.example/",
        "must-staple (RFC 7633): no",
        "stapled: successful, certificate good",
        "producedAt: 2026-11-29 06:00 UTC",
        "thisUpdate: 2026-11-29 06:00 UTC",
        "nextUpdate: 2026-12-06 06:00 UTC",
        "signature trusted: yes",
    ]
    assert lines[-1].startswith(
        "reproduce: openssl s_client -connect 192.0.2.7:443 -servername shop.example -status"
    )
    none = _lines("ocsp-stapled", replace(IIS, ocsp=_seen(OcspFacts(responder, True))))
    assert none[1:3] == ["must-staple (RFC 7633): yes", "stapled: nothing"]


def test_non_sni_shows_the_certificate_served_without_sni(chains: demo.Chains):
    stale = pki.make_leaf(pki.name(CN="stale.example"), chains.uca, key=pki.pooled_key())
    leaf = certificate_facts(stale.cert, "no SNI")
    got = NonSniFacts(leaf, ("stale.example",), False, False, "name mismatch", False)
    lines = _lines("non-sni-cert-valid", replace(IIS, non_sni=_seen(got)))
    assert lines[0] == f"without SNI: CN=stale.example, SHA-256 {leaf.sha256}"
    assert lines[2:5] == [
        "covers shop.example: NO",
        "validates: NO: name mismatch",
        "same as with SNI: no",
    ]
    assert lines[-1].startswith("reproduce: openssl s_client -connect 192.0.2.7:443 -noservername")
    refused = _lines("non-sni-cert-valid", replace(IIS, non_sni=_seen(NonSniFacts())))
    assert refused[0].startswith("without SNI: handshake refused")
