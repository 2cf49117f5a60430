"""The hardening profile's evidence: what each control was judged on, as lines, with the
commands that reproduce it (HARDENING.md §A "evidence"; issue 12 point 2).

One small function per control id, in :data:`EVIDENCE`; :func:`evidence_lines` looks one up.
The lines are plain text: the report shows them as a table (``label`` | ``text``), results.json
as ``"label: text"`` strings. A passed item's lines are what prove it passed, so every control
shows what was seen whatever the verdict. Pure: facts in, lines out; never raises for a fact
that could not be read (its line says so).

The commands come from :mod:`certgate.hosts.commands` (the one place they are written).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from certgate.errors import ArtifactError
from certgate.files.facts import CertificateFacts
from certgate.files.rules import day
from certgate.hosts.commands import (
    OPENSSL_FLAG,
    SECLEVEL0,
    enumeration_command,
    https_headers_command,
    leaf_command,
    openssl_command,
    openssl_no_sni_command,
    openssl_status_command,
    openssl_version_command,
    sslyze_command,
)
from certgate.hosts.facts import (
    AcceptedSuite,
    Endpoint,
    EndpointFacts,
    HardeningFacts,
    Observed,
    VersionScan,
)
from certgate.hosts.hardening import (
    ALL_VERSIONS,
    DH_MIN_BITS,
    ECDHE_GROUPS,
    ECDHE_GROUPS_TEXT,
    HSTS_MIN_SECONDS,
    LEGACY_VERSIONS,
    PRE_TLS13,
    SERVER_AUTH,
    SSL_VERSIONS,
    cbc_sha1_suites,
    kex_problems,
    lifetime_ceiling,
    lifetime_days,
    non_aead_suites,
    static_rsa_suites,
    weak_suites,
)

REPRODUCE = "reproduce"
# A few commands per item, the rest named: an IIS with thirty suites gets three commands.
MAX_COMMANDS = 3


@dataclass(frozen=True)
class Line:
    """One line of evidence: ``label`` says what (``TLS 1.0``, ``HSTS``, ``reproduce``),
    ``text`` what was seen, or the command that shows it."""

    label: str
    text: str

    @property
    def is_command(self) -> bool:
        """The line is a command to run, not an observation."""
        return self.label == REPRODUCE

    def __str__(self) -> str:
        return f"{self.label}: {self.text}"

    @classmethod
    def parse(cls, text: str) -> Line:
        """A line as results.json wrote it (``str(line)``); labels never hold ``": "``."""
        label, _, rest = text.partition(": ")
        return cls(label, rest)


Rule = Callable[[EndpointFacts, HardeningFacts], list[Line]]
EVIDENCE: dict[str, Rule] = {}


def _evidence(control_id: str) -> Callable[[Rule], Rule]:
    def register(rule: Rule) -> Rule:
        EVIDENCE[control_id] = rule
        return rule

    return register


def evidence_lines(control_id: str, served: EndpointFacts) -> tuple[Line, ...]:
    """The evidence of ``control_id`` at one endpoint; empty for a control without any, or an
    endpoint not scanned with the hardening profile."""
    rule = EVIDENCE.get(control_id)
    if rule is None or served.hardening is None:
        return ()
    try:
        return tuple(rule(served, served.hardening))
    except ArtifactError as exc:  # a part that cannot be read is shown as such
        return (Line("not checked", str(exc)),)


def reproduce(command: str) -> Line:
    """A command line of the evidence."""
    return Line(REPRODUCE, command)


# --- facts as lines ---------------------------------------------------------------------------


def version_line(scan: VersionScan, key_exchange: bool = False) -> Line:
    """``TLS 1.0 | accepted: A, B`` / ``refused`` / ``not scanned: why``."""
    if not scan.attempt.ok:
        return Line(scan.version, f"not scanned: {scan.attempt.error or scan.attempt.status.value}")
    if not scan.accepted:
        return Line(scan.version, "refused")
    names = ", ".join(_suite_text(s, key_exchange) for s in scan.accepted)
    return Line(scan.version, f"accepted: {names}")


def _suite_text(suite: AcceptedSuite, key_exchange: bool) -> str:
    if not key_exchange:
        return suite.name
    return f"{suite.name} ({suite.key_exchange or 'static RSA, no ephemeral key'})"


def _scans(h: HardeningFacts, versions: Sequence[str]) -> list[VersionScan]:
    return [v for v in h.versions if v.version in versions]


def _versions_evidence(e: Endpoint, h: HardeningFacts, versions: Sequence[str]) -> list[Line]:
    """Each version's verdict, and a handshake at each (which fails where refused)."""
    scans = _scans(h, versions)
    lines = [version_line(v) for v in scans]
    for scan in scans:
        suite = scan.accepted[0].name if scan.accepted else None
        lines.append(reproduce(openssl_version_command(e, scan.version, suite)))
    return lines


