"""Why a served chain is or is not trusted, the way browsers and OpenSSL at level 2 judge it.

Pure functions over the chain as sent, the policy's trust anchors and the audit's ``now``;
no sockets, no sslyze. sslyze's path validation says yes or no (and judges as of the
current time); this module says why, as of ``--now``, and adds what browsers reject beyond
a path: an RSA key under 2048 bits and a SHA-1 or MD5 signature below the trust anchor
(OpenSSL security level 2, CA/B Forum Baseline Requirements 6.1.5 and 7.1.3).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from certgate import x509 as core
from certgate.hosts.facts import TrustProblem

MIN_RSA_BITS = 2048  # OpenSSL security level 2, CA/B BRs 6.1.5
MIN_EC_BITS = 224


@dataclass(frozen=True)
class MissingIssuer:
    """What the issuer URL (AIA caIssuers) of the last certificate sent said about its issuer.

    ``found`` is the issuer fetched (None: none could be fetched; ``note`` says why);
    ``anchored`` is True when a trust anchor of the policy issued it (it is a missing
    intermediate), False when it is a root that is no anchor (an untrusted root).
    """

    url: str | None
    found: x509.Certificate | None
    anchored: bool
    note: str


@dataclass(frozen=True)
class Diagnosis:
    """Every cause found, in the order an administrator fixes them, and one line saying so."""

    problems: tuple[TrustProblem, ...]
    reason: str


# OpenSSL's words (through sslyze) for a path that fails only for its dates.
_DATE_ERRORS = ("certificate has expired", "certificate is not yet valid")


def complete(walk: core.Walk, validated: bool) -> bool:
    """Nothing is missing between the leaf and a root: the path validated, reached an
    anchor, or ends at a root the server sent."""
    return validated or walk.anchor is not None or walk.ends_self_issued


def validated(walk: core.Walk, path_validated: bool, errors: Sequence[str]) -> bool:
    """The path's verdict with its dates left to :func:`diagnose`: sslyze validates as of the
    real time, the audit judges as of ``now`` (``--now``), so a path to an anchor rejected
    only for its dates counts as validated here."""
    dates_only = bool(errors) and all(any(d in e for d in _DATE_ERRORS) for e in errors)
    return path_validated or (walk.anchor is not None and dates_only)


def diagnose(
    walk: core.Walk,
    host: str,
    now: datetime,
    validated: bool,
    errors: Sequence[str] = (),
    missing: MissingIssuer | None = None,
) -> Diagnosis | None:
    """Why the chain is not trusted for ``host`` as of ``now``; None when it is.

    ``validated`` is the path validation's own verdict (sslyze); a chain it accepts can
    still fail here on ``now``, a weak key or a weak signature.
    """
    found: list[tuple[TrustProblem, str]] = []
    chain = None if walk.anchor is not None else chain_problem(walk, missing)
    if chain is not None:
        found.append(chain)
    found += date_problems(walk.path, now)
    if not name_matches(walk.leaf, host):
        names = ", ".join(names_of(walk.leaf)) or "no DNS name"
        found.append((TrustProblem.NAME_MISMATCH, f"the certificate is for {names}, not {host}"))
    found += weak_keys(_judged(walk)) + weak_signatures(_judged(walk))
    if not found and not validated:
        found.append((TrustProblem.OTHER, f"rejected: {errors[0] if errors else 'unknown reason'}"))
    if not found:
        return None
    return Diagnosis(tuple(p for p, _ in found), "; ".join(text for _, text in found))


def _judged(walk: core.Walk) -> tuple[x509.Certificate, ...]:
    """The certificates below the trust anchor: a root's own self-signature is not judged."""
    path = walk.path
    if walk.ends_self_issued and len(path) > 1:
        return path[:-1]
    return path


def chain_problem(
    walk: core.Walk, missing: MissingIssuer | None = None
) -> tuple[TrustProblem, str] | None:
    """Why the walk did not reach a trust anchor, or None when it did."""
    top = cn(walk.top)
    if walk.anchor is not None:
        return None
    if walk.ends_self_issued and len(walk.path) == 1:
        return TrustProblem.UNTRUSTED_ROOT, f"the certificate {top} is self-signed, no CA issued it"
    if walk.ends_self_issued:
        return TrustProblem.UNTRUSTED_ROOT, f"the root {top} the server sends is not trusted"
    issuer = walk.top.issuer.rfc4514_string()
    if len(walk.path) == 1:
        return (
            TrustProblem.INCOMPLETE_CHAIN,
            f"the intermediate CA certificate ({issuer}) that issued {top} is not sent",
        )
    return upper_issuer_problem(walk.top, missing)


