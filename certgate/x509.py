"""The x509 core: signatures of every hash, the issuer walk, name matching, validity dates.

One place for what files, PFX backups and served chains all need (SPEC §2.1):

- :func:`signature_check` verifies a signature with the signer's public key and the hash
  the signature names -- SHA-1 and MD5 included, RSA PKCS#1 v1.5, RSA-PSS, ECDSA, DSA, EdDSA.
  cryptography's ``is_signature_valid`` and ``verify_directly_issued_by`` refuse SHA-1, yet
  IIS signs its requests with SHA-1 and old CAs their certificates: whether SHA-1 is
  acceptable is a separate judgement (chain-trusted), never "does not verify".
- :func:`issuer_walk` follows a path by issuer name and signature (never by file name or
  order), optionally up to trust anchors.
- :func:`name_covers` matches a certificate name (``*.`` wildcard) against a host, IDNA-aware.
- :func:`validity_problem` says why a moment is outside a validity period.
"""

from __future__ import annotations

import enum
import functools
import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

# Hashes no browser or OpenSSL at security level 2 accepts in a signature below the root.
WEAK_SIGNATURE_HASHES = frozenset({"md2", "md5", "sha1"})
MAX_LEVELS = 10  # far above a 4-tier path; bounds the walk over hostile input


class Signature(enum.Enum):
    """The verdict on one signature."""

    VALID = "verifies"
    INVALID = "does not verify"
    UNCHECKABLE = "cannot be checked"


@dataclass(frozen=True)
class SignatureCheck:
    """A signature verdict; ``reason`` says why it could not be checked (else None)."""

    verdict: Signature
    reason: str | None = None

    @property
    def valid(self) -> bool | None:
        """True / False, or None when the signature could not be checked."""
        if self.verdict is Signature.UNCHECKABLE:
            return None
        return self.verdict is Signature.VALID


def signature_check(
    signer: object,
    signature: bytes,
    signed: bytes,
    hash_algorithm: hashes.HashAlgorithm | None,
    parameters: object,
) -> SignatureCheck:
    """Verify ``signature`` over ``signed`` with the public key ``signer``, whatever the hash.

    ``hash_algorithm`` and ``parameters`` are what cryptography reads from the signature's
    AlgorithmIdentifier (``signature_hash_algorithm``, ``signature_algorithm_parameters``).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _verify(signer, signature, signed, hash_algorithm, parameters)
    except InvalidSignature:
        return SignatureCheck(Signature.INVALID)
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        return SignatureCheck(Signature.UNCHECKABLE, _short(exc))
    return SignatureCheck(Signature.VALID)


def _verify(
    key: object, signature: bytes, signed: bytes, hashing: object, parameters: object
) -> None:
    if isinstance(key, rsa.RSAPublicKey) and isinstance(hashing, hashes.HashAlgorithm):
        pad = parameters if isinstance(parameters, padding.PSS) else padding.PKCS1v15()
        key.verify(signature, signed, pad, hashing)
    elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(hashing, hashes.HashAlgorithm):
        key.verify(signature, signed, ec.ECDSA(hashing))
    elif isinstance(key, dsa.DSAPublicKey) and isinstance(hashing, hashes.HashAlgorithm):
        key.verify(signature, signed, hashing)
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        key.verify(signature, signed)
    else:
        raise UnsupportedAlgorithm(f"no verifier for a {type(key).__name__} key with {hashing}")


def _short(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def public_key_of(cert: x509.Certificate) -> object | None:
    """The certificate's public key, or None when cryptography does not support its type."""
    try:
        return cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        return None


def hash_of(cert: x509.Certificate | x509.CertificateSigningRequest) -> hashes.HashAlgorithm | None:
    """The hash the signature names, or None when cryptography does not know the algorithm."""
    try:
        return cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None


@functools.lru_cache(maxsize=4096)  # a fleet's intermediates are checked once, not per server
def cert_signature(child: x509.Certificate, issuer: x509.Certificate) -> SignatureCheck:
    """Whether ``issuer``'s key verifies ``child``'s signature, whatever its hash
    (certificates hash and compare by their DER: the same pair is the same answer)."""
    key = public_key_of(issuer)
    if key is None:
        return SignatureCheck(Signature.UNCHECKABLE, "the issuer's key type is not supported")
    hashing = hash_of(child)
    if hashing is None and not isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        oid = child.signature_algorithm_oid.dotted_string
        return SignatureCheck(Signature.UNCHECKABLE, f"signature algorithm {oid} is not supported")
    return signature_check(
        key,
        child.signature,
        child.tbs_certificate_bytes,
        hashing,
        child.signature_algorithm_parameters,
    )


def signature_hash_name(cert: x509.Certificate | x509.CertificateSigningRequest) -> str | None:
    """``sha1``, ``sha256``, ... for the signature's hash; None for EdDSA or unknown."""
    hashing = hash_of(cert)
    return hashing.name if hashing is not None else None


