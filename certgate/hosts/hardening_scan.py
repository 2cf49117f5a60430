"""The hardening profile's scan: its sslyze commands, and their results as :class:`HardeningFacts`.

Only endpoints of targets with ``policy.hardening: true`` are audited with it (SPEC §2.2).
The protocol versions and cipher suites come first, from :mod:`certgate.hosts.suites` (a few
handshakes per version instead of sslyze's one per suite); :func:`sslyze_commands` then says
what :mod:`certgate.hosts.sslyze_scan` queues in the same sslyze request as the certificate scan:

- the single-answer commands (HTTP headers, compression, Heartbleed, CCS, renegotiation) and
  the key-exchange groups (ELLIPTIC_CURVES);
- ROBOT only when a ``TLS_RSA_*`` suite was accepted (else the verdict is sslyze's own
  NOT_VULNERABLE_RSA_NOT_SUPPORTED, derived: ROBOT needs RSA key exchange);
- TLS_FALLBACK_SCSV only when SSL 3.0-TLS 1.1 was accepted (the control is n/a otherwise);
- sslyze's per-suite command of any version the fast way could not settle.

Anything the enumeration could not vouch for is asked of sslyze, never assumed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, TypeVar

from cryptography import x509
from cryptography.x509.ocsp import OCSPResponse, OCSPResponseStatus
from sslyze import (
    CertificateDeploymentAnalysisResult,
    CertificateInfoScanResult,
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
    SupportedEllipticCurvesScanResult,
    TlsVersionEnum,
)

from certgate.files.certificates import certificate_facts
from certgate.hosts import trust as trust_rules
from certgate.hosts.facts import (
    VERSION_LABELS,
    AcceptedSuite,
    AttemptStatus,
    CommandAttempt,
    Endpoint,
    EndpointFacts,
    GroupScan,
    HardeningFacts,
    HttpAnswer,
    NonSniFacts,
    Observed,
    OcspFacts,
    OcspStaple,
    Renegotiation,
    RobotResult,
    VersionScan,
)
from certgate.hosts.sslyze_facts import attempt_fact, main_deployment
from certgate.hosts.stores import Trust
from certgate.hosts.suites import VERSIONS, Enumeration, enumerate_all, kex, key_exchange

__all__ = [
    "GROUPS_COMMAND",
    "HARDENING_COMMANDS",
    "PROBE_COMMANDS",
    "VERSION_COMMANDS",
    "enumerate_versions",
    "sslyze_commands",
    "sslyze_version_scan",
    "with_hardening",
]

# The hardening profile's scan commands (HARDENING.md §A, §1.3): one per protocol version,
# in order, then the HTTPS response headers (HSTS).
VERSION_COMMANDS: tuple[tuple[str, ScanCommand], ...] = tuple(
    (label, command) for label, _, command in VERSIONS
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
# The key-exchange groups (HARDENING.md §A #8): sslyze probes them at the highest version only.
GROUPS_COMMAND = ScanCommand.ELLIPTIC_CURVES
HARDENING_COMMANDS = frozenset(
    {*(c for _, c in VERSION_COMMANDS), ScanCommand.HTTP_HEADERS, *PROBE_COMMANDS, GROUPS_COMMAND}
)
# Asked of sslyze whatever the enumeration found.
ALWAYS = frozenset({ScanCommand.HTTP_HEADERS, *PROBE_COMMANDS}) - {
    ScanCommand.ROBOT,
    ScanCommand.TLS_FALLBACK_SCSV,
}
BELOW_TLS13 = VERSION_LABELS[:-1]  # SSL 2.0 to TLS 1.2: where a TLS_RSA_ suite can be
UP_TO_TLS11 = VERSION_LABELS[1:4]  # SSL 3.0 to TLS 1.1: where TLS_FALLBACK_SCSV matters
# sslyze's verdict when the server has no RSA key exchange (RobotScanResultEnum).
_NO_RSA = Observed(
    CommandAttempt("robot", AttemptStatus.COMPLETED), RobotResult.NOT_VULNERABLE_RSA_NOT_SUPPORTED
)


def enumerate_versions(
    endpoints: Iterable[Endpoint], timeout: float
) -> dict[Endpoint, Enumeration]:
    """The protocol versions and suites of every endpoint, all at once (hosts/suites.py)."""
    return enumerate_all(endpoints, timeout)


def sslyze_commands(found: Enumeration) -> frozenset[ScanCommand]:
    """What sslyze must still be asked at an endpoint whose enumeration is ``found``."""
    unsettled = {u.command for u in found.unsettled}
    robot = {ScanCommand.ROBOT} if _may_accept(found, BELOW_TLS13, "TLS_RSA_") else set()
    legacy = _may_accept(found, UP_TO_TLS11, "")
    fallback = {ScanCommand.TLS_FALLBACK_SCSV} if legacy else set()
    groups = {GROUPS_COMMAND} if found.groups is None else set()
    return frozenset(ALWAYS | unsettled | robot | fallback | groups)


def _may_accept(found: Enumeration, versions: tuple[str, ...], prefix: str) -> bool:
    """A suite named ``prefix...`` was accepted at one of ``versions``, or may have been
    (one of them is unsettled)."""
    if any(u.version in versions for u in found.unsettled):
        return True
    scans = (v for v in found.settled if v.version in versions)
    return any(s.name.startswith(prefix) for v in scans for s in v.accepted)


def with_hardening(
    facts: EndpointFacts,
    result: ServerScanResult | None,
    answer: Future[HttpAnswer] | None,
    trust: Trust,
    found: Enumeration | None = None,
) -> EndpointFacts:
    """``facts`` with the hardening profile's facts, for an endpoint scanned with it;
    ``trust`` is the endpoint's trust policy (the handshake without SNI is judged by it);
    ``found`` its enumeration (None: every version was asked of sslyze)."""
    if answer is None or not facts.reachable or result is None or result.scan_result is None:
        return facts
    scans = result.scan_result
    highest = result.connectivity_result.highest_tls_version_supported  # type: ignore[union-attr]
    settled = {v.version: v for v in (found.settled if found else ())}
    versions = tuple(
        settled.get(label) or sslyze_version_scan(label, command, scans)
        for label, command in VERSION_COMMANDS
    )
    robot = _observed(scans, ScanCommand.ROBOT, _robot)
    if found is not None and ScanCommand.ROBOT not in sslyze_commands(found):
        robot = _NO_RSA
    groups = _observed(scans, GROUPS_COMMAND, lambda r: _groups(r, _label(highest)))
    if found is not None and found.groups is not None:
        groups = Observed(
            CommandAttempt(GROUPS_COMMAND.value, AttemptStatus.COMPLETED), found.groups
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
        robot=robot,
        renegotiation=_observed(scans, ScanCommand.SESSION_RENEGOTIATION, _renegotiation),
        fallback_scsv=_observed(scans, ScanCommand.TLS_FALLBACK_SCSV, _fallback_scsv),
        groups=groups,
        ocsp=_observed(scans, ScanCommand.CERTIFICATE_INFO, _ocsp),
        non_sni=_observed(scans, ScanCommand.CERTIFICATE_INFO, lambda r: _non_sni(r, facts, trust)),
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


def _label(version: TlsVersionEnum) -> str:
    """``TLS 1.3`` for ``TlsVersionEnum.TLS_1_3``: the labels of :data:`VERSION_COMMANDS`."""
    protocol, major, minor = version.name.split("_")
    return f"{protocol} {major}.{minor}"


def _groups(result: SupportedEllipticCurvesScanResult, version: str) -> tuple[GroupScan, ...]:
    """The groups ELLIPTIC_CURVES saw accepted, at the one version it probes."""
    if not result.supports_ecdh_key_exchange:
        return ()
    return (GroupScan(version, tuple(c.name for c in result.supported_curves or ())),)


def _ocsp(result: CertificateInfoScanResult) -> OcspFacts:
    """The SNI leaf's OCSP responders, must-staple, and what the server stapled."""
    deployment = main_deployment(result.certificate_deployments)
    return OcspFacts(
        responders=_ocsp_responders(deployment.received_certificate_chain[0]),
        must_staple=deployment.leaf_certificate_has_must_staple_extension,
        staple=_staple(deployment),
    )


