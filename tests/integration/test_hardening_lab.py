"""The hardening profile end to end against real nginx servers with known configurations.

- ``iis``: configured the way a default IIS is (TLS 1.0/1.1 on, RSA key exchange, CBC-SHA
  suites, no HSTS, plain HTTP answering 200), plus an anonymous suite as the weak one (Debian's
  OpenSSL 3.0 has no 3DES, NULL or RC4 left to offer: 3DES is judged on recorded facts in
  tests/unit/test_hardening_rules.py), a SHA-1-signed leaf valid 500 days.
- ``hardened``: TLS 1.2/1.3, ECDHE + AEAD only, HSTS one year, HTTP redirected to https on the
  same host, a 90-day leaf.
- ``mistakes``: hardened ciphers on TLS 1.2 only, a clientAuth-only leaf, HSTS one day, HTTP
  redirected to another host.
- ``weakdh``: a 1024-bit DH group with a DHE suite (``@SECLEVEL=0``: Debian's OpenSSL refuses
  it otherwise); ``curves``: TLS 1.2 only, ``ssl_ecdh_curve secp521r1:secp224r1`` (TLS 1.2
  only, because sslyze probes curves at the highest version, HARDENING.md §A.3).
- OCSP: ``hardened`` staples a real ``openssl ocsp`` response from the lab CA; ``iis``'s leaf
  names a responder and nothing is stapled (a default IIS SNI binding); ``muststaple``'s leaf
  has the TLS Feature status_request and nothing is stapled; ``mistakes``' leaf names no
  responder (not applicable).
- ``nosni``: a client without SNI gets ``stale.hardening.lab``'s certificate (the first
  server block on the address is nginx's default), SNI clients the right one.

A target without ``hardening`` on the same server gets no hardening item (the profile is
opt-in). The cross-check runs sslyze's own scan of the same servers with the same commands.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.x509 import AuthorityInformationAccess, ExtensionNotFound, ObjectIdentifier
from cryptography.x509.ocsp import OCSPCertStatus, OCSPResponseStatus
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID
from nassl.ephemeral_key_info import DhEphemeralKeyInfo, EcDhEphemeralKeyInfo
from sslyze import (
    CertificateInfoExtraArgument,
    RobotScanResultEnum,
    ScanCommand,
    ScanCommandsExtraArguments,
    Scanner,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanResult,
)

from certgate.controls import CATALOGUE
from certgate.hosts.hardening_scan import GROUPS_COMMAND, PROBE_COMMANDS, VERSION_COMMANDS
from certgate.hosts.stores import quiet_store_warnings
from certgate.lab import demo, pki
from tests.support.audit import Audit, project, run
from tests.support.nginx import Site, running_nginx
from tests.support.openssl_made import openssl

PORT, HTTP_PORT = 8443, 8080
IIS, HARDENED, MISTAKES = "127.0.50.1", "127.0.50.2", "127.0.50.3"
WEAKDH, CURVES, MUSTSTAPLE, NOSNI = "127.0.50.4", "127.0.50.5", "127.0.50.6", "127.0.50.7"
RESPONDER = "http://127.0.0.1:9/ocsp"  # named in the leaves; never asked (stapled from a file)
HARDENING_IDS = tuple(c.id for c in CATALOGUE.values() if c.hardening)
# HARDENING.md §A #16-20: no server here can fail them (Debian's OpenSSL has none of these
# flaws); their failing sides are judged on recorded facts in tests/unit/test_hardening_rules.py.
PROBES = (
    "vuln-heartbleed-ccs",
    "vuln-robot",
    "renegotiation-secure",
    "tls-compression-off",
    "fallback-scsv",
)
# Schannel's default curves (HARDENING.md §2.3); nginx's default list also has X448.
GROUPS = "    ssl_ecdh_curve X25519:prime256v1:secp384r1;\n"
LEGACY = (
    "    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n"
    '    ssl_ciphers "AES128-SHA:AES256-SHA:AES128-SHA256:AES128-GCM-SHA256:'
    'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:AECDH-AES128-SHA:@SECLEVEL=0";\n'
    f"{GROUPS}"
)
MODERN = (
    "    ssl_protocols TLSv1.2 TLSv1.3;\n"
    "    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384;\n"
    '    add_header Strict-Transport-Security "max-age=31536000" always;\n'
    f"{GROUPS}"
)
TLS12_ONLY = (
    "    ssl_protocols TLSv1.2;\n"
    "    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;\n"
    '    add_header Strict-Transport-Security "max-age=86400" always;\n'
    f"{GROUPS}"
)


def _leaf(
    chains: demo.Chains,
    host: str,
    days: int,
    usages: tuple[ObjectIdentifier, ...] = (ExtendedKeyUsageOID.SERVER_AUTH,),
    ocsp_url: str | None = None,
    must_staple: bool = False,
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
        ocsp_url=ocsp_url,
        must_staple=must_staple,
    )


def ocsp_response(leaf: pki.Issued, ca: pki.Issued, folder: Path) -> Path:
    """A real OCSP response saying ``leaf`` is good, made by ``openssl ocsp`` as the CA's
    responder (signed by ``ca``, valid 7 days), as DER for nginx's ``ssl_stapling_file``."""
    pki.write(folder / "ca.pem", ca.pem)
    pki.write(folder / "ca.key", pki.key_pem(ca.key))
    pki.write(folder / "leaf.pem", leaf.pem)
    serial = f"{leaf.cert.serial_number:X}"
    expiry = leaf.cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
    serial = serial.zfill(len(serial) + len(serial) % 2)  # whole bytes, as openssl writes it
    # openssl's CA database: Valid, expiry, (no revocation), serial, file, subject
    index = f"V\t{expiry}\t\t{serial}\tunknown\t/CN=lab\n"
    pki.write(folder / "index.txt", index)
    openssl(
        folder, "ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "req.der"
    )
    openssl(
        folder, "ocsp", "-index", "index.txt", "-rsigner", "ca.pem", "-rkey", "ca.key",
        "-CA", "ca.pem", "-reqin", "req.der", "-respout", "resp.der", "-ndays", "7",
    )  # fmt: skip
    return folder / "resp.der"


