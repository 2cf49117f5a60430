"""Frozen facts about live hosts: what one TLS endpoint served, and whether it is trusted.

:mod:`certgate.hosts.scan` produces these (:mod:`certgate.hosts.sslyze_scan` where sslyze
is needed); the host checks (https-binding, chain-served, chain-trusted, served-expected,
consistent-addresses) read them. Plain values only: no sockets, no sslyze objects, no
cryptography objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from certgate.files.facts import CertificateFacts

T = TypeVar("T")


@dataclass(frozen=True)
class Endpoint:
    """One address of one host: ``host`` is sent as SNI and validated, ``address`` is dialled."""

    host: str
    address: str
    port: int = 443

    @property
    def label(self) -> str:
        """``host@address:port``, the form test ids use."""
        return f"{self.host}@{self.where}"

    @property
    def where(self) -> str:
        """``address:port`` (IPv6 addresses in brackets), as results.json's subject.

        An IPv6 address is the only kind with a colon (IPv4 addresses and host names have
        none): no address parsing, for a property every item of a fleet reads."""
        if ":" in self.address:
            return f"[{self.address}]:{self.port}"
        return f"{self.address}:{self.port}"

    def openssl_command(self) -> str:
        """The command an administrator runs to see what this endpoint serves (manual 6.1)."""
        return f"openssl s_client -connect {self.where} -servername {self.host} -showcerts"


class EndpointStatus(enum.Enum):
    """How far the connection got. Anything but OK means the endpoint could not be audited."""

    OK = "ok"
    REFUSED = "connection refused"
    TIMED_OUT = "timed out"
    UNREACHABLE = "unreachable"
    RESET = "connection reset"
    NOT_TLS = "not TLS"
    HANDSHAKE_FAILED = "TLS handshake failed"
    SCAN_FAILED = "scan failed"


class AttemptStatus(enum.Enum):
    """How one scan command went, as sslyze's ``ScanCommandAttemptStatusEnum`` says it."""

    COMPLETED = "completed"
    ERROR = "error"
    NOT_SCHEDULED = "not scheduled"


