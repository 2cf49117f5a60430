"""Pure judgements over facts: what the checks assert on. No I/O, no pytest."""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

from publicsuffixlist import PublicSuffixList

from certgate import x509 as core
from certgate.files.facts import (
    BundleFacts,
    BundleMember,
    BundleRole,
    CertificateFacts,
    KeyAlgorithm,
    KeyFacts,
    Pairing,
    PairingFacts,
    PathFacts,
    PathLink,
    PfxEncryptionFacts,
    PfxFacts,
    SubjectFacts,
    ValidityFacts,
)

# ISO 3166-1 alpha-2, officially assigned codes.
ISO_3166_ALPHA2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")


@dataclass(frozen=True)
class NonEnglish:
    """A subject field whose value holds characters outside printable ASCII."""

    field: str
    value: str
    characters: tuple[str, ...]

    def describe(self) -> str:
        """``O='台灣' has 台 (U+53F0), 灣 (U+7063)``, control characters shown escaped."""
        shown = ", ".join(_describe_char(c) for c in self.characters)
        return f"{self.field}={self.value!r} has {shown}"


def _describe_char(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if unicodedata.category(char).startswith("C"):
        return f"control character {code}"
    name = unicodedata.name(char, "")
    kind = " full-width" if "FULLWIDTH" in name or "IDEOGRAPHIC SPACE" in name else ""
    return f"'{char}' ({code}{kind})"


def non_english(subject: SubjectFacts) -> tuple[NonEnglish, ...]:
    """Every subject attribute whose value is not printable ASCII (0x20-0x7E)."""
    found = []
    for attr in subject.attributes:
        bad = tuple(dict.fromkeys(c for c in attr.value if not " " <= c <= "~"))
        if bad:
            found.append(NonEnglish(attr.short, attr.value, bad))
    return tuple(found)


def key_meets(key: KeyFacts, min_bits: int, exact: bool) -> bool:
    """RSA with at least (or, when ``exact``, exactly) ``min_bits`` bits."""
    if key.algorithm is not KeyAlgorithm.RSA:
        return False
    return key.bits == min_bits if exact else key.bits >= min_bits


# --- subject fields (manual 5.1.4) ----------------------------------------------------------


def missing_fields(subject: SubjectFacts, required: tuple[str, ...]) -> tuple[str, ...]:
    """Required attributes that are absent or blank."""
    return tuple(f for f in required if not any(v.strip() for v in subject.values(f)))


def country_problem(subject: SubjectFacts) -> str | None:
    """Why C is not one ISO 3166-1 alpha-2 code, or None when it is (or is absent)."""
    for value in subject.values("C"):
        if value not in ISO_3166_ALPHA2:
            hint = ""
            if value.upper() in ISO_3166_ALPHA2:
                hint = f" (write it in capitals: {value.upper()})"
            elif len(value) == 3:
                hint = " (a three-letter code; the manual asks for two letters, e.g. TW)"
            return f"C={value!r} is not an ISO 3166-1 two-letter country code{hint}"
    return None


def abbreviated_fields(subject: SubjectFacts) -> tuple[str, ...]:
    """L and ST values that are one- or two-letter abbreviations instead of full names."""
    return tuple(
        f"{a.short}={a.value!r}"
        for a in subject.attributes
        if a.short in ("L", "ST") and _is_abbreviation(a.value.strip())
    )


def subject_field_problems(subject: SubjectFacts, required: tuple[str, ...]) -> tuple[str, ...]:
    """Every way the subject falls short of manual 5.1.4, each said with its sub-section."""
    found = []
    missing = missing_fields(subject, required)
    if missing:
        found.append(f"lacks {', '.join(missing)} (5.1.4)")
    country = country_problem(subject)
    if country:
        found.append(f"{country} (5.1.4.6)")
    short = abbreviated_fields(subject)
    if short:
        found.append(f"{', '.join(short)} abbreviated, not the full name (5.1.4.4/5.1.4.5)")
    return tuple(found)


def _is_abbreviation(value: str) -> bool:
    # Only Latin letters: two CJK characters (臺灣) are a full name, judged by subject-english.
    return 0 < len(value) <= 2 and value.isascii() and value.isalpha()


# --- host names (manual 5.1.4.1) ------------------------------------------------------------


def hostname_problem(name: str) -> str | None:
    """Why ``name`` is not a bare DNS host name (wildcard allowed), or None."""
    checks = (
        ("://" in name, "it has a scheme such as 'https://'"),
        (" " in name.strip() or name != name.strip(), "it has spaces"),
        ("/" in name, "it has a path ('/')"),
        (":" in name, "it has a port (':')"),
        ("@" in name, "it has an '@' (an e-mail address?)"),
        (name.endswith("."), "it ends with a dot"),
        (_is_ip(name), "it is an IP address, not a host name"),
    )
    for failed, reason in checks:
        if failed:
            return reason
    labels = name.split(".")
    if labels[0] == "*":
        labels = labels[1:]
    if not labels or not all(_LABEL.match(label) for label in labels):
        return "it is not made of DNS labels (letters, digits and '-', separated by dots)"
    return None


def public_name_problem(name: str) -> str | None:
    """Why a public CA may not issue for ``name`` (CA/B BRs 7.1.4.2), or None when it may:
    a single label, a public suffix itself, or a name under no public suffix (.local,
    .corp, .lan), by the Public Suffix List that ships with ``publicsuffixlist``."""
    bare = core.ace(name.removeprefix("*."))
    if "." not in bare:
        return f"{name!r} is a single-label name"
    suffixes = _public_suffixes()
    if suffixes.privatesuffix(bare, accept_unknown=False) is not None:
        return None
    if suffixes.publicsuffix(bare, accept_unknown=False) == bare:
        return f"{name!r} is a public suffix, not a host name under one"
    return (
        f"{name!r} is an internal name: '.{bare.rsplit('.', 1)[-1]}' is no public top-level domain"
    )


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list shipped in the package: no network


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def subject_covers(subject: SubjectFacts, host: str) -> bool:
    """Whether the CN or any SAN DNS name covers ``host`` (IDNA-aware). The SAN is read only
    when the CN does not cover it (UnreadablePart when it is needed and unreadable)."""
    if any(core.name_covers(n, host) for n in subject.values("CN")):
        return True
    return any(core.name_covers(n, host) for n in subject.dns_names)


# --- time (manual 5.7.1.1, 5.11) -------------------------------------------------------------


def validity_problem(cert: CertificateFacts, now: datetime) -> str | None:
    """Why ``now`` is outside the certificate's validity period, or None."""
    return core.validity_problem(cert.not_before, cert.not_after, now)


def validity_fix(validity: ValidityFacts, now: datetime) -> str | None:
    """The fix for what is outside its period: the server certificate first, else an
    intermediate of its path; None when nothing is (the catalogue's generic fix applies)."""
    server = validity.certificates[0] if validity.certificates else None
    if server is not None and now > server.not_after:
        return "Renew the certificate (a new request, as for the first issue) and bind it"
    if server is not None and now < server.not_before:
        return "Check the server's clock, or bind the certificate that is valid now"
    if any(validity_problem(c, now) for c in validity.certificates[1:]):
        return "Install the CA's current intermediate (uca.cer of the current cert.zip)"
    return None


def validity_problems(validity: ValidityFacts, now: datetime) -> list[str]:
    """``<certificate> expired on ...`` for every judged certificate outside its period."""
    return [
        f"{c.label()} {problem}"
        for c in validity.certificates
        if (problem := validity_problem(c, now)) is not None
    ]


def days_between(start: datetime, end: datetime) -> int:
    """Calendar days from ``start``'s UTC date to ``end``'s (negative when ``end`` is earlier).

    The one way certgate counts days: by the dates it prints (:func:`day`), never by rounding
    a duration, so one date shows one count in every message of a run.
    """
    return (_utc_date(end) - _utc_date(start)).days


def _utc_date(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def days_left(cert: CertificateFacts, now: datetime) -> int:
    """Calendar days from ``now`` until notAfter's date (negative once that date is past)."""
    return days_between(now, cert.not_after)


def expiry_phrase(cert: CertificateFacts, now: datetime) -> str:
    """``expires on 2026-12-26, in 29 days`` or ``expired on 2026-11-16, 11 days ago``."""
    left = days_left(cert, now)
    when = "today" if left == 0 else f"in {_days(left)}" if left > 0 else f"{_days(-left)} ago"
    verb = "expired" if now > cert.not_after else "expires"
    return f"{verb} on {day(cert.not_after)}, {when}"


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def day(moment: datetime) -> str:
    """A date as the messages print it: YYYY-MM-DD."""
    return moment.strftime("%Y-%m-%d")


# --- cert.zip (manual 5.3) -------------------------------------------------------------------


def bundle_problems(bundle: BundleFacts) -> tuple[str, ...]:
    """Everything in cert.zip that is not the manual's layout of one certificate per role."""
    problems = [
        f"{name} has a path that leaves the unzip folder (zip slip); it was not read"
        for name in bundle.unsafe_names
    ]
    problems.extend(_layout_problems(bundle))
    for member in bundle.members:
        if member.problem is not None:
            problems.append(f"{member.name}: {member.problem}")
        elif member.role is None:
            problems.append(f"{member.name} is not one of the manual's files")
        elif (wrong := _role_problem(member)) is not None:
            problems.append(f"{member.name} {wrong}")
    return tuple(problems)


def _layout_problems(bundle: BundleFacts) -> list[str]:
    """Missing, doubled or mixed roles: 3 files (uca.cer) or 4 (uca_1.cer + uca_2.cer)."""
    has = {role: bundle.with_role(role) for role in BundleRole}
    problems = [
        f"{' and '.join(m.name for m in members)} are both {role.value}"
        for role, members in has.items()
        if len(members) > 1
    ]
    problems.extend(
        f"{role.value} is missing" for role in (BundleRole.ROOT, BundleRole.SERVER) if not has[role]
    )
    three, one, two = has[BundleRole.UCA], has[BundleRole.UCA_1], has[BundleRole.UCA_2]
    if three and (one or two):
        problems.append("it mixes uca.cer (3-file layout) with uca_1.cer/uca_2.cer (4-file layout)")
    elif bool(one) != bool(two):
        problems.append(f"{'uca_2.cer' if one else 'uca_1.cer'} is missing (4-file layout)")
    elif not (three or one):
        problems.append(
            "the intermediate certificate (uca.cer, or uca_1.cer and uca_2.cer) is missing"
        )
    return problems


def _role_problem(member: BundleMember) -> str | None:
    """Why the certificate in ``member`` does not fit the role its name gives it, or None."""
    cert = member.certificate
    if cert is None:
        return None
    if member.role is BundleRole.ROOT and not (cert.self_issued and cert.is_ca):
        return f"holds {cert.label()}, issued by '{cert.issuer}': not a self-signed root CA"
    if member.role is BundleRole.SERVER and cert.is_ca:
        return f"holds the CA certificate {cert.label()}, not the server certificate"
    if member.role in (BundleRole.UCA, BundleRole.UCA_1, BundleRole.UCA_2) and (
        cert.self_issued or not cert.is_ca
    ):
        kind = "a self-signed root" if cert.self_issued else "not a CA certificate"
        return f"holds {cert.label()}: {kind}, not an intermediate CA"
    return None


# --- certification path (manual 5.4, 5.5, 5.7.1.2) -------------------------------------------


def path_problems(path: PathFacts, now: datetime) -> tuple[str, ...]:
    """Every broken link of the path, each naming the certificate and the link."""
    problems: list[str] = []
    for link in path.links:
        problems.extend(_link_problems(link, path.unused))
    problems.extend(
        f"{cert.label()} {problem}"
        for cert in path.certificates[1:]
        if (problem := validity_problem(cert, now)) is not None
    )
    levels = len(path.certificates)
    names = " -> ".join(c.subject.common_name or c.subject.rfc4514() for c in path.certificates)
    if path.reaches_root and levels not in (3, 4):
        problems.append(f"the path has {levels} level(s) ({names}), not 3 or 4")
    if not path.reaches_root and all(link.issuer for link in path.links):
        problems.append(f"the path ({names}) does not end at a root")
    return tuple(problems)


def _link_problems(link: PathLink, unused: tuple[CertificateFacts, ...]) -> list[str]:
    child, issuer = link.child, link.issuer
    if issuer is None:
        text = f"{child.label()} was issued by '{child.issuer}', which none of the files is"
        others = [c.label() for c in unused if c.is_ca]
        return [f"{text} (the files hold instead {'; '.join(others)})" if others else text]
    problems = []
    if link.signature_valid is False:
        problems.append(
            f"the signature on {child.label()} does not verify with the key of "
            f"{issuer.label()} (a look-alike or altered certificate)"
        )
    elif link.signature_valid is None:
        problems.append(
            f"the signature on {child.label()} ({child.signature_algorithm}) cannot be checked: "
            f"{link.signature_problem or 'unknown reason'}"
        )
    if not issuer.is_ca:
        problems.append(
            f"{issuer.label()} issued {child.label()} but is not a CA (basicConstraints cA unset)"
        )
    return problems


# --- PKCS#12 (manual 5.9, 5.10) ---------------------------------------------------------------


def pfx_lacks_intermediate(pfx: PfxFacts) -> str | None:
    """Why the PFX surely lacks an intermediate: its server certificate's issuer is not inside.

    A missing issuer above an intermediate may be the root, which a backup may leave out;
    chain-links judges the whole path.
    """
    if pfx.path is None or not pfx.path.links:
        return None
    last = pfx.path.links[-1]
    if last.issuer is None and last.child.sha256 == pfx.path.leaf.sha256:
        return f"the intermediate '{last.child.issuer}' that issued {last.child.label()}"
    return None


def pfx_encryption_problems(pfx: PfxEncryptionFacts, accepted: tuple[str, ...]) -> tuple[str, ...]:
    """What in the PFX's protection is not among the accepted ``pfx_encryption`` values."""
    problems: list[str] = []
    if "none" not in accepted:
        if pfx.opens_without_password:
            problems.append("it opens without a password")
        if pfx.mac_algorithm is None:
            problems.append("it has no password MAC")
    problems.extend(
        f"{p.part} ({p.policy_name})" for p in pfx.parts if p.policy_name not in accepted
    )
    return tuple(problems)


# --- key match (manual 5.7.1.1, 6.4) ----------------------------------------------------------

# What key-match requires of each pairing, after "manual 5.7.1.1, 6.4 requires", with its
# sub-section and the fix for that finding.
PAIRING_REQUIREMENTS = {
    Pairing.PRIVATE_KEY: (
        "'You have a private key that corresponds to this certificate' (5.7.1.1). Use the "
        "private key created with this certificate's request, or create a new request on this "
        "server and have the CA re-issue"
    ),
    Pairing.CSR: (
        "the certificate to be issued for the request made on this server, else it disappears "
        "after Complete Certificate Request (6.4). Create a new certificate request on the "
        "server that will hold the key and ask the CA to re-issue for it"
    ),
    Pairing.COPIES: (
        "every copy of the server certificate (certificate, cert.zip's server.cer, the PFX) to "
        "be the one the CA issued for this key (5.7.1.1). Replace the old copies with server.cer "
        "from the current cert.zip and export the PFX again"
    ),
}


def pairing_mismatch(pairing: PairingFacts) -> str:
    """``private key k.key is RSA 2048 bits (SPKI ...), but certificate c.cer is for ...``."""
    seen = "; ".join(f"{c.source} is {c.describes}" for c in pairing.strangers())
    return f"{seen}, but {pairing.expected.source} is {pairing.expected.describes}"
