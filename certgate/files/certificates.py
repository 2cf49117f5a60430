"""Certificates and public keys -> facts, whatever cryptography can or cannot read of them.

A part cryptography refuses (an unknown key type, an extension that is not strict DER) is
read with :mod:`certgate.files.lenient` or named as unreadable, never the whole file lost.
A file that cannot be decoded at all raises :class:`ArtifactError` with one line that says
what it holds; no file content is ever echoed.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from dataclasses import replace
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from certgate import x509 as core
from certgate.errors import ArtifactError
from certgate.files import der, lenient
from certgate.files.facts import (
    CertificateFacts,
    KeyAlgorithm,
    KeyFacts,
    NameAttribute,
    SubjectFacts,
)
from certgate.files.pem import (
    CERT_LABELS,
    as_text,
    b64decode,
    describe_label,
    find_pems,
    read_bytes,
    shown,
)

_SHORT_NAMES = {NameOID.EMAIL_ADDRESS: "E", NameOID.SERIAL_NUMBER: "serialNumber"}


def key_facts(public_key: object, source: str) -> KeyFacts:
    """Describe a public key: algorithm, size, curve, SPKI fingerprint."""
    spki = public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(spki).hexdigest()
    if isinstance(public_key, rsa.RSAPublicKey):
        return KeyFacts(source, KeyAlgorithm.RSA, public_key.key_size, None, digest)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        curve = public_key.curve
        return KeyFacts(source, KeyAlgorithm.EC, curve.key_size, curve.name, digest)
    if isinstance(public_key, dsa.DSAPublicKey):
        return KeyFacts(source, KeyAlgorithm.DSA, public_key.key_size, None, digest)
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return KeyFacts(source, KeyAlgorithm.ED25519, 256, None, digest)
    if isinstance(public_key, ed448.Ed448PublicKey):
        return KeyFacts(source, KeyAlgorithm.ED448, 456, None, digest)
    return KeyFacts(source, KeyAlgorithm.OTHER, 0, None, digest)


def spki_key_facts(spki: bytes, source: str) -> KeyFacts:
    """Facts of a SubjectPublicKeyInfo cryptography cannot load: its type or curve by OID."""
    digest = hashlib.sha256(spki).hexdigest()
    try:
        found = lenient.spki_algorithm(spki)
    except der.DerError as exc:
        return KeyFacts(source, KeyAlgorithm.OTHER, 0, None, digest, f"(unreadable: {exc})")
    if found.curve is not None:
        curve = lenient.named(found.curve)
        return KeyFacts(source, KeyAlgorithm.EC, 0, curve, digest, curve)
    return KeyFacts(source, KeyAlgorithm.OTHER, 0, None, digest, lenient.named(found.oid))


def certificate_key_facts(cert: x509.Certificate, source: str) -> KeyFacts:
    """The certificate's public key, whether or not cryptography supports its type."""
    key = core.public_key_of(cert)
    if key is not None:
        return key_facts(key, source)
    return spki_key_facts(lenient.certificate_spki(cert.tbs_certificate_bytes), source)


def _attribute(attr: x509.NameAttribute[str | bytes]) -> NameAttribute:
    short = _SHORT_NAMES.get(attr.oid) or attr.rfc4514_attribute_name
    value = attr.value if isinstance(attr.value, str) else attr.value.hex()
    return NameAttribute(short, value)


def _dns_names(extensions: x509.Extensions) -> tuple[str, ...]:
    try:
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(san.get_values_for_type(x509.DNSName))


def _ca_flag(extensions: x509.Extensions) -> bool:
    try:
        return extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def extension_parts(cert: x509.Certificate) -> lenient.ExtensionParts:
    """basicConstraints and subjectAltName; read leniently when cryptography refuses them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            extensions = cert.extensions
    except ValueError as exc:
        why = f"cryptography refuses its extensions ({_first_line(exc)})"
        return lenient.certificate_extensions(cert.tbs_certificate_bytes, why)
    return lenient.ExtensionParts(_ca_flag(extensions), None, _dns_names(extensions), None)


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def subject_facts(
    name: x509.Name, source: str, dns_names: tuple[str, ...] | None, san_problem: str | None = None
) -> SubjectFacts:
    """The subject name in order, with the SAN DNS names (None: unreadable, and why)."""
    attributes = tuple(_attribute(a) for rdn in name.rdns for a in rdn)
    return SubjectFacts(source, attributes, dns_names, san_problem)


def load_certificate(path: Path, role: str = "certificate") -> CertificateFacts:
    """Read one certificate, PEM or DER (.cer, .crt, .pem)."""
    data = read_bytes(path)
    return certificate_from_bytes(data, f"{role} {shown(path)}")


def certificate_from_bytes(data: bytes, source: str) -> CertificateFacts:
    """Decode one PEM or DER certificate; ArtifactError names what the bytes hold instead."""
    if data[:1] == b"\x30":
        return certificate_from_der(data, source)
    blocks = find_pems(as_text(data))
    block = next((b for b in blocks if b.label in CERT_LABELS), blocks[0] if blocks else None)
    if block is None:
        raise ArtifactError(f"{source}: neither PEM text nor DER: not a certificate file")
    if block.label not in CERT_LABELS:
        what = describe_label(block.label)
        raise ArtifactError(f"{source}: the file holds {what}, not a certificate")
    try:
        der_bytes = b64decode(block.body)
    except ArtifactError as exc:
        raise ArtifactError(f"{source}: {exc}") from None
    return certificate_from_der(der_bytes, source)


def certificate_from_der(data: bytes, source: str) -> CertificateFacts:
    """Decode one DER certificate; ArtifactError when it is not one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(data)
            return certificate_facts(cert, source)
    except UnsupportedAlgorithm:
        raise ArtifactError(f"{source}: the certificate uses an unsupported algorithm") from None
    except ValueError:
        raise ArtifactError(
            f"{source}: the content does not decode as an X.509 certificate"
        ) from None


def certificate_facts(cert: x509.Certificate, source: str) -> CertificateFacts:
    """Facts of a decoded certificate; a part cryptography refuses is read leniently or
    named as unreadable (SPEC §2.1), never the whole certificate lost.

    A fleet's servers send the same intermediates, and a server's leaf is both sent and
    validated: each certificate is decoded once (:func:`_decoded`), then named by source.
    """
    facts = _decoded(cert)
    return replace(
        facts,
        source=source,
        subject=replace(facts.subject, source=source),
        key=replace(facts.key, source=source),
    )


@functools.lru_cache(maxsize=2048)  # certificates are hashed and compared by their DER
def _decoded(cert: x509.Certificate) -> CertificateFacts:
    """The facts of one certificate, not yet named by where it was found."""
    parts = extension_parts(cert)
    der_bytes = cert.public_bytes(serialization.Encoding.DER)
    oid = cert.signature_algorithm_oid
    return CertificateFacts(
        source="",
        subject=subject_facts(cert.subject, "", parts.dns_names, parts.san_problem),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=certificate_key_facts(cert, ""),
        ca=parts.ca,
        self_issued=cert.subject == cert.issuer,
        sha256=hashlib.sha256(der_bytes).hexdigest().upper(),
        signature_algorithm=getattr(oid, "_name", oid.dotted_string),
        pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        signature_hash=core.signature_hash_name(cert),
        ca_problem=parts.ca_problem,
    )
