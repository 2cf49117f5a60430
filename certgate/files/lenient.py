"""The parts of certificates and requests that cryptography refuses, read with certgate.files.der.

cryptography reads a certificate's extensions all at once and refuses them all when one is
not strict DER (a basicConstraints with its default cA FALSE written out, as some CAs do);
it refuses a request whose attributes are not in DER order (IIS writes them so); it cannot
give the public key of an unknown type (GOST, SM2). openssl reads all of these. certgate
reads the part it needs here, so every verdict that does not need an unreadable part is
still given (SPEC §2.1). Nothing here judges; it only reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from certgate.files import der

T = TypeVar("T")

_BASIC_CONSTRAINTS = "2.5.29.19"
_SUBJECT_ALT_NAME = "2.5.29.17"
_DNS_NAME = 0x82  # GeneralName dNSName [2] IMPLICIT IA5String

# Key types and curves cryptography cannot use, named for messages (by OID).
KNOWN_OIDS = {
    "1.2.643.2.2.19": "GOST R 34.10-2001",
    "1.2.643.7.1.1.1.1": "GOST R 34.10-2012 256-bit",
    "1.2.643.7.1.1.1.2": "GOST R 34.10-2012 512-bit",
    "1.2.156.10197.1.301": "SM2",
    "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.3.101.110": "X25519",
    "1.3.101.111": "X448",
    "1.2.840.10045.2.1": "EC",
}
EC_PUBLIC_KEY = "1.2.840.10045.2.1"


def named(oid: str) -> str:
    """``GOST R 34.10-2012 256-bit (1.2.643.7.1.1.1.1)`` or the bare OID when unknown."""
    return f"{KNOWN_OIDS[oid]} ({oid})" if oid in KNOWN_OIDS else f"OID {oid}"


@dataclass(frozen=True)
class SpkiAlgorithm:
    """The algorithm of a SubjectPublicKeyInfo: its OID and, for EC keys, the curve's OID."""

    oid: str
    curve: str | None


def spki_algorithm(spki: bytes) -> SpkiAlgorithm:
    """What kind of key a SubjectPublicKeyInfo holds (DerError when it is not one)."""
    reader = der.Reader()
    fields = reader.children(der.expect(reader.one(spki), der.SEQUENCE, "SubjectPublicKeyInfo"))
    if len(fields) != 2:
        raise der.DerError("a SubjectPublicKeyInfo is malformed")
    oid, params = der.algorithm(fields[0], reader)
    curve = der.oid_text(params.content) if params is not None and params.tag == der.OID else None
    return SpkiAlgorithm(oid, curve if oid == EC_PUBLIC_KEY else None)


def _tbs_fields(tbs: bytes) -> list[der.Tlv]:
    """The fields of a TBSCertificate, with the optional [0] version dropped."""
    reader = der.Reader()
    fields = reader.children(der.expect(reader.one(tbs), der.SEQUENCE, "TBSCertificate"))
    return fields[1:] if fields and fields[0].tag == der.EXPLICIT_0 else fields


def certificate_spki(tbs: bytes) -> bytes:
    """The SubjectPublicKeyInfo of a certificate, from its TBSCertificate bytes."""
    fields = _tbs_fields(tbs)  # serial, signature, issuer, validity, subject, spki, ...
    if len(fields) < 6:
        raise der.DerError("a TBSCertificate is malformed")
    return fields[5].encoding


# --- extensions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtensionParts:
    """What certgate needs of a certificate's extensions, read leniently.

    ``ca`` is the basicConstraints cA flag (False when absent); ``dns_names`` the
    subjectAltName DNS names (empty when absent). Either is None when even a lenient read
    fails; ``ca_problem`` / ``san_problem`` then say why.
    """

    ca: bool | None
    ca_problem: str | None
    dns_names: tuple[str, ...] | None
    san_problem: str | None


def certificate_extensions(tbs: bytes, why: str) -> ExtensionParts:
    """basicConstraints and subjectAltName of a certificate whose extensions cryptography
    refused for ``why``."""
    try:
        values = _extension_values(tbs)
    except der.DerError as exc:
        problem = f"{why}; read leniently: {exc}"
        return ExtensionParts(None, problem, None, problem)
    ca, ca_problem = _read(values, _BASIC_CONSTRAINTS, _ca_flag, False, why)
    no_names: tuple[str, ...] = ()
    names, san_problem = _read(values, _SUBJECT_ALT_NAME, _dns_names, no_names, why)
    return ExtensionParts(ca, ca_problem, names, san_problem)