@dataclass(frozen=True)
class CommandAttempt:
    """One sslyze scan command run against an endpoint: ``command`` ("certificate_info"),
    its ``status``, and when it failed, ``error`` (one line, never a traceback). A command
    that failed makes only the controls that read it errors, not the whole endpoint."""

    command: str
    status: AttemptStatus
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The command completed and its result can be read."""
        return self.status is AttemptStatus.COMPLETED


class TrustProblem(enum.Enum):
    """Why a served chain does not validate; the fixes differ, so chain-trusted tells them apart."""

    UNTRUSTED_ROOT = "untrusted root"
    INCOMPLETE_CHAIN = "incomplete chain"
    EXPIRED = "expired"
    NOT_YET_VALID = "not yet valid"
    NAME_MISMATCH = "name mismatch"
    WEAK_KEY = "weak key"
    WEAK_SIGNATURE = "weak signature"
    OTHER = "rejected"


# The hardening profile's protocol versions, oldest first: the one list of their names
# (suites.VERSIONS pairs them with sslyze's; the rules and the evidence take slices of it).
VERSION_LABELS: tuple[str, ...] = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")


@dataclass(frozen=True)
class AcceptedSuite:
    """One cipher suite a server accepted at one protocol version (hardening profile).

    ``name`` is the IANA name (``TLS_RSA_WITH_AES_128_CBC_SHA``), ``version`` the protocol
    ("TLS 1.2"), ``key_size`` the symmetric key bits, ``key_exchange`` the ephemeral key the
    server sent ("ECDH X25519 (253 bits)", "DH 2048 bits"), or None for static-RSA key
    exchange (no forward secrecy). The same key, structured: ``kex_curve`` its ECDHE group
    (OpenSSL's name: "X25519", "secp256r1"; None for finite-field DHE and static RSA) and
    ``kex_bits`` its size in bits (None for static RSA); see :attr:`dhe`.
    """

    name: str
    version: str
    key_size: int
    anonymous: bool = False
    key_exchange: str | None = None
    kex_curve: str | None = None
    kex_bits: int | None = None

    @property
    def dhe(self) -> bool:
        """The key exchange is finite-field Diffie-Hellman (DHE): an ephemeral key, no curve."""
        return self.kex_bits is not None and self.kex_curve is None


@dataclass(frozen=True)
class VersionScan:
    """What one protocol version's enumeration found: ``attempt`` is its scan command;
    ``accepted`` the suites the server took (empty: the version is refused, or the command
    failed -- see ``attempt``)."""

    version: str
    attempt: CommandAttempt
    accepted: tuple[AcceptedSuite, ...] = ()

    @property
    def supported(self) -> bool:
        """The server completed a handshake at this version (meaningful when completed)."""
        return bool(self.accepted)


@dataclass(frozen=True)
class HttpAnswer:
    """certgate's own plain-HTTP ``GET /`` on the target's ``http_port`` (hardening).

    ``status`` and ``location`` as answered (None: no HTTP answer); ``refused`` is True when
    nothing listens there (the port is closed); ``error`` says why there was no answer.
    ``command`` reproduces the request (``curl -sI ...``).
    """

    url: str
    command: str
    status: int | None = None
    location: str | None = None
    refused: bool = False
    error: str | None = None


class RobotResult(enum.Enum):
    """sslyze's ROBOT verdict (``RobotScanResultEnum``), as a plain value."""

    VULNERABLE_STRONG_ORACLE = "strong oracle"
    VULNERABLE_WEAK_ORACLE = "weak oracle"
    NOT_VULNERABLE_NO_ORACLE = "no oracle"
    NOT_VULNERABLE_RSA_NOT_SUPPORTED = "no RSA key exchange"
    UNKNOWN_INCONSISTENT_RESULTS = "inconsistent results"


@dataclass(frozen=True)
class Renegotiation:
    """What SESSION_RENEGOTIATION saw: ``secure`` -- RFC 5746 secure renegotiation is
    supported; ``client_dos`` -- the server let a client renegotiate without limit."""

    secure: bool
    client_dos: bool


@dataclass(frozen=True)
class Observed(Generic[T]):
    """One single-answer scan command of the hardening profile (TLS_COMPRESSION, HEARTBLEED,
    ROBOT, ...): its ``attempt``, and ``value`` what it found (None when the attempt did not
    complete -- see ``attempt``; never read as a pass)."""

    attempt: CommandAttempt
    value: T | None = None


@dataclass(frozen=True)
class GroupScan:
    """The key-exchange groups a server accepted at one protocol version (hardening,
    ``kex-groups``): ``version`` ("TLS 1.3"), ``accepted`` the group names as OpenSSL spells
    them ("X25519", "secp256r1", "secp224r1"; empty: no ECDHE key exchange at that version).
    Filled from sslyze's ELLIPTIC_CURVES today (the highest version only), or from any other
    enumeration that probes groups per version."""

    version: str
    accepted: tuple[str, ...] = ()


@dataclass(frozen=True)
class OcspStaple:
    """The OCSP response a server stapled to its SNI handshake (hardening, ``ocsp-stapled``).

    ``response_status`` as RFC 6960 names it ("successful", "unauthorized", ...);
    ``cert_status`` what it says of the leaf ("good", "revoked", "unknown"; None unless the
    response is successful); ``produced_at``, ``this_update``, ``next_update`` its times (UTC;
    None when absent or not successful); ``trusted``: its signature verifies against the trust
    store that validated the chain (sslyze's ``ocsp_response_is_trusted``; None when not
    checked: the chain did not validate or the response is not successful).
    """

    response_status: str
    cert_status: str | None = None
    produced_at: datetime | None = None
    this_update: datetime | None = None
    next_update: datetime | None = None
    trusted: bool | None = None


@dataclass(frozen=True)
class OcspFacts:
    """OCSP as the SNI handshake's leaf and server show it (CERTIFICATE_INFO):
    ``responders`` the leaf's OCSP URLs (Authority Information Access; empty: none, and
    ``ocsp-stapled`` does not apply), ``must_staple`` the leaf has the TLS Feature
    status_request (RFC 7633), ``staple`` what was stapled (None: nothing)."""

    responders: tuple[str, ...] = ()
    must_staple: bool = False
    staple: OcspStaple | None = None


@dataclass(frozen=True)
class NonSniFacts:
    """What a TLS handshake without SNI got at one address (CERTIFICATE_INFO's fourth job,
    sslyze >= 6.2; hardening, ``non-sni-cert-valid``).

    ``leaf`` is the certificate served (None: the handshake failed -- the server refuses
    clients without SNI, which passes); then every other field is empty. ``names`` are the
    names it covers (SANs, or its CN without SANs); ``matches_host`` it covers the target's
    host name; ``validates`` its chain validates for the host name against the policy's
    trust stores (sslyze's path validation, at scan time), ``validation_error`` why not
    (None when it validates); ``same_as_sni`` it is the leaf the SNI handshake got.
    """

    leaf: CertificateFacts | None = None
    names: tuple[str, ...] = ()
    matches_host: bool = False
    validates: bool = False
    validation_error: str | None = None
    same_as_sni: bool = False


def not_run(command: str) -> Observed[T]:
    """The facts of a scan command that was not asked (the default of HardeningFacts)."""
    return Observed(CommandAttempt(command, AttemptStatus.NOT_SCHEDULED))


# HardeningFacts' defaults: facts recorded without these commands (older tests, fixtures).
_NO_COMPRESSION: Observed[bool] = not_run("tls_compression")
_NO_HEARTBLEED: Observed[bool] = not_run("heartbleed")
_NO_CCS: Observed[bool] = not_run("openssl_ccs_injection")
_NO_ROBOT: Observed[RobotResult] = not_run("robot")
_NO_RENEGOTIATION: Observed[Renegotiation] = not_run("session_renegotiation")
_NO_FALLBACK: Observed[bool] = not_run("tls_fallback_scsv")
_NO_GROUPS: Observed[tuple[GroupScan, ...]] = not_run("elliptic_curves")
_NO_OCSP: Observed[OcspFacts] = not_run("certificate_info")
_NO_NON_SNI: Observed[NonSniFacts] = not_run("certificate_info")


@dataclass(frozen=True)
class HardeningFacts:
    """What the hardening profile's scan commands saw at one endpoint (SPEC §2.2).

    - ``versions``: SSL 2.0 to TLS 1.3 enumerations, in that order.
    - ``headers``: the HTTP_HEADERS command; ``hsts`` the Strict-Transport-Security header
      as sslyze parsed it (None: not sent), ``hsts_max_age`` its max-age in seconds (None:
      absent), ``https_status_line``: what the HTTPS ``GET /`` asked (sslyze's request line).
    - ``http``: the plain-HTTP answer on ``http_port``.
    - ``leaf_eku``: the leaf's Extended Key Usage OIDs (None: no such extension);
      ``leaf_key_usage``: its KeyUsage bits set (None: no such extension).
    - ``compression``: TLS compression accepted (TLS_COMPRESSION); ``heartbleed`` and
      ``ccs_injection``: vulnerable (HEARTBLEED, OPENSSL_CCS_INJECTION); ``robot``: the ROBOT
      verdict; ``renegotiation``: SESSION_RENEGOTIATION; ``fallback_scsv``: the server
      refuses an inappropriate fallback (TLS_FALLBACK_SCSV). Each value is None when its
      command did not complete.
    - ``groups``: the key-exchange groups accepted, per protocol version probed
      (:class:`GroupScan`; ELLIPTIC_CURVES probes the highest version only -- HARDENING.md
      §A.3 -- and an empty tuple means no ECDHE key exchange at all). The DHE sizes and the
      groups actually negotiated are on each accepted suite of ``versions``
      (:class:`AcceptedSuite` ``kex_curve``, ``kex_bits``, ``dhe``).
    - ``ocsp``: the SNI leaf's OCSP responders, must-staple, and the stapled response
      (:class:`OcspFacts`).
    - ``non_sni``: what a handshake without SNI got (:class:`NonSniFacts`).
    Each ``Observed`` value is None when its command did not complete (``attempt`` says why;
    ``ocsp`` and ``non_sni`` come from CERTIFICATE_INFO, which every reachable endpoint ran).
    """

    versions: tuple[VersionScan, ...]
    headers: CommandAttempt
    http: HttpAnswer
    hsts: str | None = None
    hsts_max_age: int | None = None
    leaf_eku: tuple[str, ...] | None = None
    leaf_key_usage: tuple[str, ...] | None = None
    compression: Observed[bool] = _NO_COMPRESSION
    heartbleed: Observed[bool] = _NO_HEARTBLEED
    ccs_injection: Observed[bool] = _NO_CCS
    robot: Observed[RobotResult] = _NO_ROBOT
    renegotiation: Observed[Renegotiation] = _NO_RENEGOTIATION
    fallback_scsv: Observed[bool] = _NO_FALLBACK
    groups: Observed[tuple[GroupScan, ...]] = _NO_GROUPS
    ocsp: Observed[OcspFacts] = _NO_OCSP
    non_sni: Observed[NonSniFacts] = _NO_NON_SNI


@dataclass(frozen=True)
class EndpointFacts:
    """What one endpoint served and how it validates.

    When ``status`` is not OK, ``error`` is a one-line reason ("connection refused", "the port
    accepted the connection but sent no TLS answer within 5 s", ...) and every chain field is
    empty or None. When it is OK, ``error`` is None and:

    - ``served_chain``: the certificates exactly as sent, leaf first.
    - ``chain_order_ok``: each certificate is the issuer of the one before it (None when the
      chain could not be parsed).
    - ``sends_root``: the server also sends a self-issued (root) certificate after its leaf.
    - ``chain_complete``: following issuers from the leaf through the certificates sent
      reaches a trust anchor of the policy or a root the server sent;
      ``missing_issuer`` names the issuer where that walk stopped (None when complete);
      ``missing_from`` is the certificate that names it (the last one the walk reached);
      ``issuer_lookup`` says what its issuer URL (AIA caIssuers) gave, when it was fetched
      (None: not fetched -- complete, ``--offline``, or no URL); ``missing_is_root`` is
      True when the fetched issuer is a root nobody trusts, False when a trusted root issued
      it (a missing intermediate), None when unknown.
    - ``name_matches``: the leaf's SANs (or CN when it has no SAN) cover ``endpoint.host``.
    - ``trusted``: the chain validates against one of the policy's trust stores;
      ``trusted_by`` names it ("mozilla", "root.cer"), ``verified_chain`` is the path built,
      leaf to anchor. Trusted means as browsers judge it, as of the audit's ``now``: a path
      to an anchor, in its validity period, for the host name, with no RSA key under 2048
      bits and no SHA-1/MD5 signature below the anchor. When not trusted,
      ``trust_problems`` lists every cause found (in the order untrusted root / incomplete
      chain, expired / not yet valid, name mismatch, weak key, weak signature, other) and
      ``trust_reason`` says it in one line.
    - ``tls_version``: the highest protocol version the endpoint negotiated ("TLS_1_3").
    - ``attempts``: one per scan command run (empty when the probe already failed).
    - ``hardening``: the hardening profile's facts; None unless a target of the address
      has ``policy.hardening``.
    """

    endpoint: Endpoint
    status: EndpointStatus
    error: str | None = None
    tls_version: str | None = None
    served_chain: tuple[CertificateFacts, ...] = ()
    chain_order_ok: bool | None = None
    sends_root: bool = False
    chain_complete: bool | None = None
    missing_issuer: str | None = None
    missing_from: str | None = None
    issuer_lookup: str | None = None
    missing_is_root: bool | None = None
    name_matches: bool | None = None
    trusted: bool | None = None
    trusted_by: str | None = None
    trust_problems: tuple[TrustProblem, ...] = ()
    trust_reason: str | None = None
    verified_chain: tuple[CertificateFacts, ...] = ()
    attempts: tuple[CommandAttempt, ...] = ()
    hardening: HardeningFacts | None = None

    @property
    def reachable(self) -> bool:
        """A TLS handshake succeeded and the chain was read."""
        return self.status is EndpointStatus.OK

    @property
    def leaf(self) -> CertificateFacts | None:
        """The served leaf certificate, or None when nothing was served."""
        return self.served_chain[0] if self.served_chain else None
