"""The hardening profile's judgements (HARDENING.md §A, §A.1): pure functions over facts.

A judgement that needs a scan command which failed raises :class:`ArtifactError` naming it:
that control's item is an error ("could not check" is never "passed"), the others go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

from certgate.errors import ArtifactError
from certgate.files.facts import CertificateFacts
from certgate.hosts.facts import (
    VERSION_LABELS,
    AcceptedSuite,
    HardeningFacts,
    HttpAnswer,
    Observed,
    OcspFacts,
    RobotResult,
)

T = TypeVar("T")

# HARDENING.md §A.1: one year, as Internet.nl (testssl.sh 180 d, Observatory 6 months,
# Mozilla 2 y which sslyze's own checker switched off).
HSTS_MIN_SECONDS = 31_536_000
# CA/B Forum BRs via pkilint's SubscriberValidityPeriodValidator: (issued before, max days).
LIFETIME_CEILINGS: tuple[tuple[datetime, int], ...] = (
    (datetime(2026, 3, 15, tzinfo=UTC), 398),
    (datetime(2027, 3, 15, tzinfo=UTC), 200),
    (datetime(2029, 3, 15, tzinfo=UTC), 100),
)
LIFETIME_CEILING_LAST = 47
SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
REDIRECTS = (301, 302, 307, 308)
# HARDENING.md §A #4: NULL, anonymous, EXPORT, DES, RC4, 64-bit block ciphers.
WEAK_MARKERS = ("_NULL_", "_EXPORT", "_DES_", "_DES40_", "_RC4_", "_3DES_", "_IDEA_", "_RC2_")
ALL_VERSIONS = VERSION_LABELS
SSL_VERSIONS = VERSION_LABELS[:2]  # SSL 2.0, SSL 3.0
LEGACY_VERSIONS = VERSION_LABELS[2:4]  # TLS 1.0, TLS 1.1
PRE_TLS13 = VERSION_LABELS[1:-1]  # SSL 3.0 to TLS 1.2: where a static-RSA suite can be
# HARDENING.md §A #8, §A.1 (Mozilla's and sslyze's numbers): ECDHE over X25519, P-256 or
# P-384, P-521 tolerated -- so no group under 256 bits -- and DHE of at least 2048 bits.
# Names as OpenSSL spells them (sslyze reports secp256r1; nginx and Mozilla write prime256v1).
ECDHE_GROUPS = frozenset({"x25519", "secp256r1", "prime256v1", "secp384r1", "secp521r1"})
ECDHE_GROUPS_TEXT = "X25519, P-256, P-384 (P-521 tolerated)"
DH_MIN_BITS = 2048


def _suites(h: HardeningFacts, versions: Sequence[str]) -> list[AcceptedSuite]:
    """The accepted suites of ``versions``; ArtifactError when one of them was not scanned."""
    chosen = [v for v in h.versions if v.version in versions]
    failed = [v.attempt for v in chosen if not v.attempt.ok]
    if failed:
        what = "; ".join(f"{a.command}: {a.error or a.status.value}" for a in failed)
        raise ArtifactError(f"could not enumerate the cipher suites: {what}")
    return [s for v in chosen for s in v.accepted]


def accepted_versions(h: HardeningFacts, versions: Sequence[str]) -> tuple[str, ...]:
    """Which of ``versions`` the server completed a handshake with."""
    return tuple(dict.fromkeys(s.version for s in _suites(h, versions)))


def describe(suites: Sequence[AcceptedSuite]) -> str:
    """``TLS 1.0: TLS_RSA_WITH_3DES_EDE_CBC_SHA, ...; TLS 1.2: ...`` (accepted, by version)."""
    by_version: dict[str, list[str]] = {}
    for suite in suites:
        by_version.setdefault(suite.version, []).append(suite.name)
    return "; ".join(f"{v}: {', '.join(names)}" for v, names in by_version.items())


def weak_suites(h: HardeningFacts) -> list[AcceptedSuite]:
    """NULL, anonymous, EXPORT, DES, RC4, 3DES/IDEA or under-128-bit suites, any version."""
    return [
        s
        for s in _suites(h, ALL_VERSIONS)
        if s.anonymous or s.key_size < 128 or any(m in f"{s.name}_" for m in WEAK_MARKERS)
    ]


def cbc_sha1_suites(h: HardeningFacts) -> list[AcceptedSuite]:
    """TLS 1.2 suites with CBC and a SHA-1 MAC (``*_CBC_SHA``)."""
    return [s for s in _suites(h, ("TLS 1.2",)) if s.name.endswith("_CBC_SHA")]


def static_rsa_suites(h: HardeningFacts) -> list[AcceptedSuite]:
    """TLS 1.0-1.2 (and SSL 3.0) suites without an ephemeral key exchange."""
    return [
        s
        for s in _suites(h, PRE_TLS13)
        if s.name.startswith("TLS_RSA_") or (s.key_exchange is None and not s.anonymous)
    ]


def non_aead_suites(h: HardeningFacts) -> list[AcceptedSuite]:
    """TLS 1.2 suites that are not AEAD (CBC)."""
    return [s for s in _suites(h, ("TLS 1.2",)) if "_CBC_" in s.name]


def weak_signatures(chain: Sequence[CertificateFacts]) -> list[str]:
    """``CN=... (sha1)`` for each served certificate below the root signed with SHA-1 or MD5."""
    return [
        f"{c.subject.rfc4514()} ({c.signature_hash})"
        for c in chain
        if not c.self_issued and c.signature_hash in ("sha1", "md5")
    ]


def lifetime_days(leaf: CertificateFacts) -> float:
    """notAfter - notBefore, both inclusive (RFC 5280: one second more), in days."""
    return ((leaf.not_after - leaf.not_before).total_seconds() + 1) / 86_400


def lifetime_ceiling(leaf: CertificateFacts) -> int:
    """The CA/B Forum's maximum lifetime, in days, for a certificate issued when this one was."""
    for before, days in LIFETIME_CEILINGS:
        if leaf.not_before < before:
            return days
    return LIFETIME_CEILING_LAST