def _suites_evidence(
    e: Endpoint,
    h: HardeningFacts,
    versions: Sequence[str],
    find: Callable[[HardeningFacts], list[AcceptedSuite]],
    what: str,
    key_exchange: bool = False,
) -> list[Line]:
    """The accepted suites of ``versions``, those ``find`` finds (``what`` they are), and a
    handshake with each found one; with none found, the enumeration that shows it."""
    lines = [version_line(v, key_exchange) for v in _scans(h, versions)]
    try:
        found = find(h)
    except ArtifactError as exc:  # a version could not be enumerated: its line says why
        return [*lines, Line(what, f"not checked: {exc}")]
    lines.append(Line(what, ", ".join(f"{s.version} {s.name}" for s in found) or "none"))
    commands = [reproduce(openssl_version_command(e, s.version, s.name)) for s in found]
    lines += commands[:MAX_COMMANDS]
    if len(found) > MAX_COMMANDS:
        more = len(found) - MAX_COMMANDS
        lines.append(Line("and", f"{more} more suite{'' if more == 1 else 's'}, the same way"))
    if not found:
        lines.append(reproduce(enumeration_command(e, versions)))
    return lines


def _observed_text(seen: Observed[bool], yes: str, no: str) -> str:
    if not seen.attempt.ok or seen.value is None:
        return f"not checked: {seen.attempt.error or seen.attempt.status.value}"
    return yes if seen.value else no


# --- one function per control ----------------------------------------------------------------


