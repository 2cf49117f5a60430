"""The hardening profile end to end against real nginx servers with known configurations.

- ``iis``: configured the way a default IIS is (TLS 1.0/1.1 on, RSA key exchange, CBC-SHA
  suites, no HSTS, plain HTTP answering 200), plus an anonymous suite as the weak one (Debian's
  OpenSSL 3.0 has no 3DES, NULL or RC4 left to offer: 3DES is judged on recorded facts in
  tests/unit/test_hardening_rules.py), a SHA-1-signed leaf valid 500 days.
- ``hardened``: TLS 1.2/1.3, ECDHE + AEAD only, HSTS one year, HTTP redirected to https on the
  same host, a 90-day leaf.
- ``mistakes``: hardened ciphers on TLS 1.2 only, a clientAuth-only leaf, HSTS one day, HTTP
  redirected to another host.

A target without ``hardening`` on the same server gets no hardening item (the profile is
opt-in). The cross-check runs sslyze's own scan of the same servers with the same commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.x509 import ObjectIdentifier
from cryptography.x509.oid import ExtendedKeyUsageOID
from sslyze import (
    RobotScanResultEnum,
    ScanCommand,
    Scanner,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanResult,
)

from certgate.hosts.hardening_scan import PROBE_COMMANDS, VERSION_COMMANDS
from certgate.lab import demo, pki
from tests.support.audit import Audit, project, run
from tests.support.nginx import Site, running_nginx

PORT, HTTP_PORT = 8443, 8080
IIS, HARDENED, MISTAKES = "127.0.50.1", "127.0.50.2", "127.0.50.3"
HARDENING_IDS = (
    "tls-no-ssl",
    "tls-no-legacy",
    "tls13-offered",
    "cipher-no-weak",
    "cipher-no-cbc-sha1",
    "cipher-forward-secrecy",
    "cipher-aead-only",
    "cert-sig-sha2",
    "cert-lifetime",
    "cert-eku-serverauth",
    "hsts",
    "http-redirects-to-https",
    "vuln-heartbleed-ccs",
    "vuln-robot",
    "renegotiation-secure",
    "tls-compression-off",
    "fallback-scsv",
)
# HARDENING.md §A #16-20: no server here can fail them (Debian's OpenSSL has none of these
# flaws); their failing sides are judged on recorded facts in tests/unit/test_hardening_rules.py.
PROBES = HARDENING_IDS[-5:]
LEGACY = (
    "    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n"
    '    ssl_ciphers "AES128-SHA:AES256-SHA:AES128-SHA256:AES128-GCM-SHA256:'
    'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:AECDH-AES128-SHA:@SECLEVEL=0";\n'
)
MODERN = (
    "    ssl_protocols TLSv1.2 TLSv1.3;\n"
    "    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384;\n"
    '    add_header Strict-Transport-Security "max-age=31536000" always;\n'
)
TLS12_ONLY = (
    "    ssl_protocols TLSv1.2;\n"
    "    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;\n"
    '    add_header Strict-Transport-Security "max-age=86400" always;\n'
)


def _leaf(
    chains: demo.Chains,
    host: str,
    days: int,
    usages: tuple[ObjectIdentifier, ...] = (ExtendedKeyUsageOID.SERVER_AUTH,),
) -> pki.Issued:
    start = pki.now() - timedelta(days=1)
    return pki.make_leaf(
        pki.name(C="TW", O="certgate Lab", CN=host),
        chains.uca,
        key=pki.pooled_key(),
        dns_names=[host],
        not_before=start,
        not_after=start + timedelta(days=days),
        usages=usages,
    )


def lab_sites(chains: demo.Chains) -> list[Site]:
    """The three servers, as nginx.conf server blocks."""
    iis = _leaf(chains, "iis.hardening.lab", 500)
    iis = pki.Issued(pki.signed_with_sha1(iis.cert, chains.uca.key), iis.key)
    good = _leaf(chains, "hardened.hardening.lab", 90)
    client = _leaf(chains, "mistakes.hardening.lab", 90, usages=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    return [
        Site("iis.hardening.lab", IIS, PORT, [iis, chains.uca], iis.key, None, LEGACY, HTTP_PORT),
        Site(
            "hardened.hardening.lab",
            HARDENED,
            PORT,
            [good, chains.uca],
            good.key,
            None,
            MODERN,
            HTTP_PORT,
            f"    return 301 https://$host:{PORT}$request_uri;\n",
        ),
        Site(
            "mistakes.hardening.lab",
            MISTAKES,
            PORT,
            [client, chains.uca],
            client.key,
            None,
            TLS12_ONLY,
            HTTP_PORT,
            "    return 302 https://elsewhere.example/;\n",
        ),
    ]


@pytest.fixture(scope="module")
def lab(chains: demo.Chains, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("hardening")
    with running_nginx(lab_sites(chains), folder / "nginx"):
        yield folder


@pytest.fixture(scope="module")
def audit(lab: Path, chains: demo.Chains) -> Audit:
    pki.write(lab / "audit" / "certs" / "root.cer", chains.root.pem)
    targets = f"""