# --- the issuer walk ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """One step of a walk: ``child`` and the certificate that issued it (None: not found)."""

    child: x509.Certificate
    issuer: x509.Certificate | None
    signature: SignatureCheck | None


Anchors = Mapping[x509.Name, tuple[x509.Certificate, ...]]


@dataclass(frozen=True)
class Walk:
    """Issuer links followed from a leaf through a pool of certificates.

    ``links`` go up from the leaf, one per certificate that is not self-issued and not an
    anchor; ``anchor`` is the trust anchor reached (None: none); ``unused`` are the pool's
    certificates not on the path.
    """

    leaf: x509.Certificate
    links: tuple[Link, ...]
    anchor: x509.Certificate | None = None
    unused: tuple[x509.Certificate, ...] = field(default=())

    @property
    def path(self) -> tuple[x509.Certificate, ...]:
        """The certificates of the path found, leaf first (anchor excluded)."""
        found = [self.leaf]
        found.extend(link.issuer for link in self.links if link.issuer is not None)
        if self.anchor is not None and found[-1] == self.anchor:
            found.pop()
        return tuple(found)

    @property
    def top(self) -> x509.Certificate:
        """The last certificate of the pool the walk reached."""
        return self.path[-1] if self.path else self.leaf

    @property
    def ends_self_issued(self) -> bool:
        """The walk stops at a self-issued certificate that is not an anchor."""
        return self.anchor is None and self_issued(self.top)


@functools.lru_cache(maxsize=4096)
def self_issued(cert: x509.Certificate) -> bool:
    """Subject and issuer are the same name (a root, or a self-signed leaf)."""
    return cert.subject == cert.issuer


def in_issuer_order(chain: Sequence[x509.Certificate]) -> bool:
    """Each certificate after the first is the issuer (by name) of the one before it: the
    order TLS asks for (RFC 5246 §7.4.2), judged as sslyze's ``received_chain_has_valid_order``."""
    return all(child.issuer == parent.subject for child, parent in itertools.pairwise(chain))


def issuer_walk(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], anchors: Anchors | None = None
) -> Walk:
    """The path from ``leaf`` by issuer name and signature through ``pool``, then ``anchors``.

    At each step a certificate whose subject is the current issuer name is taken, preferring
    one whose key verifies the signature (a CA re-keyed under the same name has two). The
    walk ends at an anchor (or a certificate an anchor issued), a self-issued certificate,
    or where no issuer is found.
    """
    anchors = anchors or {}
    remaining = [c for c in pool if c != leaf]
    links: list[Link] = []
    current = leaf
    while len(links) < MAX_LEVELS:
        anchor = _anchor_for(current, anchors)
        if anchor is not None:
            if anchor != current:
                links.append(Link(current, anchor, cert_signature(current, anchor)))
            return Walk(leaf, tuple(links), anchor, tuple(remaining))
        if self_issued(current):
            break
        link = _next_link(current, remaining)
        links.append(link)
        if link.issuer is None:
            break
        current = link.issuer
        remaining.remove(current)
    return Walk(leaf, tuple(links), None, tuple(remaining))


def _anchor_for(cert: x509.Certificate, anchors: Anchors) -> x509.Certificate | None:
    """The anchor that is ``cert`` or that verifiably issued it."""
    if cert in anchors.get(cert.subject, ()):
        return cert
    for anchor in anchors.get(cert.issuer, ()):
        if cert_signature(cert, anchor).verdict is Signature.VALID:
            return anchor
    return None


def _next_link(child: x509.Certificate, candidates: Sequence[x509.Certificate]) -> Link:
    named = [c for c in candidates if c.subject == child.issuer]
    if not named:
        return Link(child, None, None)
    verdicts = [(c, cert_signature(child, c)) for c in named]
    issuer, check = next(((c, v) for c, v in verdicts if v.verdict is Signature.VALID), verdicts[0])
    return Link(child, issuer, check)


# --- names ---------------------------------------------------------------------------------------


def ace(name: str) -> str:
    """A DNS name in its ASCII (``xn--``) form, lower case, without a trailing dot."""
    name = name.strip().rstrip(".").lower()
    try:
        return ".".join(
            label.encode("idna").decode("ascii") if label != "*" else label
            for label in name.split(".")
        )
    except UnicodeError:
        return name


def name_covers(pattern: str, host: str) -> bool:
    """Whether a certificate name (a left-most ``*.`` wildcard allowed) matches ``host``."""
    pattern, host = ace(pattern), ace(host)
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    label, _, rest = host.partition(".")
    return bool(label) and rest == pattern[2:]


# --- time ----------------------------------------------------------------------------------------


def validity_problem(not_before: datetime, not_after: datetime, now: datetime) -> str | None:
    """Why ``now`` is outside notBefore..notAfter, or None (dates as YYYY-MM-DD)."""
    if now < not_before:
        return f"is not valid yet: valid from {not_before:%Y-%m-%d}"
    if now > not_after:
        return f"expired on {not_after:%Y-%m-%d}"
    return None
