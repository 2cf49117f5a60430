"""The hardening profile's sslyze scan commands, and their results as :class:`HardeningFacts`.

Only endpoints of targets with ``policy.hardening: true`` are asked these commands
(SPEC §2.2); :mod:`certgate.hosts.scan` queues them in the same request as the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, TypeVar

from cryptography import x509
from nassl.ephemeral_key_info import (
    DhEphemeralKeyInfo,
    EcDhEphemeralKeyInfo,
    EphemeralKeyInfo,
)
from sslyze import (
    CipherSuitesScanResult,
    CompressionScanResult,
    FallbackScsvScanResult,
    HeartbleedScanResult,
    OpenSslCcsInjectionScanResult,
    RobotScanResult,
    ScanCommand,
    ScanCommandAttempt,
    ServerScanResult,
    SessionRenegotiationScanResult,
)

from certgate.hosts.facts import (
    AcceptedSuite,
    EndpointFacts,
    HardeningFacts,
    HttpAnswer,
    Observed,
    Renegotiation,
    RobotResult,
    VersionScan,
)
from certgate.hosts.sslyze_facts import attempt_fact, main_deployment

__all__ = ["HARDENING_COMMANDS", "PROBE_COMMANDS", "VERSION_COMMANDS", "with_hardening"]

# The hardening profile's scan commands (HARDENING.md §A, §1.3): one per protocol version,
# in order, then the HTTPS response headers (HSTS).
VERSION_COMMANDS: tuple[tuple[str, ScanCommand], ...] = (
    ("SSL 2.0", ScanCommand.SSL_2_0_CIPHER_SUITES),
    ("SSL 3.0", ScanCommand.SSL_3_0_CIPHER_SUITES),
    ("TLS 1.0", ScanCommand.TLS_1_0_CIPHER_SUITES),
    ("TLS 1.1", ScanCommand.TLS_1_1_CIPHER_SUITES),
    ("TLS 1.2", ScanCommand.TLS_1_2_CIPHER_SUITES),
    ("TLS 1.3", ScanCommand.TLS_1_3_CIPHER_SUITES),
)
# Single-answer commands (HARDENING.md §A #16-20): compression, OpenSSL bugs, ROBOT,
# renegotiation, downgrade signalling.
PROBE_COMMANDS = frozenset(
    {
        ScanCommand.TLS_COMPRESSION,
        ScanCommand.HEARTBLEED,
        ScanCommand.OPENSSL_CCS_INJECTION,
        ScanCommand.ROBOT,
        ScanCommand.SESSION_RENEGOTIATION,
        ScanCommand.TLS_FALLBACK_SCSV,
    }
)
HARDENING_COMMANDS = frozenset(
    {*(c for _, c in VERSION_COMMANDS), ScanCommand.HTTP_HEADERS, *PROBE_COMMANDS}
)


def with_hardening(
    facts: EndpointFacts,
    result: ServerScanResult | None,
    answer: Future[HttpAnswer] | None,
) -> EndpointFacts:
    """``facts`` with the hardening profile's facts, for an endpoint scanned with it."""
    if answer is None or not facts.reachable or result is None or result.scan_result is None:
        return facts
    scans = result.scan_result
    versions = tuple(
        _version_scan(label, command.value, getattr(scans, command.value))
        for label, command in VERSION_COMMANDS
    )
    headers = attempt_fact("http_headers", scans.http_headers)
    answered = scans.http_headers.result if headers.ok else None
    hsts = answered.strict_transport_security_header if answered is not None else None
    leaf = _leaf_of(scans)
    hardening = HardeningFacts(
        versions=versions,
        headers=headers,
        http=answer.result(),
        hsts=_hsts_text(hsts),
        hsts_max_age=hsts.max_age if hsts is not None else None,
        leaf_eku=_eku(leaf) if leaf is not None else None,
        leaf_key_usage=_key_usage(leaf) if leaf is not None else None,
        compression=_observed(scans, ScanCommand.TLS_COMPRESSION, _compresses),
        heartbleed=_observed(scans, ScanCommand.HEARTBLEED, _heartbleed),
        ccs_injection=_observed(scans, ScanCommand.OPENSSL_CCS_INJECTION, _ccs_injection),
        robot=_observed(scans, ScanCommand.ROBOT, _robot),
        renegotiation=_observed(scans, ScanCommand.SESSION_RENEGOTIATION, _renegotiation),
        fallback_scsv=_observed(scans, ScanCommand.TLS_FALLBACK_SCSV, _fallback_scsv),
    )
    return replace(facts, hardening=hardening)