policy: {{trust: [certs/root.cer], hardening: true}}
targets:
  - {{name: iis, host: iis.hardening.lab, port: {PORT}, http_port: {HTTP_PORT},
      addresses: [{IIS}]}}
  - {{name: hardened, host: hardened.hardening.lab, port: {PORT}, http_port: {HTTP_PORT},
      addresses: [{HARDENED}]}}
  - {{name: mistakes, host: mistakes.hardening.lab, port: {PORT}, http_port: {HTTP_PORT},
      addresses: [{MISTAKES}]}}
  - {{name: plain, host: hardened.hardening.lab, port: {PORT}, addresses: [{HARDENED}],
      policy: {{hardening: false}}}}
"""
    return run(project(lab / "audit", targets))


def _outcome(audit: Audit, control: str, target: str, address: str) -> dict[str, Any]:
    return audit.row(control, target, f"{address}:{PORT}")


def test_the_hardened_server_passes_every_hardening_control(audit: Audit):
    for control in HARDENING_IDS:
        row = _outcome(audit, control, "hardened", HARDENED)
        assert row["outcome"] == "passed", (control, row["message"])


def test_a_target_without_hardening_gets_no_hardening_item(audit: Audit):
    assert not [r for r in audit.rows(target="plain") if r["control"] in HARDENING_IDS]
    assert audit.rows("https-binding", "plain")


# control -> (target, outcome, words the message must hold, its source)
EXPECTED = {
    "tls-no-legacy": ("iis", "failed", ("TLS 1.0, TLS 1.1", "-tls1"), "SSL Labs 2020"),
    "tls13-offered": ("iis", "warning", ("no TLS 1.3", "-tls1_3"), "SSL Labs rating guide"),
    "cipher-no-weak": ("iis", "failed", ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA",), "SWEET32"),
    "cipher-no-cbc-sha1": ("iis", "failed", ("TLS_RSA_WITH_AES_128_CBC_SHA",), "Mozilla"),
    "cipher-forward-secrecy": ("iis", "failed", ("TLS 1.0: TLS_RSA_WITH",), "SSL Labs 2018"),
    "cipher-aead-only": ("iis", "warning", ("TLS_RSA_WITH_AES_128_CBC_SHA256",), "NCSC-NL"),
    "cert-sig-sha2": ("iis", "failed", ("(sha1)",), "testssl.sh"),
    "cert-lifetime": ("iis", "warning", ("valid 500 days", "allows 200 days"), "CA/B Forum"),
    "cert-eku-serverauth": ("mistakes", "failed", ("1.3.6.1.5.5.7.3.2",), "RFC 5280"),
    "hsts": ("iis", "failed", ("no Strict-Transport-Security", "curl -sI"), "RFC 6797"),
    "http-redirects-to-https": ("iis", "failed", ("answers 200", "curl -sI"), "Internet.nl"),
}


@pytest.mark.parametrize("control", sorted(EXPECTED))
def test_each_mistake_is_found_and_cites_its_source(audit: Audit, control: str):
    target, outcome, words, source = EXPECTED[control]
    address = {"iis": IIS, "mistakes": MISTAKES}[target]
    row = _outcome(audit, control, target, address)
    assert row["outcome"] == outcome, row["message"]
    for word in (*words, source, "hardening profile"):
        assert word in row["message"], (word, row["message"])
    assert row["manual"] == ["hardening"]  # the report's § column


def test_short_hsts_and_a_redirect_elsewhere_fail(audit: Audit):
    hsts = _outcome(audit, "hsts", "mistakes", MISTAKES)
    assert hsts["outcome"] == "failed"
    assert "max-age=86400" in hsts["message"]
    moved = _outcome(audit, "http-redirects-to-https", "mistakes", MISTAKES)
    assert moved["outcome"] == "failed"
    assert "to another host" in moved["message"]
    assert _outcome(audit, "tls13-offered", "mistakes", MISTAKES)["outcome"] == "warning"


def test_ssl_is_refused_everywhere(audit: Audit):
    for target, address in (("iis", IIS), ("hardened", HARDENED), ("mistakes", MISTAKES)):
        assert _outcome(audit, "tls-no-ssl", target, address)["outcome"] == "passed"


@pytest.mark.parametrize("control", PROBES)
def test_no_openssl_flaw_and_fallback_refused_with_tls_1_0(audit: Audit, control: str):
    """The iis server accepts TLS 1.0 and RSA key exchange: fallback-scsv and vuln-robot are
    judged there, not only passed as n/a."""
    for target, address in (("iis", IIS), ("hardened", HARDENED), ("mistakes", MISTAKES)):
        row = _outcome(audit, control, target, address)
        assert row["outcome"] == "passed", (target, row["message"])


# --- cross-check: sslyze's own scan of the same servers, with the same scan commands --------

SERVERS = (
    ("iis", "iis.hardening.lab", IIS),
    ("hardened", "hardened.hardening.lab", HARDENED),
    ("mistakes", "mistakes.hardening.lab", MISTAKES),
)


@pytest.fixture(scope="module")
def sslyze_own(lab: Path) -> dict[str, ServerScanResult]:
    """sslyze's public API, as its documentation shows it, over the three servers."""
    commands = {ScanCommand.CERTIFICATE_INFO, ScanCommand.HTTP_HEADERS}
    commands |= {c for _, c in VERSION_COMMANDS} | PROBE_COMMANDS
    requests = [
        ServerScanRequest(
            server_location=ServerNetworkLocation(hostname=host, port=PORT, ip_address=address),
            scan_commands=commands,
        )
        for _, host, address in SERVERS
    ]
    scanner = Scanner()
    scanner.queue_scans(requests)
    names = {address: name for name, _, address in SERVERS}
    return {names[str(r.server_location.ip_address)]: r for r in scanner.get_results()}


