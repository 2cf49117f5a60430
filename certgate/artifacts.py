"""CSR and certificate files -> facts. The only module that loads files with cryptography.

A file that cannot be read or decoded raises :class:`ArtifactError` with one line that says
what the file holds and what was expected; it never echoes file content (a file given by
mistake may hold a private key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from certgate.facts import (
    CertificateFacts,
    CsrFacts,
    CsrFraming,
    KeyAlgorithm,
    KeyFacts,
    NameAttribute,
    SubjectFacts,
)

MAX_FILE_BYTES = 1024 * 1024  # a certificate or CSR is a few KiB; anything larger is wrong

_CSR_LABELS = ("NEW CERTIFICATE REQUEST", "CERTIFICATE REQUEST")
# A PEM boundary as users mangle it: any number of dashes, spaces, glued Base64.
_LOOSE_BEGIN = re.compile(r"-+ *BEGIN ([A-Z0-9 #]+?) *-+")
_LOOSE_END = re.compile(r"-+ *END ([A-Z0-9 #]+?) *-+")
_SHORT_NAMES = {NameOID.EMAIL_ADDRESS: "E", NameOID.SERIAL_NUMBER: "serialNumber"}


class ArtifactError(Exception):
    """A file could not be audited: unreadable, not what was expected, or undecodable."""


@dataclass(frozen=True)
class _PemBlock:
    """One PEM block found in text, however mangled its boundaries."""

    label: str
    body: str
    header_exact: bool
    header_own_line: bool
    footer_label: str | None
    footer_exact: bool


def shown(path: Path) -> str:
    """A path as messages print it: relative to the working directory when inside it."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """Read a whole file of at most ``limit`` bytes, or raise ArtifactError."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise ArtifactError(f"{shown(path)}: no such file") from None
    except OSError as exc:
        raise ArtifactError(f"{shown(path)}: cannot read: {exc.strerror}") from None
    if len(data) > limit:
        raise ArtifactError(
            f"{shown(path)}: larger than {limit // 1024} KiB, not a certificate file"
        )
    if not data.strip():
        raise ArtifactError(f"{shown(path)}: the file is empty")
    return data


# --- keys and names ----------------------------------------------------------------------


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


def subject_facts(name: x509.Name, extensions: x509.Extensions, source: str) -> SubjectFacts:
    """The subject name in order, with the SAN DNS names."""
    attributes = tuple(_attribute(a) for rdn in name.rdns for a in rdn)
    return SubjectFacts(source, attributes, _dns_names(extensions))