@_evidence("tls-no-ssl")
def _tls_no_ssl(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    return _versions_evidence(served.endpoint, h, SSL_VERSIONS)


@_evidence("tls-no-legacy")
def _tls_no_legacy(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    return _versions_evidence(served.endpoint, h, LEGACY_VERSIONS)


@_evidence("tls13-offered")
def _tls13_offered(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    return _versions_evidence(served.endpoint, h, ("TLS 1.3",))


@_evidence("cipher-no-weak")
def _cipher_no_weak(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    return _suites_evidence(served.endpoint, h, ALL_VERSIONS, weak_suites, "weak")


@_evidence("cipher-no-cbc-sha1")
def _cipher_no_cbc_sha1(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    return _suites_evidence(served.endpoint, h, ("TLS 1.2",), cbc_sha1_suites, "CBC-SHA1")


@_evidence("cipher-forward-secrecy")
def _cipher_forward_secrecy(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    return _suites_evidence(
        served.endpoint, h, PRE_TLS13, static_rsa_suites, "no forward secrecy", key_exchange=True
    )


@_evidence("cipher-aead-only")
def _cipher_aead_only(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    return _suites_evidence(served.endpoint, h, ("TLS 1.2",), non_aead_suites, "not AEAD")


@_evidence("cert-sig-sha2")
def _cert_sig_sha2(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    lines = [_signature_line(cert) for cert in served.served_chain]
    return [*lines, reproduce(served.endpoint.openssl_command() + " </dev/null")]


def _signature_line(cert: CertificateFacts) -> Line:
    root = " (self-signed: not judged)" if cert.self_issued else ""
    text = f"{cert.subject.rfc4514()} signed with {cert.signature_algorithm}{root}"
    return Line("certificate", text)


@_evidence("cert-lifetime")
def _cert_lifetime(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    leaf = served.leaf
    if leaf is None:
        return [Line("leaf", "none served")]
    return [
        Line("leaf", leaf.subject.rfc4514()),
        Line("valid", f"{day(leaf.not_before)} to {day(leaf.not_after)}"),
        Line("lifetime", f"{lifetime_days(leaf):.0f} days"),
        Line(
            "ceiling", f"{lifetime_ceiling(leaf)} days (CA/B Forum, issued {day(leaf.not_before)})"
        ),
        reproduce(leaf_command(served.endpoint, "-dates")),
    ]


@_evidence("cert-eku-serverauth")
def _cert_eku_serverauth(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    eku = "absent" if h.leaf_eku is None else ", ".join(_eku_name(o) for o in h.leaf_eku)
    usage = "absent" if h.leaf_key_usage is None else ", ".join(h.leaf_key_usage) or "empty"
    return [
        Line("Extended Key Usage", eku),
        Line("KeyUsage", usage),
        reproduce(leaf_command(served.endpoint, "-ext", "extendedKeyUsage,keyUsage")),
    ]


def _eku_name(oid: str) -> str:
    return f"{oid} (serverAuth)" if oid == SERVER_AUTH else oid


@_evidence("hsts")
def _hsts(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    if not h.headers.ok:
        seen = f"not read: {h.headers.error or h.headers.status.value}"
    elif h.hsts is None:
        seen = "no Strict-Transport-Security header"
    else:
        seen = f"Strict-Transport-Security: {h.hsts}"
    return [
        Line("HTTPS GET /", seen),
        Line("required", f"max-age >= {HSTS_MIN_SECONDS} s (one year)"),
        reproduce(https_headers_command(served.endpoint)),
    ]


@_evidence("http-redirects-to-https")
def _http_redirects(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    answer = h.http
    if answer.refused:
        seen = "connection refused (nothing listens: nothing is served over http)"
    elif answer.status is None:
        seen = f"no answer: {answer.error}"
    else:
        seen = f"{answer.status}" + (f", Location: {answer.location}" if answer.location else "")
    return [Line(f"GET {answer.url}", seen), reproduce(answer.command)]


@_evidence("vuln-heartbleed-ccs")
def _vuln_heartbleed_ccs(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    return [
        Line("Heartbleed", _observed_text(h.heartbleed, "VULNERABLE", "not vulnerable")),
        Line("CCS injection", _observed_text(h.ccs_injection, "VULNERABLE", "not vulnerable")),
        reproduce(sslyze_command(served.endpoint, "heartbleed", "openssl_ccs")),
    ]


@_evidence("vuln-robot")
def _vuln_robot(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    seen = h.robot
    if not seen.attempt.ok or seen.value is None:
        text = f"not checked: {seen.attempt.error or seen.attempt.status.value}"
    else:
        text = f"{seen.value.value} ({seen.value.name})"
    return [Line("ROBOT", text), reproduce(sslyze_command(served.endpoint, "robot"))]


@_evidence("renegotiation-secure")
def _renegotiation(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    seen = h.renegotiation
    if not seen.attempt.ok or seen.value is None:
        lines = [Line("renegotiation", f"not checked: {seen.attempt.error}")]
    else:
        secure = "supported" if seen.value.secure else "NOT supported"
        dos = "unlimited" if seen.value.client_dos else "limited or refused"
        lines = [
            Line("secure renegotiation (RFC 5746)", secure),
            Line("client-initiated renegotiation", dos),
        ]
    return [*lines, reproduce(sslyze_command(served.endpoint, "reneg"))]


@_evidence("tls-compression-off")
def _tls_compression(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    return [
        Line("TLS compression", _observed_text(h.compression, "accepted", "refused")),
        reproduce(sslyze_command(served.endpoint, "compression")),
    ]


@_evidence("fallback-scsv")
def _fallback_scsv(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    scans = _scans(h, (*LEGACY_VERSIONS, "TLS 1.2", "TLS 1.3"))
    lines = [version_line(v) for v in scans if v.version in LEGACY_VERSIONS]
    accepted = [v.version for v in scans if v.attempt.ok and v.accepted]
    if not set(accepted) & set(LEGACY_VERSIONS):
        lines.append(Line("TLS_FALLBACK_SCSV", "not applicable: TLS 1.0 and 1.1 are refused"))
        return [*lines, reproduce(openssl_version_command(served.endpoint, "TLS 1.1"))]
    seen = _observed_text(h.fallback_scsv, "inappropriate fallback refused", "NOT refused")
    lines.append(Line("TLS_FALLBACK_SCSV", seen))
    # a client falling back below the server's best version, saying so (RFC 7507)
    below = [v for v in accepted[:-1] if v in LEGACY_VERSIONS]
    if below:
        flag = OPENSSL_FLAG[below[-1]]
        cipher = f"'ALL:{SECLEVEL0}'"
        fallback = openssl_command(served.endpoint, flag, "-fallback_scsv", "-cipher", cipher)
        lines.append(reproduce(fallback))
    return [*lines, reproduce(sslyze_command(served.endpoint, "fallback"))]


@_evidence("kex-groups")
def _kex_groups(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    e = served.endpoint
    if not h.groups.attempt.ok or h.groups.value is None:
        lines = [Line("groups", f"not probed: {h.groups.attempt.error or 'not run'}")]
    else:
        lines = [Line(f"groups ({s.version})", ", ".join(s.accepted)) for s in h.groups.value]
        lines = lines or [Line("groups", "none: no ECDHE key exchange")]
    keys = dict.fromkeys(
        f"{s.version} {s.key_exchange}" for s in _suites_of(h) if s.key_exchange is not None
    )
    lines.append(Line("ephemeral keys", ", ".join(keys) or "none"))
    lines.append(Line("allowed", f"{ECDHE_GROUPS_TEXT}; DHE >= {DH_MIN_BITS} bits"))
    try:
        found = kex_problems(h)
    except ArtifactError as exc:
        return [*lines, Line("outside", f"not checked: {exc}")]
    lines.append(Line("outside", "; ".join(found) or "none"))
    offered = [(s.version, g) for s in h.groups.value or () for g in s.accepted]
    weak = [(v, g) for v, g in offered if g.lower() not in ECDHE_GROUPS][:MAX_COMMANDS]
    lines += [reproduce(openssl_command(e, OPENSSL_FLAG[v], "-groups", g)) for v, g in weak]
    dhe = [s for s in _suites_of(h) if s.dhe][:1]  # its "Server Temp Key" shows the DH size
    lines += [reproduce(openssl_version_command(e, s.version, s.name)) for s in dhe]
    return [*lines, reproduce(sslyze_command(e, "elliptic_curves"))]


def _suites_of(h: HardeningFacts) -> list[AcceptedSuite]:
    return [s for v in h.versions if v.attempt.ok for s in v.accepted]


def _moment(value: datetime | None) -> str:
    return "absent" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


@_evidence("ocsp-stapled")
def _ocsp_stapled(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    e = served.endpoint
    status = openssl_status_command(e)
    if not h.ocsp.attempt.ok or h.ocsp.value is None:
        return [Line("OCSP", f"not read: {h.ocsp.attempt.error or 'not run'}"), reproduce(status)]
    ocsp = h.ocsp.value
    lines = [
        Line("leaf's OCSP responder", ", ".join(ocsp.responders) or "none (not applicable)"),
        Line("must-staple (RFC 7633)", "yes" if ocsp.must_staple else "no"),
    ]
    staple = ocsp.staple
    if staple is None:
        return [*lines, Line("stapled", "nothing"), reproduce(status)]
    trusted = {True: "yes", False: "NO", None: "not checked"}[staple.trusted]
    lines += [
        Line("stapled", f"{staple.response_status}, certificate {staple.cert_status or '-'}"),
        Line("producedAt", _moment(staple.produced_at)),
        Line("thisUpdate", _moment(staple.this_update)),
        Line("nextUpdate", _moment(staple.next_update)),
        Line("signature trusted", trusted),
    ]
    return [*lines, reproduce(status)]


@_evidence("non-sni-cert-valid")
def _non_sni_cert_valid(served: EndpointFacts, h: HardeningFacts) -> list[Line]:
    e = served.endpoint
    command = openssl_no_sni_command(e)
    seen = h.non_sni
    if not seen.attempt.ok or seen.value is None:
        return [
            Line("without SNI", f"not read: {seen.attempt.error or 'not run'}"),
            reproduce(command),
        ]
    got = seen.value
    if got.leaf is None:
        return [
            Line("without SNI", "handshake refused (clients without SNI are not misled)"),
            reproduce(command),
        ]
    return [
        Line("without SNI", f"{got.leaf.subject.rfc4514()}, SHA-256 {got.leaf.sha256}"),
        Line("names", ", ".join(got.names) or "none"),
        Line(f"covers {e.host}", "yes" if got.matches_host else "NO"),
        Line("validates", "yes" if got.validates else f"NO: {got.validation_error}"),
        Line("same as with SNI", "yes" if got.same_as_sni else "no"),
        reproduce(command),
    ]