def _accepted(result: ServerScanResult, command: ScanCommand) -> list[str]:
    attempt = getattr(result.scan_result, command.value)
    assert attempt.result is not None, attempt.error_reason
    return [a.cipher_suite.name for a in attempt.result.accepted_cipher_suites]


def _sslyze_verdicts(result: ServerScanResult) -> dict[str, bool]:
    """What sslyze's results say about each control both judge: True = holds."""
    by = {label: _accepted(result, command) for label, command in VERSION_COMMANDS}
    pre13 = [s for v in ("SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2") for s in by[v]]
    headers = result.scan_result.http_headers.result  # type: ignore[union-attr]
    hsts = headers.strict_transport_security_header if headers else None
    scans = result.scan_result
    assert scans is not None
    legacy = bool(by["TLS 1.0"] or by["TLS 1.1"])
    return {
        "tls-no-ssl": not by["SSL 2.0"] and not by["SSL 3.0"],
        "tls-no-legacy": not by["TLS 1.0"] and not by["TLS 1.1"],
        "tls13-offered": bool(by["TLS 1.3"]),
        "cipher-no-cbc-sha1": not [s for s in by["TLS 1.2"] if s.endswith("_CBC_SHA")],
        "cipher-forward-secrecy": not [s for s in pre13 if s.startswith("TLS_RSA_")],
        "cipher-aead-only": not [s for s in by["TLS 1.2"] if "_CBC_" in s],
        "hsts": hsts is not None and (hsts.max_age or 0) >= 31_536_000,
        "tls-compression-off": not _result(scans.tls_compression).supports_compression,
        "vuln-heartbleed-ccs": not _result(scans.heartbleed).is_vulnerable_to_heartbleed
        and not _result(scans.openssl_ccs_injection).is_vulnerable_to_ccs_injection,
        "vuln-robot": _result(scans.robot).robot_result
        is not RobotScanResultEnum.VULNERABLE_STRONG_ORACLE,
        "renegotiation-secure": _result(scans.session_renegotiation).supports_secure_renegotiation,
        "fallback-scsv": not legacy or _result(scans.tls_fallback_scsv).supports_fallback_scsv,
    }


def _result(attempt: Any) -> Any:
    assert attempt.result is not None, attempt.error_reason
    return attempt.result


@pytest.mark.parametrize("name", [name for name, _, _ in SERVERS])
def test_certgate_agrees_with_sslyzes_own_scan(
    audit: Audit, sslyze_own: dict[str, ServerScanResult], name: str
):
    address = {n: a for n, _, a in SERVERS}[name]
    for control, holds in _sslyze_verdicts(sslyze_own[name]).items():
        outcome = _outcome(audit, control, name, address)["outcome"]
        assert (outcome == "passed") is holds, (control, outcome, holds)