_T = TypeVar("_T")


def _observed(scans: object, command: ScanCommand, read: Callable[[Any], _T]) -> Observed[_T]:
    """A single-answer scan command's attempt, and ``read`` of its result when it completed."""
    attempt = getattr(scans, command.value)
    done = attempt_fact(command.value, attempt)
    if not done.ok or attempt.result is None:
        return Observed(done)
    return Observed(done, read(attempt.result))


def _compresses(result: CompressionScanResult) -> bool:
    return result.supports_compression


def _heartbleed(result: HeartbleedScanResult) -> bool:
    return result.is_vulnerable_to_heartbleed


def _ccs_injection(result: OpenSslCcsInjectionScanResult) -> bool:
    return result.is_vulnerable_to_ccs_injection


def _robot(result: RobotScanResult) -> RobotResult:
    return RobotResult[result.robot_result.name]


def _fallback_scsv(result: FallbackScsvScanResult) -> bool:
    return result.supports_fallback_scsv


def _renegotiation(result: SessionRenegotiationScanResult) -> Renegotiation:
    return Renegotiation(
        result.supports_secure_renegotiation, result.is_vulnerable_to_client_renegotiation_dos
    )


def _version_scan(label: str, command: str, attempt: ScanCommandAttempt) -> VersionScan:  # type: ignore[type-arg]
    done = attempt_fact(command, attempt)
    scanned: CipherSuitesScanResult | None = attempt.result
    if not done.ok or scanned is None:
        return VersionScan(label, done)
    accepted = tuple(
        AcceptedSuite(
            a.cipher_suite.name,
            label,
            a.cipher_suite.key_size,
            a.cipher_suite.is_anonymous,
            _key_exchange(a.ephemeral_key),
        )
        for a in scanned.accepted_cipher_suites
    )
    return VersionScan(label, done, accepted)


def _key_exchange(key: EphemeralKeyInfo | None) -> str | None:
    """ "ECDH X25519 (253 bits)", "DH 2048 bits", or None (static RSA: no ephemeral key)."""
    if isinstance(key, EcDhEphemeralKeyInfo):
        return f"ECDH {key.curve_name} ({key.size} bits)"
    if isinstance(key, DhEphemeralKeyInfo):
        return f"DH {key.size} bits"
    return None if key is None else f"ephemeral {key.size} bits"


def _hsts_text(header: object) -> str | None:
    """The Strict-Transport-Security header as sslyze parsed it, written back out."""
    if header is None:
        return None
    parts = [f"max-age={getattr(header, 'max_age', None)}"]
    parts += ["includeSubDomains"] if getattr(header, "include_subdomains", False) else []
    parts += ["preload"] if getattr(header, "preload", False) else []
    return "; ".join(parts)


def _leaf_of(scans: object) -> x509.Certificate | None:
    attempt = getattr(scans, "certificate_info", None)
    result = getattr(attempt, "result", None)
    if result is None or not result.certificate_deployments:
        return None
    return main_deployment(result.certificate_deployments).received_certificate_chain[0]


def _eku(leaf: x509.Certificate) -> tuple[str, ...] | None:
    try:
        usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    return tuple(oid.dotted_string for oid in usage)


_KEY_USAGE_BITS = ("digital_signature", "key_encipherment", "key_agreement", "key_cert_sign")


def _key_usage(leaf: x509.Certificate) -> tuple[str, ...] | None:
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    return tuple(bit for bit in _KEY_USAGE_BITS if getattr(usage, bit))
