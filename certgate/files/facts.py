"""Frozen facts the checks read: plain values, no parsing, no I/O.

Every loader of :mod:`certgate.files` (certificates, requests, keys, bundle) turns a file into
these; every check asserts one idea over one of them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from certgate.errors import UnreadablePart


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
    or the EC field size (0 when the key type or curve is not supported); ``curve`` is set
    for EC keys only (else None); ``spki_sha256`` is the SHA-256 of the
    SubjectPublicKeyInfo, which identifies the key pair. ``unsupported`` names a key type
    or curve cryptography cannot use, with its OID ("GOST R 34.10-2012 256-bit
    (1.2.643.7.1.1.1.1)"); None for a supported key.
    """

    source: str
    algorithm: KeyAlgorithm
    bits: int
    curve: str | None
    spki_sha256: str
    unsupported: str | None = None

    def describe(self) -> str:
        """Human words for the key: ``RSA 1024 bits`` or ``EC secp256r1 (256 bits)``."""
        if self.unsupported is not None:
            kind = "an EC key on the curve" if self.algorithm is KeyAlgorithm.EC else "a key of"
            return f"{kind} {self.unsupported}"
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

    ``attributes`` keeps the order of the name; ``san_dns`` holds the subjectAltName DNS
    entries (empty when there is no such extension; None when the extensions cannot be
    read: :attr:`dns_names` then raises :class:`UnreadablePart`, naming ``san_problem``).
    """

    source: str
    attributes: tuple[NameAttribute, ...]
    san_dns: tuple[str, ...] | None
    san_problem: str | None = None

    @property
    def dns_names(self) -> tuple[str, ...]:
        """The subjectAltName DNS names; UnreadablePart when they cannot be read."""
        if self.san_dns is None:
            raise UnreadablePart(
                f"{self.source}: cannot read its subjectAltName: {self.san_problem}"
            )
        return self.san_dns

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

    Datetimes are UTC-aware. ``ca`` is the basicConstraints cA flag (False when the
    extension is absent, None when it cannot be read: :attr:`is_ca` then raises
    :class:`UnreadablePart` naming ``ca_problem``). ``signature_hash`` is the hash the
    signature names ("sha1", "sha256"; None for EdDSA or an unknown algorithm). ``pem`` is
    the certificate itself (public, safe to show).
    """

    source: str
    subject: SubjectFacts
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    key: KeyFacts
    ca: bool | None
    self_issued: bool
    sha256: str
    signature_algorithm: str
    pem: str
    signature_hash: str | None = None
    ca_problem: str | None = None

    @property
    def is_ca(self) -> bool:
        """The basicConstraints cA flag; UnreadablePart when it cannot be read."""
        if self.ca is None:
            raise UnreadablePart(
                f"{self.source}: cannot read its basicConstraints: {self.ca_problem}"
            )
        return self.ca

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
    decoded at all; ``decode_error`` then says why. ``signature_valid`` is also None when
    the self-signature cannot be checked (an unsupported key or algorithm);
    ``signature_problem`` then says why. ``signature_hash`` is the hash the signature names
    ("sha1" for IIS's SChannel requests). ``notes`` are harmless oddities met while reading
    (attributes out of DER order as IIS writes them, other PEM blocks beside the request).
    """

    source: str
    framing: CsrFraming
    framing_problems: tuple[str, ...]
    subject: SubjectFacts | None
    key: KeyFacts | None
    signature_valid: bool | None
    decode_error: str | None
    signature_hash: str | None = None
    signature_problem: str | None = None
    notes: tuple[str, ...] = ()

    def signature_verifies(self) -> bool:
        """Whether the self-signature verifies; UnreadablePart when it cannot be checked."""
        if self.signature_valid is None:
            why = self.decode_error or self.signature_problem or "unknown"
            raise UnreadablePart(f"{self.source}: cannot check its self-signature: {why}")
        return self.signature_valid

    @property
    def intact_pem(self) -> bool:
        """Framed as the manual asks (PEM, both lines intact) and decodable."""
        return self.framing is CsrFraming.PEM and self.decode_error is None

    def problems(self) -> str:
        """Everything wrong with the framing or decoding, as one phrase."""
        found = [*self.framing_problems, *([self.decode_error] if self.decode_error else [])]
        return "; ".join(found) or "none"


# --- certificate files: cert.zip, chain, private key, PKCS#12 (manual 5.3-5.10) -------------


class BundleRole(enum.Enum):
    """The role a file of cert.zip has by its name (manual 5.3)."""

    ROOT = "root.cer"
    UCA = "uca.cer"
    UCA_1 = "uca_1.cer"
    UCA_2 = "uca_2.cer"
    SERVER = "server.cer"


@dataclass(frozen=True)
class BundleMember:
    """One file inside cert.zip.

    ``role`` is None for a name the manual does not use. ``certificate`` is None when the
    file does not hold exactly one certificate; ``problem`` then says what it holds instead
    (else None). The file's content is never kept.
    """

    name: str
    role: BundleRole | None
    certificate: CertificateFacts | None
    problem: str | None


@dataclass(frozen=True)
class BundleFacts:
    """The CA's cert.zip, read in memory (never extracted).

    ``unsafe_names`` lists members whose name leaves the folder they are unzipped into
    (``../``, absolute paths, drive letters): they are never read.
    """

    source: str
    members: tuple[BundleMember, ...]
    unsafe_names: tuple[str, ...]

    def certificates(self) -> tuple[CertificateFacts, ...]:
        """Every certificate the zip holds, in zip order."""
        return tuple(m.certificate for m in self.members if m.certificate is not None)

    def with_role(self, role: BundleRole) -> tuple[BundleMember, ...]:
        """The members that have ``role`` by their name."""
        return tuple(m for m in self.members if m.role is role)


@dataclass(frozen=True)
class PathLink:
    """One link of a certification path: ``child`` and the certificate that issued it.

    ``issuer`` is None when no file has the child's issuer name: the path is broken there.
    ``signature_valid`` is None when there is no issuer, or when its algorithm cannot be
    checked (``signature_problem`` then says why). Any hash counts: a SHA-1 signature that
    verifies is valid here; whether SHA-1 is acceptable is chain-trusted's judgement.
    """

    child: CertificateFacts
    issuer: CertificateFacts | None
    signature_valid: bool | None
    signature_problem: str | None = None


@dataclass(frozen=True)
class PathFacts:
    """A certification path followed by issuer names and signatures, not by file names.

    ``links`` go from the server certificate up, one per certificate that is not
    self-issued; a self-issued certificate (the root) ends the path. ``unused`` holds the
    files' certificates that are not on the path (a look-alike intermediate lands here).
    """

    source: str
    leaf: CertificateFacts
    links: tuple[PathLink, ...]
    unused: tuple[CertificateFacts, ...]

    @property
    def certificates(self) -> tuple[CertificateFacts, ...]:
        """The path's certificates, server first, as far as the links reach."""
        found = [self.leaf]
        found.extend(link.issuer for link in self.links if link.issuer is not None)
        return tuple(found)

    @property
    def reaches_root(self) -> bool:
        """Whether the path ends at a self-issued certificate."""
        return self.certificates[-1].self_issued


@dataclass(frozen=True)
class ValidityFacts:
    """What validity judges for one source of the server certificate (SPEC §2.1).

    ``certificates`` are the server certificate and its path, server first (for a served
    chain: every certificate sent). ``others`` are certificates the files also hold that are
    not on the path: shown in the evidence, not judged.
    """

    source: str
    certificates: tuple[CertificateFacts, ...]
    others: tuple[CertificateFacts, ...] = ()


class Pairing(enum.Enum):
    """What key-match compares with the target's server certificate."""

    PRIVATE_KEY = "private key"
    CSR = "CSR"
    COPIES = "certificate copies"


@dataclass(frozen=True)
class Fingerprint:
    """What identifies one artifact for key-match: ``sha256`` is the SPKI SHA-256 of a key or
    CSR, or the SHA-256 of a certificate; ``describes`` is human words for it."""

    source: str
    sha256: str
    describes: str


@dataclass(frozen=True)
class PairingFacts:
    """The target's server certificate and what must belong with it (manual 5.7.1.1, 6.4).

    ``certificate`` comes from ``certificate``, else the bundle's server.cer, else the PFX.
    ``expected`` is its SPKI fingerprint (for keys and CSRs) or its own fingerprint (for
    the other copies of the certificate); ``counterparts`` are what is compared with it.
    """

    kind: Pairing
    certificate: CertificateFacts
    expected: Fingerprint
    counterparts: tuple[Fingerprint, ...]

    def strangers(self) -> tuple[Fingerprint, ...]:
        """The counterparts that do not belong with the certificate."""
        return tuple(c for c in self.counterparts if c.sha256 != self.expected.sha256)


@dataclass(frozen=True)
class PfxFacts:
    """An opened PKCS#12 file: what it holds, never the private key itself.

    ``key`` describes the public half of the private key inside (None: no key inside).
    ``key_certificate`` is the certificate whose public key is that key (None: no key, or
    the key belongs to none of the certificates). ``server`` is ``key_certificate``, or
    without one the only non-CA certificate inside (None when there is no such single
    certificate). ``path`` follows the issuer links from ``server`` through the PFX's
    certificates (None when ``server`` is None).
    """

    source: str
    key: KeyFacts | None
    key_certificate: CertificateFacts | None
    server: CertificateFacts | None
    certificates: tuple[CertificateFacts, ...]
    path: PathFacts | None

    def holds(self) -> str:
        """``no certificate``, ``1 certificate``, ``3 certificates``."""
        count = len(self.certificates)
        if count == 0:
            return "no certificate"
        return f"{count} certificate{'s' if count > 1 else ''}"


@dataclass(frozen=True)
class Pkcs12Protection:
    """How one part of a PKCS#12 file is encrypted.

    ``part`` is "encrypted safe" (an encryptedData content: the certificates, as IIS and
    OpenSSL write it), "private key" or "certificates" (certificate bags stored in clear).
    ``algorithm`` names it ("AES-256-CBC with PBKDF2/HMAC-SHA256, 2000 iterations",
    "pbeWithSHAAnd3-KeyTripleDES-CBC, 2048 iterations", "not encrypted"). ``policy_name`` is the
    ``pfx_encryption`` policy value it falls under (aes256, 3des, rc2-40, none, ...) or
    "other".
    """

    part: str
    algorithm: str
    policy_name: str


@dataclass(frozen=True)
class PfxEncryptionFacts:
    """The protection of a PKCS#12 file, read from its structure (no password needed).

    ``mac_algorithm`` is the integrity MAC ("HMAC-SHA256"), None when there is no MAC;
    ``mac_iterations`` is then None too. ``opens_without_password`` is True when the file
    opens with no password or an empty one.
    """

    source: str
    mac_algorithm: str | None
    mac_iterations: int | None
    parts: tuple[Pkcs12Protection, ...]
    opens_without_password: bool

    def describe(self) -> str:
        """``MAC HMAC-SHA256 (2048 iterations); encrypted safe: AES-256-CBC ...; ...``."""
        mac = (
            f"MAC {self.mac_algorithm} ({self.mac_iterations} iterations)"
            if self.mac_algorithm
            else "no MAC"
        )
        return "; ".join([mac, *(f"{p.part}: {p.algorithm}" for p in self.parts)])