def _read(
    values: dict[str, bytes], oid: str, parse: Callable[[bytes], T], absent: T, why: str
) -> tuple[T | None, str | None]:
    if oid not in values:
        return absent, None
    try:
        return parse(values[oid]), None
    except der.DerError as exc:
        return None, f"{why}; read leniently: {exc}"


def _extension_values(tbs: bytes) -> dict[str, bytes]:
    """Extension OID -> the extnValue octets, from the [3] EXPLICIT extensions field."""
    reader = der.Reader()
    explicit = [f for f in _tbs_fields(tbs) if f.tag == der.EXPLICIT_3]
    if not explicit:
        return {}
    inside = reader.children(explicit[0])
    if len(inside) != 1:
        raise der.DerError("the extensions field is malformed")
    extensions = inside[0]
    values: dict[str, bytes] = {}
    for extension in reader.children(der.expect(extensions, der.SEQUENCE, "Extensions")):
        fields = reader.children(der.expect(extension, der.SEQUENCE, "an Extension"))
        if len(fields) < 2 or fields[0].tag != der.OID or fields[-1].tag != der.OCTETS:
            raise der.DerError("an Extension is malformed")
        values[der.oid_text(fields[0].content)] = fields[-1].content
    return values


def _ca_flag(value: bytes) -> bool:
    """BasicConstraints' cA, read as BER: an explicit FALSE (a DER error) is still FALSE."""
    reader = der.Reader()
    fields = reader.children(der.expect(reader.one(value), der.SEQUENCE, "BasicConstraints"))
    if fields and fields[0].tag == der.BOOLEAN:
        if len(fields[0].content) != 1:
            raise der.DerError("the cA BOOLEAN of basicConstraints is malformed")
        return fields[0].content != b"\x00"
    return False


def _dns_names(value: bytes) -> tuple[str, ...]:
    """The dNSName entries of a subjectAltName."""
    reader = der.Reader()
    names = reader.children(der.expect(reader.one(value), der.SEQUENCE, "subjectAltName"))
    try:
        return tuple(n.content.decode("ascii") for n in names if n.tag == _DNS_NAME)
    except UnicodeDecodeError:
        raise der.DerError("a dNSName of subjectAltName is not ASCII") from None


# --- requests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestParts:
    """A PKCS#10 request taken apart: the signed CertificationRequestInfo as written, its
    fields (version, subject, SubjectPublicKeyInfo, [0] attributes), the signature
    algorithm and the signature."""

    info: der.Tlv
    fields: tuple[der.Tlv, ...]
    signature_algorithm: der.Tlv
    signature: der.Tlv

    @property
    def spki(self) -> bytes:
        """The request's SubjectPublicKeyInfo."""
        return self.fields[2].encoding


def request_parts(data: bytes) -> RequestParts:
    """Take a DER request apart (DerError when it is not shaped like PKCS#10)."""
    reader = der.Reader()
    outer = reader.children(der.expect(reader.one(data), der.SEQUENCE, "CertificationRequest"))
    if len(outer) != 3:
        raise der.DerError("a CertificationRequest has three fields")
    info = der.expect(outer[0], der.SEQUENCE, "CertificationRequestInfo")
    fields = tuple(reader.children(info))
    if len(fields) != 4 or fields[3].tag != der.EXPLICIT_0:
        raise der.DerError("a CertificationRequestInfo is malformed")
    return RequestParts(info, fields, outer[1], outer[2])


def rebuilt_requests(parts: RequestParts) -> list[tuple[bytes, str]]:
    """Re-encodings of a request cryptography refused, each with what was changed: its
    attributes in DER order, then without attributes. The signature is not re-made: it is
    checked over the original CertificationRequestInfo."""
    attributes = der.Reader().children(parts.fields[3])
    sorted_set = der.der_set([a.encoding for a in attributes], der.EXPLICIT_0)
    return [
        (_request(parts, sorted_set), "its attributes are not in DER order (as IIS writes them)"),
        (_request(parts, der.encode(der.EXPLICIT_0, b"")), "its attributes cannot be read"),
    ]


def _request(parts: RequestParts, attributes: bytes) -> bytes:
    head = b"".join(f.encoding for f in parts.fields[:3])
    info = der.encode(der.SEQUENCE, head + attributes)
    tail = parts.signature_algorithm.encoding + parts.signature.encoding
    return der.encode(der.SEQUENCE, info + tail)