def upper_issuer_problem(
    top: x509.Certificate, missing: MissingIssuer | None
) -> tuple[TrustProblem, str]:
    """The last intermediate sent names an issuer that is neither sent nor an anchor."""
    issuer = top.issuer.rfc4514_string()
    if missing is not None and missing.found is not None:
        if missing.anchored:
            return (
                TrustProblem.INCOMPLETE_CHAIN,
                f"the intermediate {describe(missing.found)} that issued {cn(top)} is not sent "
                f"({missing.note})",
            )
        return (
            TrustProblem.UNTRUSTED_ROOT,
            f"the chain ends at {cn(top)}, issued by the root {describe(missing.found)}, "
            f"which is not trusted ({missing.note})",
        )
    looked = f"; {missing.note}" if missing is not None else ""
    return (
        TrustProblem.UNTRUSTED_ROOT,
        f"the chain sent stops at {cn(top)}, whose issuer ({issuer}) is no trusted root: "
        f"the root is not trusted or an intermediate is missing{looked}",
    )


def date_problems(
    path: Sequence[x509.Certificate], now: datetime
) -> list[tuple[TrustProblem, str]]:
    """Every certificate of ``path`` outside its validity period as of ``now``."""
    found = []
    for cert in path:
        problem = core.validity_problem(cert.not_valid_before_utc, cert.not_valid_after_utc, now)
        if problem is None:
            continue
        kind = (
            TrustProblem.EXPIRED if now > cert.not_valid_after_utc else TrustProblem.NOT_YET_VALID
        )
        found.append((kind, f"{cn(cert)} {problem}"))
    return found


def weak_keys(path: Sequence[x509.Certificate]) -> list[tuple[TrustProblem, str]]:
    """RSA/DSA keys under 2048 bits, EC keys under 224 bits (OpenSSL security level 2)."""
    found = []
    for cert in path:
        weak = _weak_key(core.public_key_of(cert))
        if weak is not None:
            found.append((TrustProblem.WEAK_KEY, f"{cn(cert)} has {weak}"))
    return found


def _weak_key(key: object) -> str | None:
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return f"an RSA {key.key_size}-bit key, under {MIN_RSA_BITS}"
    if isinstance(key, dsa.DSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return f"a DSA {key.key_size}-bit key, under {MIN_RSA_BITS}"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.key_size < MIN_EC_BITS:
        return f"an EC {key.key_size}-bit key, under {MIN_EC_BITS}"
    return None


def weak_signatures(path: Sequence[x509.Certificate]) -> list[tuple[TrustProblem, str]]:
    """Certificates signed with SHA-1 or MD5 (rejected by browsers since 2017)."""
    found = []
    for cert in path:
        name = core.signature_hash_name(cert)
        if name in core.WEAK_SIGNATURE_HASHES:
            found.append((TrustProblem.WEAK_SIGNATURE, f"{cn(cert)} is signed with {name.upper()}"))
    return found


def cn(cert: x509.Certificate) -> str:
    """The certificate's first CN, quoted, or its whole subject."""
    names = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    value = names[0].value if names else cert.subject.rfc4514_string()
    return repr(value if isinstance(value, str) else value.decode("latin-1"))


def describe(cert: x509.Certificate) -> str:
    """``'TWCA Secure SSL CA' (serial 1A2B)``."""
    return f"{cn(cert)} (serial {cert.serial_number:X})"


def names_of(cert: x509.Certificate) -> list[str]:
    """The names a certificate covers: its SANs, or its CN when it has no SAN (RFC 6125)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        cns = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
        return [str(a.value) for a in cns]
    except ValueError:  # extensions cryptography refuses: browsers refuse them too
        return []
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return [*san.get_values_for_type(x509.DNSName), *ips]


def name_matches(cert: x509.Certificate, host: str) -> bool:
    """Whether the certificate covers ``host`` (exact, or a left-most ``*.`` wildcard label)."""
    wanted = host.rstrip(".").lower()
    try:
        ipaddress.ip_address(wanted)
    except ValueError:
        return any(core.name_covers(n, wanted) for n in names_of(cert))
    return wanted in names_of(cert)