def eku_problem(h: HardeningFacts) -> str | None:
    """Why the leaf is not a TLS server certificate by its key usages, or None."""
    if h.leaf_eku is None:
        return "the leaf has no Extended Key Usage extension"
    if SERVER_AUTH not in h.leaf_eku:
        return f"the leaf's Extended Key Usage is {', '.join(h.leaf_eku)}, without serverAuth"
    usable = ("digital_signature", "key_encipherment")
    if h.leaf_key_usage is not None and not any(u in h.leaf_key_usage for u in usable):
        shown = ", ".join(h.leaf_key_usage) or "empty"
        return f"the leaf's KeyUsage ({shown}) allows neither digitalSignature nor keyEncipherment"
    return None


def hsts_seen(h: HardeningFacts) -> str:
    """The HSTS header as seen over HTTPS, or why there is none; ArtifactError if not read."""
    if not h.headers.ok:
        raise ArtifactError(f"could not read the HTTPS response headers: {h.headers.error}")
    return f"Strict-Transport-Security: {h.hsts}" if h.hsts else "no Strict-Transport-Security"


def hsts_long_enough(h: HardeningFacts) -> bool:
    """The HSTS header is sent with max-age of at least :data:`HSTS_MIN_SECONDS`."""
    hsts_seen(h)  # raises when the headers could not be read
    return h.hsts_max_age is not None and h.hsts_max_age >= HSTS_MIN_SECONDS


def redirect_problem(answer: HttpAnswer, host: str) -> str | None:
    """Why ``http://host/`` does not send clients to HTTPS on the same host, or None.

    A closed port passes (nothing is served over HTTP); no answer at all cannot be judged.
    """
    if answer.refused:
        return None
    if answer.status is None:
        raise ArtifactError(f"{answer.url}: no HTTP answer ({answer.error})")
    if answer.status not in REDIRECTS:
        return f"{answer.url} answers {answer.status} without a redirect"
    target = urlsplit(answer.location or "")
    if target.scheme != "https":
        return f"{answer.url} redirects ({answer.status}) to {answer.location!r}, not to https"
    if (target.hostname or "").rstrip(".").lower() != host:
        return f"{answer.url} redirects ({answer.status}) to another host: {answer.location}"
    return None