def dh_params(folder: Path, bits: int) -> Path:
    """A DH group of ``bits`` bits, made by ``openssl dhparam`` (for nginx's ssl_dhparam)."""
    folder.mkdir(parents=True, exist_ok=True)
    openssl(folder, "dhparam", "-out", f"dh{bits}.pem", str(bits))
    return folder / f"dh{bits}.pem"


def lab_sites(chains: demo.Chains, folder: Path) -> list[Site]:
    """The servers, as nginx.conf server blocks (their OCSP and DH files made in ``folder``)."""
    iis = _leaf(chains, "iis.hardening.lab", 500, ocsp_url=RESPONDER)
    iis = pki.Issued(pki.signed_with_sha1(iis.cert, chains.uca.key), iis.key)
    good = _leaf(chains, "hardened.hardening.lab", 90, ocsp_url=RESPONDER)
    staple = ocsp_response(good, chains.uca, folder / "ocsp")
    client = _leaf(chains, "mistakes.hardening.lab", 90, usages=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    dh = dh_params(folder / "dh", 1024)
    weakdh = _leaf(chains, "weakdh.hardening.lab", 90)
    curves = _leaf(chains, "curves.hardening.lab", 90)
    must = _leaf(chains, "muststaple.hardening.lab", 90, ocsp_url=RESPONDER, must_staple=True)
    stale = _leaf(chains, "stale.hardening.lab", 90)
    nosni = _leaf(chains, "nosni.hardening.lab", 90)
    return [
        Site("iis.hardening.lab", IIS, PORT, [iis, chains.uca], iis.key, None, LEGACY, HTTP_PORT),
        Site(
            "hardened.hardening.lab",
            HARDENED,
            PORT,
            [good, chains.uca],
            good.key,
            None,
            f"{MODERN}    ssl_stapling on;\n    ssl_stapling_file {staple};\n",
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
        Site(
            "weakdh.hardening.lab",
            WEAKDH,
            PORT,
            [weakdh, chains.uca],
            weakdh.key,
            None,
            "    ssl_protocols TLSv1.2;\n"
            '    ssl_ciphers "DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0";\n'
            f"    ssl_dhparam {dh};\n{GROUPS}",
        ),
        Site(
            "curves.hardening.lab",
            CURVES,
            PORT,
            [curves, chains.uca],
            curves.key,
            None,
            "    ssl_protocols TLSv1.2;\n    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;\n"
            "    ssl_ecdh_curve secp521r1:secp224r1;\n",
        ),
        Site(
            "muststaple.hardening.lab", MUSTSTAPLE, PORT, [must, chains.uca], must.key, None, GROUPS
        ),
        # first on the address: nginx's default server, what clients without SNI get
        Site("stale.hardening.lab", NOSNI, PORT, [stale, chains.uca], stale.key, None, GROUPS),
        Site("nosni.hardening.lab", NOSNI, PORT, [nosni, chains.uca], nosni.key, None, GROUPS),
    ]


TARGETS = f"""
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
  - {{name: weakdh, host: weakdh.hardening.lab, port: {PORT}, addresses: [{WEAKDH}]}}
  - {{name: curves, host: curves.hardening.lab, port: {PORT}, addresses: [{CURVES}]}}
  - {{name: muststaple, host: muststaple.hardening.lab, port: {PORT},
      addresses: [{MUSTSTAPLE}]}}
  - {{name: nosni, host: nosni.hardening.lab, port: {PORT}, addresses: [{NOSNI}]}}
"""


@pytest.fixture(scope="module")
def lab(chains: demo.Chains, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("hardening")
    with running_nginx(lab_sites(chains, folder / "made"), folder / "nginx"):
        yield folder


@pytest.fixture(scope="module")
def audit(lab: Path, chains: demo.Chains) -> Audit:
    pki.write(lab / "audit" / "certs" / "root.cer", chains.root.pem)
    return run(project(lab / "audit", TARGETS))


def _outcome(audit: Audit, control: str, target: str, address: str) -> dict[str, Any]:
    return audit.row(control, target, f"{address}:{PORT}")


def test_the_hardened_server_passes_every_hardening_control(audit: Audit):
    for control in HARDENING_IDS:
        row = _outcome(audit, control, "hardened", HARDENED)
        assert row["outcome"] == "passed", (control, row["message"])


def test_a_target_without_hardening_gets_no_hardening_item(audit: Audit):
    assert not [r for r in audit.rows(target="plain") if r["control"] in HARDENING_IDS]
    assert audit.rows("https-binding", "plain")


ADDRESSES = {
    "iis": IIS,
    "hardened": HARDENED,
    "mistakes": MISTAKES,
    "weakdh": WEAKDH,
    "curves": CURVES,
    "muststaple": MUSTSTAPLE,
    "nosni": NOSNI,
}
# case -> (control, target, outcome, words the message must hold, its source)
EXPECTED = {
    "tls-no-legacy": (
        "tls-no-legacy",
        "iis",
        "failed",
        ("TLS 1.0, TLS 1.1", "-tls1"),
        "SSL Labs 2020",
    ),
    "tls13-offered": (
        "tls13-offered",
        "iis",
        "warning",
        ("no TLS 1.3", "-tls1_3"),
        "SSL Labs rating guide",
    ),
    "cipher-no-weak": (
        "cipher-no-weak",
        "iis",
        "failed",
        ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA",),
        "SWEET32",
    ),
    "cipher-no-cbc-sha1": (
        "cipher-no-cbc-sha1",
        "iis",
        "failed",
        ("TLS_RSA_WITH_AES_128_CBC_SHA",),
        "Mozilla",
    ),
    "cipher-forward-secrecy": (
        "cipher-forward-secrecy",
        "iis",
        "failed",
        ("TLS 1.0: TLS_RSA_WITH",),
        "SSL Labs 2018",
    ),
    "cipher-aead-only": (
        "cipher-aead-only",
        "iis",
        "warning",
        ("TLS_RSA_WITH_AES_128_CBC_SHA256",),
        "NCSC-NL",
    ),
    "cert-sig-sha2": ("cert-sig-sha2", "iis", "failed", ("(sha1)",), "testssl.sh"),
    "cert-lifetime": (
        "cert-lifetime",
        "iis",
        "warning",
        ("valid 500 days", "allows 200 days"),
        "CA/B Forum",
    ),
    "cert-eku-serverauth": (
        "cert-eku-serverauth",
        "mistakes",
        "failed",
        ("1.3.6.1.5.5.7.3.2",),
        "RFC 5280",
    ),
    "hsts": ("hsts", "iis", "failed", ("no Strict-Transport-Security", "curl -skI"), "RFC 6797"),
    "http-redirects-to-https": (
        "http-redirects-to-https",
        "iis",
        "failed",
        ("answers 200", "curl -sI"),
        "Internet.nl",
    ),
    "kex-groups@weakdh": (
        "kex-groups",
        "weakdh",
        "failed",
        (
            "DH 1024 bits (TLS 1.2: TLS_DHE_RSA_WITH_AES_128_GCM_SHA256)",
            "DHE is offered",
            "--elliptic_curves",
        ),
        "Mozilla Server Side TLS",
    ),
    "kex-groups@curves": (
        "kex-groups",
        "curves",
        "failed",
        ("secp224r1 (TLS 1.2)", "groups probed at TLS 1.2"),
        "Mozilla Server Side TLS",
    ),
    "ocsp-stapled@iis": (
        "ocsp-stapled",
        "iis",
        "warning",
        (f"no OCSP response is stapled (the leaf's responder: {RESPONDER})", "-status"),
        "RFC 7633",
    ),
    "ocsp-stapled@muststaple": (
        "ocsp-stapled",
        "muststaple",
        "failed",  # a warning control, failed by its must-staple finding
        ("the leaf is must-staple", "no OCSP response is stapled", "-status"),
        "RFC 7633",
    ),
    "non-sni-cert-valid": (
        "non-sni-cert-valid",
        "nosni",
        "warning",
        (
            "clients without SNI get C=TW, O=certgate Lab, CN=stale.hardening.lab",
            "it names stale.hardening.lab",
            "-noservername",
        ),
        "testssl.sh",
    ),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_mistake_is_found_and_cites_its_source(audit: Audit, case: str):
    control, target, outcome, words, source = EXPECTED[case]
    row = _outcome(audit, control, target, ADDRESSES[target])
    assert row["outcome"] == outcome, row["message"]
    for word in (*words, source, "hardening profile"):
        assert word in row["message"], (word, row["message"])
    assert row["manual"] == ["hardening"]  # the report's § column


def test_a_good_staple_passes_and_no_responder_is_not_applicable(audit: Audit):
    """hardened staples openssl's response (a real pass); mistakes' leaf names no responder."""
    assert _outcome(audit, "ocsp-stapled", "hardened", HARDENED)["outcome"] == "passed"
    assert _outcome(audit, "ocsp-stapled", "mistakes", MISTAKES)["outcome"] == "passed"


def test_the_lab_servers_pass_the_new_controls_they_are_not_about(audit: Audit):
    for target in ("weakdh", "curves", "muststaple"):
        row = _outcome(audit, "non-sni-cert-valid", target, ADDRESSES[target])
        assert row["outcome"] == "passed", (target, row["message"])
    for target in ("iis", "mistakes", "muststaple", "nosni"):
        row = _outcome(audit, "kex-groups", target, ADDRESSES[target])
        assert row["outcome"] == "passed", (target, row["message"])


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

SERVERS = tuple((name, f"{name}.hardening.lab", address) for name, address in ADDRESSES.items())


@pytest.fixture(scope="module")
def sslyze_own(lab: Path, audit: Audit) -> dict[str, ServerScanResult]:
    """sslyze's public API, as its documentation shows it, over the lab's servers (the
    audit's root.cer as its custom trust store)."""
    quiet_store_warnings()  # sslyze parses its bundled stores in a thread (see there)
    commands = {ScanCommand.CERTIFICATE_INFO, ScanCommand.HTTP_HEADERS, GROUPS_COMMAND}
    commands |= {c for _, c in VERSION_COMMANDS} | PROBE_COMMANDS
    root = CertificateInfoExtraArgument(custom_ca_file=lab / "audit" / "certs" / "root.cer")
    requests = [
        ServerScanRequest(
            server_location=ServerNetworkLocation(hostname=host, port=PORT, ip_address=address),
            scan_commands=commands,
            scan_commands_extra_arguments=ScanCommandsExtraArguments(certificate_info=root),
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
        "kex-groups": _sslyze_kex_ok(result),
        "ocsp-stapled": _sslyze_staple_ok(_result(scans.certificate_info)),
        "non-sni-cert-valid": _sslyze_non_sni_ok(_result(scans.certificate_info)),
    }


def _sslyze_kex_ok(result: ServerScanResult) -> bool:
    """sslyze's supported curves and every accepted suite's ephemeral key: Mozilla's curves
    (P-521 tolerated), DH of 2048 bits or more."""
    scans = result.scan_result
    assert scans is not None
    curves = _result(scans.elliptic_curves).supported_curves or []
    keys = [
        a.ephemeral_key
        for _, command in VERSION_COMMANDS
        for a in _result(getattr(scans, command.value)).accepted_cipher_suites
        if a.ephemeral_key is not None
    ]
    named = {c.name for c in curves} | {
        k.curve_name for k in keys if isinstance(k, EcDhEphemeralKeyInfo)
    }
    small_dh = [k for k in keys if isinstance(k, DhEphemeralKeyInfo) and k.size < 2048]
    return named <= {"X25519", "secp256r1", "secp384r1", "secp521r1"} and not small_dh


def _sslyze_staple_ok(info: Any) -> bool:
    """A good, trusted staple; or a leaf without an OCSP URL that is not must-staple."""
    deployment = info.certificate_deployments[0]
    leaf = deployment.received_certificate_chain[0]
    try:
        access = leaf.extensions.get_extension_for_class(AuthorityInformationAccess).value
        has_url = any(d.access_method == AuthorityInformationAccessOID.OCSP for d in access)
    except ExtensionNotFound:
        has_url = False
    response = deployment.ocsp_response
    if response is None:
        return not has_url and not deployment.leaf_certificate_has_must_staple_extension
    return (
        response.response_status is OCSPResponseStatus.SUCCESSFUL
        and response.certificate_status is OCSPCertStatus.GOOD
        and deployment.ocsp_response_is_trusted is True
    )


def _sslyze_non_sni_ok(info: Any) -> bool:
    """No handshake without SNI, the SNI leaf again, or a leaf that validates for the host
    against the audit's root.cer (sslyze's "Supplied CA file")."""
    other = info.certificate_deployment_with_sni_disabled
    if other is None:
        return True
    sni_leaf = info.certificate_deployments[0].received_certificate_chain[0]
    if other.received_certificate_chain[0] == sni_leaf:
        return True
    return any(
        p.was_validation_successful
        for p in other.path_validation_results
        if p.trust_store.name == "Supplied CA file"
    )


def _result(attempt: Any) -> Any:
    assert attempt.result is not None, attempt.error_reason
    return attempt.result


@pytest.mark.parametrize("name", [name for name, _, _ in SERVERS])
def test_certgate_agrees_with_sslyzes_own_scan(
    audit: Audit, sslyze_own: dict[str, ServerScanResult], name: str
):
    for control, holds in _sslyze_verdicts(sslyze_own[name]).items():
        outcome = _outcome(audit, control, name, ADDRESSES[name])["outcome"]
        verdict = "holds" if holds else "does not hold"
        assert (outcome == "passed") is holds, f"{control}: certgate {outcome}, sslyze {verdict}"


# --- evidence: what each verdict was made on, and its commands run by hand ----------------------


def _evidence(audit: Audit, control: str, target: str) -> list[str]:
    return list(_outcome(audit, control, target, ADDRESSES[target]).get("evidence", ()))


def _commands(audit: Audit, control: str, target: str) -> list[str]:
    prefix = "reproduce: "
    return [x[len(prefix) :] for x in _evidence(audit, control, target) if x.startswith(prefix)]


def test_every_hardening_item_shows_its_evidence_passed_or_failed(audit: Audit):
    for control in HARDENING_IDS:
        for target in ("iis", "hardened"):
            assert _commands(audit, control, target), (control, target)
    assert _evidence(audit, "tls-no-legacy", "iis")[0].startswith("TLS 1.0: accepted: ")
    assert _evidence(audit, "tls-no-legacy", "hardened")[:2] == [
        "TLS 1.0: refused",
        "TLS 1.1: refused",
    ]
    assert "KeyUsage" in " ".join(_evidence(audit, "cert-eku-serverauth", "mistakes"))
    assert "1.3.6.1.5.5.7.3.2" in _evidence(audit, "cert-eku-serverauth", "mistakes")[0]
    assert "signed with sha1WithRSAEncryption" in _evidence(audit, "cert-sig-sha2", "iis")[0]
    report = (audit.reports / "report.html").read_text(encoding="utf-8")
    assert report.count("stricter than SSL Labs") == 1


def test_groups_the_ocsp_staple_and_the_certificate_without_sni_are_shown(audit: Audit):
    assert "secp224r1" in " ".join(_evidence(audit, "kex-groups", "curves"))
    assert "DH 1024 bits" in " ".join(_evidence(audit, "kex-groups", "weakdh"))
    stapled = _evidence(audit, "ocsp-stapled", "hardened")
    assert "stapled: successful, certificate good" in stapled
    assert any(x.startswith("producedAt: 20") for x in stapled)
    assert any(x.startswith("nextUpdate: 20") for x in stapled)
    assert "stapled: nothing" in _evidence(audit, "ocsp-stapled", "muststaple")
    nosni = _evidence(audit, "non-sni-cert-valid", "nosni")
    assert "stale.hardening.lab" in nosni[0]
    assert "same as with SNI: no" in nosni
    done = _run(_commands(audit, "non-sni-cert-valid", "nosni")[0])  # openssl sees the same
    assert "stale.hardening.lab" in done.stdout


def _run(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize(
    "control", ["tls-no-legacy", "cipher-no-weak", "cipher-no-cbc-sha1", "cipher-forward-secrecy"]
)
def test_the_openssl_cli_takes_each_suite_the_evidence_names(audit: Audit, control: str):
    """The independent verdict: OpenSSL's own client completes each handshake the evidence
    of a failed item gives (and the hardened server refuses TLS 1.0/1.1 the same way)."""
    commands = [c for c in _commands(audit, control, "iis") if c.startswith("openssl")]
    assert commands
    for command in commands:
        done = _run(command)
        assert done.returncode == 0, (command, done.stderr[-500:])
        assert "CONNECTION ESTABLISHED" in done.stdout + done.stderr, command
    for command in _commands(audit, "tls-no-legacy", "hardened"):
        assert _run(command).returncode != 0, command


def test_curl_shows_the_hsts_header_and_the_http_answer_the_evidence_names(audit: Audit):
    hsts = {t: _run(_commands(audit, "hsts", t)[0]).stdout for t in ("iis", "hardened")}
    assert "strict-transport-security: max-age=31536000" in hsts["hardened"].lower()
    assert "strict-transport-security" not in hsts["iis"].lower()
    http = {t: _run(_commands(audit, "http-redirects-to-https", t)[0]).stdout for t in hsts}
    assert http["iis"].startswith("HTTP/1.1 200")
    assert http["hardened"].startswith("HTTP/1.1 301")
    assert "location: https://hardened.hardening.lab:8443/" in http["hardened"].lower()


def test_openssl_sees_the_fallback_refused_where_the_evidence_says_so(audit: Audit):
    fallback = [c for c in _commands(audit, "fallback-scsv", "iis") if "-fallback_scsv" in c]
    done = _run(fallback[0])
    assert done.returncode != 0
    assert "inappropriate fallback" in done.stderr
