"""Frozen facts the checks read: plain values, no parsing, no I/O.

Every loader in :mod:`certgate.artifacts` turns a file into these; every check asserts one
idea over one of them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class KeyAlgorithm(enum.Enum):
    """The public-key algorithm of a key, a CSR or a certificate."""

    RSA = "RSA"
    EC = "EC"
    DSA = "DSA"
    ED25519 = "Ed25519"
    ED448 = "Ed448"
    OTHER = "other"


@dataclass(frozen=True)
class KeyFacts:
    """A public key, as found in a CSR, a certificate, a private key or a PFX.

    ``source`` names where it was found ("CSR certs/shop.csr"); ``bits`` is the RSA modulus
    or the EC field size; ``curve`` is set for EC keys only (else None); ``spki_sha256`` is
    the SHA-256 of the SubjectPublicKeyInfo, which identifies the key pair.
    """

    source: str
    algorithm: KeyAlgorithm
    bits: int
    curve: str | None
    spki_sha256: str

    def describe(self) -> str:
        """Human words for the key: ``RSA 1024 bits`` or ``EC secp256r1 (256 bits)``."""
        if self.algorithm is KeyAlgorithm.EC:
            return f"EC {self.curve} ({self.bits} bits)"
        return f"{self.algorithm.value} {self.bits} bits"


@dataclass(frozen=True)
class NameAttribute:
    """One attribute of a distinguished name: ``short`` is CN, O, OU, L, ST, C, ..."""

    short: str
    value: str


@dataclass(frozen=True)
class SubjectFacts:
    """The subject of a CSR or a certificate.

    ``attributes`` keeps the order of the name; ``dns_names`` holds the subjectAltName DNS
    entries (empty when there is no such extension).
    """

    source: str
    attributes: tuple[NameAttribute, ...]
    dns_names: tuple[str, ...]

    def values(self, short: str) -> tuple[str, ...]:
        """Every value of the attribute ``short`` (CN, O, ...), in name order."""
        return tuple(a.value for a in self.attributes if a.short == short)

    @property
    def common_name(self) -> str | None:
        """The first CN, or None when the subject has none."""
        names = self.values("CN")
        return names[0] if names else None

    def rfc4514(self) -> str:
        """The subject written as ``CN=www.example.com.tw, O=TWCA, C=TW``."""
        return ", ".join(f"{a.short}={a.value}" for a in self.attributes) or "(empty)"


@dataclass(frozen=True)
class CertificateFacts:
    """One X.509 certificate.

    Datetimes are UTC-aware. ``is_ca`` is the basicConstraints cA flag (False when the
    extension is absent). ``pem`` is the certificate itself (public, safe to show).
    """

    source: str
    subject: SubjectFacts
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    key: KeyFacts
    is_ca: bool
    self_issued: bool
    sha256: str
    signature_algorithm: str
    pem: str

    def label(self) -> str:
        """Short identification for messages: subject, serial and fingerprint prefix."""
        return f"{self.subject.rfc4514()} (serial {self.serial}, SHA-256 {self.sha256[:16]}...)"


class CsrFraming(enum.Enum):
    """How the CSR file is framed: only ``PEM`` is what the manual asks for."""

    PEM = "PEM"
    MANGLED_PEM = "mangled PEM"
    DER = "DER"
    NOT_A_CSR = "not a CSR"


@dataclass(frozen=True)
class CsrFacts:
    """A certificate signing request file.

    ``framing_problems`` lists what is wrong with the PEM text (empty when it is intact).
    ``subject``, ``key`` and ``signature_valid`` are None when the request could not be
    decoded at all; ``decode_error`` then says why.
    """

    source: str
    framing: CsrFraming
    framing_problems: tuple[str, ...]
    subject: SubjectFacts | None
    key: KeyFacts | None
    signature_valid: bool | None
    decode_error: str | None

    @property
    def intact_pem(self) -> bool:
        """Framed as the manual asks (PEM, both lines intact) and decodable."""
        return self.framing is CsrFraming.PEM and self.decode_error is None

    def problems(self) -> str:
        """Everything wrong with the framing or decoding, as one phrase."""
        found = [*self.framing_problems, *([self.decode_error] if self.decode_error else [])]
        return "; ".join(found) or "none"