def observed(seen: Observed[T], what: str) -> T:
    """What a single-answer scan command found; ArtifactError when it did not complete."""
    if not seen.attempt.ok or seen.value is None:
        reason = seen.attempt.error or seen.attempt.status.value
        raise ArtifactError(f"could not check {what}: {seen.attempt.command}: {reason}")
    return seen.value


def compresses(h: HardeningFacts) -> bool:
    """The server accepts TLS-level compression (CRIME)."""
    return observed(h.compression, "TLS compression")


def openssl_bugs(h: HardeningFacts) -> list[str]:
    """Which of Heartbleed and the OpenSSL CCS injection the server is vulnerable to."""
    found = [("Heartbleed (CVE-2014-0160)", observed(h.heartbleed, "Heartbleed"))]
    found += [("OpenSSL CCS injection (CVE-2014-0224)", observed(h.ccs_injection, "CCS"))]
    return [name for name, vulnerable in found if vulnerable]


def robot_verdict(h: HardeningFacts) -> RobotResult:
    """sslyze's ROBOT verdict at this endpoint."""
    return observed(h.robot, "ROBOT")


def robot_strong(h: HardeningFacts) -> bool:
    """A strong ROBOT oracle: the RSA key exchange can be decrypted (fails the control)."""
    return robot_verdict(h) is RobotResult.VULNERABLE_STRONG_ORACLE


def robot_suspect(h: HardeningFacts) -> bool:
    """A weak oracle, or results too inconsistent to tell: a warning (HARDENING.md §A #17)."""
    weak = (RobotResult.VULNERABLE_WEAK_ORACLE, RobotResult.UNKNOWN_INCONSISTENT_RESULTS)
    return robot_verdict(h) in weak


def renegotiation_problem(h: HardeningFacts) -> str | None:
    """Why renegotiation is unsafe (no RFC 5746 secure renegotiation), or None.

    Unlimited client-initiated renegotiation alone is a warning (HARDENING.md §A #18,
    :func:`client_renegotiation_unlimited`); alongside a failure it is named too."""
    seen = observed(h.renegotiation, "renegotiation")
    if seen.secure:
        return None
    dos = "; client-initiated renegotiation is also unlimited" if seen.client_dos else ""
    return f"secure renegotiation (RFC 5746) is not supported{dos}"


def client_renegotiation_unlimited(h: HardeningFacts) -> bool:
    """The server lets a client renegotiate without limit (a DoS lever; a warning)."""
    return observed(h.renegotiation, "renegotiation").client_dos


def fallback_problem(h: HardeningFacts) -> str | None:
    """Why a downgrade is not signalled, or None; n/a (None) when TLS 1.0/1.1 are refused.

    sslyze counts any rejected fallback as support, so a TLS 1.2+-only server always
    passes; Schannel is known to lack the signal (ssllabs/ssllabs-scan#245)."""
    legacy = accepted_versions(h, LEGACY_VERSIONS)
    if not legacy or observed(h.fallback_scsv, "TLS_FALLBACK_SCSV"):
        return None
    return f"it accepts {', '.join(legacy)} and does not refuse an inappropriate fallback"


def _group_allowed(name: str) -> bool:
    return name.lower() in ECDHE_GROUPS


def kex_problems(h: HardeningFacts) -> list[str]:
    """The key-exchange groups outside :data:`ECDHE_GROUPS` and the DHE keys under
    :data:`DH_MIN_BITS`, as ``secp224r1 (TLS 1.2)`` and ``DH 1024 bits (TLS 1.2:
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256)``: from the groups probed and from the ephemeral
    key of every accepted suite (the group each suite actually negotiated)."""
    scans = observed(h.groups, "the key-exchange groups")
    found: dict[str, list[str]] = {}
    for scan in scans:
        for group in scan.accepted:
            if not _group_allowed(group):
                found.setdefault(f"{group} ({scan.version}", [])
    for s in _suites(h, ALL_VERSIONS):
        if s.kex_curve is not None and not _group_allowed(s.kex_curve):
            found.setdefault(f"{s.kex_curve} ({s.version}", [])
        if s.dhe and (s.kex_bits or 0) < DH_MIN_BITS:
            found.setdefault(f"DH {s.kex_bits} bits ({s.version}", []).append(s.name)
    return [f"{k}: {', '.join(names)})" if names else f"{k})" for k, names in found.items()]