def as_text(data: bytes) -> str:
    """File bytes as text: Notepad's UTF-8 BOM and its 'Unicode' (UTF-16) saves included."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    return data.decode("ascii", errors="replace")


# --- PEM text -------------------------------------------------------------------------------


def _find_pem(text: str) -> _PemBlock | None:
    """The first PEM block in ``text``, tolerating the paste errors users make."""
    begin = _LOOSE_BEGIN.search(text)
    if begin is None:
        return None
    label = begin.group(1).strip()
    end = _LOOSE_END.search(text, begin.end())
    body_end = end.start() if end else len(text)
    line_start = text.rfind("\n", 0, begin.start()) + 1
    line_end = text.find("\n", begin.end())
    line_end = len(text) if line_end < 0 else line_end
    own_line = (
        not text[line_start : begin.start()].strip() and not text[begin.end() : line_end].strip()
    )
    return _PemBlock(
        label=label,
        body=text[begin.end() : body_end],
        header_exact=begin.group(0) == f"-----BEGIN {label}-----",
        header_own_line=own_line,
        footer_label=end.group(1).strip() if end else None,
        footer_exact=end is not None and end.group(0) == f"-----END {end.group(1).strip()}-----",
    )


def _b64decode(body: str) -> bytes:
    compact = "".join(body.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ArtifactError("the Base64 text is truncated or holds stray characters") from None


def _framing_problems(block: _PemBlock) -> tuple[str, ...]:
    problems = []
    if not block.header_exact:
        problems.append("the BEGIN line does not have exactly five dashes on each side")
    if not block.header_own_line:
        problems.append("the BEGIN line is not on a line of its own (Base64 glued to it)")
    if block.footer_label is None:
        problems.append("the END line is missing (the request was cut short)")
    else:
        if block.footer_label != block.label:
            problems.append(
                f"the END line says {block.footer_label!r}, the BEGIN line {block.label!r}"
            )
        if not block.footer_exact:
            problems.append("the END line does not have exactly five dashes on each side")
    return tuple(problems)


def _describe_label(label: str) -> str:
    if "PRIVATE KEY" in label:
        return "a private key"
    if label in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"):
        return "a certificate"
    if label in _CSR_LABELS:
        return "a certificate request (CSR)"
    if label in ("PKCS7", "CMS"):
        return "a PKCS#7 bundle"
    return f"a PEM {label!r} block"


# --- CSR ------------------------------------------------------------------------------------


def load_csr(path: Path) -> CsrFacts:
    """Read a CSR file. Raises ArtifactError only when the file cannot be read at all."""
    data = read_bytes(path)
    source = f"CSR {shown(path)}"
    if data[:1] == b"\x30":
        return _csr_from_der(
            data,
            source,
            CsrFraming.DER,
            ("the file is binary DER; the manual's request file is Base64 text",),
        )
    text = as_text(data)
    block = _find_pem(text)
    if block is None:
        return _undecodable(source, CsrFraming.NOT_A_CSR, "the file holds no PEM BEGIN line")
    if block.label not in _CSR_LABELS:
        what = _describe_label(block.label)
        return _undecodable(source, CsrFraming.NOT_A_CSR, f"the file holds {what}, not a CSR")
    problems = _framing_problems(block)
    count = len(_LOOSE_BEGIN.findall(text))
    if count > 1:  # only the first would be judged, and the CA would not know which one
        problems += (f"the file holds {count} PEM blocks; submit exactly one request",)
    framing = CsrFraming.MANGLED_PEM if problems else CsrFraming.PEM
    try:
        der = _b64decode(block.body)
    except ArtifactError as exc:
        return _undecodable(source, framing, str(exc), problems)
    return _csr_from_der(der, source, framing, problems)


def _undecodable(
    source: str, framing: CsrFraming, reason: str, problems: tuple[str, ...] = ()
) -> CsrFacts:
    return CsrFacts(source, framing, problems, None, None, None, reason)


def _csr_from_der(
    der: bytes, source: str, framing: CsrFraming, problems: tuple[str, ...]
) -> CsrFacts:
    try:
        with warnings.catch_warnings():  # e.g. "Country name must be a 2 character code"
            warnings.simplefilter("ignore")
            csr = x509.load_der_x509_csr(der)
            subject = subject_facts(csr.subject, csr.extensions, source)
    except ValueError:
        return _undecodable(source, framing, "the content is not a PKCS#10 request", problems)
    try:
        key = key_facts(csr.public_key(), source)
        signature_valid = csr.is_signature_valid
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return CsrFacts(
            source,
            framing,
            problems,
            subject,
            None,
            None,
            "the request's public key is not supported",
        )
    return CsrFacts(source, framing, problems, subject, key, signature_valid, None)


# --- certificates ---------------------------------------------------------------------------


def load_certificate(path: Path, role: str = "certificate") -> CertificateFacts:
    """Read one certificate, PEM or DER (.cer, .crt, .pem)."""
    data = read_bytes(path)
    return certificate_from_bytes(data, f"{role} {shown(path)}")


def certificate_from_bytes(data: bytes, source: str) -> CertificateFacts:
    """Decode one PEM or DER certificate; ArtifactError names what the bytes hold instead."""
    if data[:1] == b"\x30":
        der = data
    else:
        block = _find_pem(as_text(data))
        if block is None:
            raise ArtifactError(f"{source}: neither PEM text nor DER: not a certificate file")
        if block.label not in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"):
            what = _describe_label(block.label)
            raise ArtifactError(f"{source}: the file holds {what}, not a certificate")
        try:
            der = _b64decode(block.body)
        except ArtifactError as exc:
            raise ArtifactError(f"{source}: {exc}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(der)
            return certificate_facts(cert, source)
    except UnsupportedAlgorithm:
        raise ArtifactError(f"{source}: the certificate uses an unsupported algorithm") from None
    except ValueError:
        raise ArtifactError(
            f"{source}: the content does not decode as an X.509 certificate"
        ) from None


def certificate_facts(cert: x509.Certificate, source: str) -> CertificateFacts:
    """Facts of a decoded certificate."""
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        ca = False
    der = cert.public_bytes(serialization.Encoding.DER)
    oid = cert.signature_algorithm_oid
    return CertificateFacts(
        source=source,
        subject=subject_facts(cert.subject, cert.extensions, source),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=key_facts(cert.public_key(), source),
        is_ca=ca,
        self_issued=cert.subject == cert.issuer,
        sha256=hashlib.sha256(der).hexdigest().upper(),
        signature_algorithm=getattr(oid, "_name", oid.dotted_string),
        pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    )