_OCSP = x509.oid.AuthorityInformationAccessOID.OCSP


def _ocsp_responders(leaf: x509.Certificate) -> tuple[str, ...]:
    """The OCSP URLs of the leaf's Authority Information Access extension."""
    try:
        access = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    return tuple(
        str(d.access_location.value)
        for d in access
        if d.access_method == _OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    )


def _staple(deployment: CertificateDeploymentAnalysisResult) -> OcspStaple | None:
    response: OCSPResponse | None = deployment.ocsp_response
    if response is None:
        return None
    status = response.response_status.name.lower()
    if response.response_status is not OCSPResponseStatus.SUCCESSFUL:
        return OcspStaple(status, trusted=deployment.ocsp_response_is_trusted)
    return OcspStaple(
        status,
        cert_status=response.certificate_status.name.lower(),
        produced_at=response.produced_at_utc,
        this_update=response.this_update_utc,
        next_update=response.next_update_utc,
        trusted=deployment.ocsp_response_is_trusted,
    )


def _non_sni(result: CertificateInfoScanResult, facts: EndpointFacts, trust: Trust) -> NonSniFacts:
    """What the handshake without SNI got, judged for the host name and the policy's trust."""
    deployment = result.certificate_deployment_with_sni_disabled
    if deployment is None:
        return NonSniFacts()
    leaf = deployment.received_certificate_chain[0]
    counted = [r for r in deployment.path_validation_results if trust.counts(r.trust_store)]
    validates = any(r.was_validation_successful for r in counted)
    errors = [r.validation_error for r in counted if r.validation_error]
    seen = certificate_facts(leaf, f"{facts.endpoint.where} sent without SNI #1")
    return NonSniFacts(
        leaf=seen,
        names=tuple(trust_rules.names_of(leaf)),
        matches_host=trust_rules.name_matches(leaf, facts.endpoint.host),
        validates=validates,
        validation_error=None if validates else _first(errors, trust),
        same_as_sni=facts.leaf is not None and facts.leaf.sha256 == seen.sha256,
    )


def _first(errors: list[str], trust: Trust) -> str:
    """The first validation error, without the certificate repr cryptography appends."""
    if not errors:
        return f"no trust store of the policy ({trust.describe()}) was used"
    return errors[0].split(" (encountered processing")[0]


def sslyze_version_scan(label: str, command: ScanCommand, scans: object) -> VersionScan:
    """One version's facts from sslyze's per-suite command ``command`` in ``scans``."""
    attempt: ScanCommandAttempt = getattr(scans, command.value)  # type: ignore[type-arg]
    done = attempt_fact(command.value, attempt)
    scanned: CipherSuitesScanResult | None = attempt.result
    if not done.ok or scanned is None:
        return VersionScan(label, done)
    accepted = tuple(
        AcceptedSuite(
            a.cipher_suite.name,
            label,
            a.cipher_suite.key_size,
            a.cipher_suite.is_anonymous,
            key_exchange(a.ephemeral_key),
            *kex(a.ephemeral_key),
        )
        for a in scanned.accepted_cipher_suites
    )
    return VersionScan(label, done, accepted)


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