def groups_probed(h: HardeningFacts) -> str:
    """Which versions the groups were probed at (``TLS 1.3``), or that none has ECDHE."""
    scans = observed(h.groups, "the key-exchange groups")
    return ", ".join(s.version for s in scans) or "none: no ECDHE key exchange"


def dhe_suites(h: HardeningFacts) -> list[AcceptedSuite]:
    """The accepted suites with a finite-field (DHE) key exchange, any version."""
    return [s for s in _suites(h, ALL_VERSIONS) if s.dhe]


def dhe_note(h: HardeningFacts) -> str:
    """`` DHE is offered (TLS 1.2: ...); ...`` for a finding's message, or '' without DHE.

    HARDENING.md §A.1: NCSC-NL's "FFDHE-2048 insufficient" is a note, not a verdict."""
    found = dhe_suites(h)
    if not found:
        return ""
    sizes = ", ".join(sorted({f"{s.kex_bits} bits" for s in found}))
    return (
        f" DHE is offered ({describe(found)}; {sizes}); Mozilla's current profile drops "
        "DHE and NCSC-NL rates FFDHE-2048 insufficient."
    )


def ocsp_seen(h: HardeningFacts) -> OcspFacts:
    """The SNI leaf's OCSP facts; ArtifactError when the certificate scan did not run."""
    return observed(h.ocsp, "OCSP stapling")


def must_staple_unstapled(h: HardeningFacts) -> bool:
    """The leaf demands stapling (must-staple) and nothing is stapled: browsers that honour
    RFC 7633 refuse the site, so this fails the warning control (HARDENING.md §A #12)."""
    ocsp = ocsp_seen(h)
    return ocsp.must_staple and ocsp.staple is None


def ocsp_problem(h: HardeningFacts, now: datetime) -> str | None:
    """Why the SNI handshake has no successful, good, trusted, current OCSP staple, or None.

    None too (not applicable) when the leaf names no OCSP responder: there is nothing to
    staple (Internet.nl's "not in cert")."""
    ocsp = ocsp_seen(h)
    staple = ocsp.staple
    if not ocsp.responders:
        return None
    if staple is None:
        return f"no OCSP response is stapled (the leaf's responder: {', '.join(ocsp.responders)})"
    if staple.response_status != "successful":
        return f"the stapled OCSP response is {staple.response_status!r}, not successful"
    if staple.cert_status != "good":
        return f"the stapled OCSP response says the certificate is {staple.cert_status}"
    if staple.next_update is not None and staple.next_update < now:
        return f"the stapled OCSP response expired on {staple.next_update:%Y-%m-%d} (nextUpdate)"
    if staple.trusted is False:
        return "the stapled OCSP response's signature does not verify to the chain's trust anchor"
    if staple.trusted is None:
        return "the stapled OCSP response could not be verified: the chain does not validate"
    return None


def non_sni_problem(h: HardeningFacts, host: str) -> str | None:
    """Why a client without SNI gets a certificate that is not valid for ``host``, or None.

    None too when the handshake without SNI fails (such clients are refused, not misled) and
    when it gets the SNI handshake's own leaf (chain-trusted and the certificate controls
    judge that one; this control is about a stale default binding)."""
    seen = observed(h.non_sni, "the handshake without SNI")
    if seen.leaf is None or seen.same_as_sni or (seen.validates and seen.matches_host):
        return None
    why = [] if seen.matches_host else [f"it names {', '.join(seen.names) or 'no name'}"]
    why += [] if seen.validates else [f"it does not validate: {seen.validation_error}"]
    return f"clients without SNI get {seen.leaf.label()}, not valid for {host}: {'; '.join(why)}"
