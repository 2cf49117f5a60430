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

from certgate import x509 as core
from certgate.errors import ArtifactError
from certgate.files import der, lenient
from certgate.files.facts import (
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
_CERT_LABELS = ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE")
# A PEM boundary as users mangle it: any number of dashes, spaces, glued Base64.
_LOOSE_BEGIN = re.compile(r"-+ *BEGIN ([A-Z0-9 #]+?) *-+")
_LOOSE_END = re.compile(r"-+ *END ([A-Z0-9 #]+?) *-+")
_SHORT_NAMES = {NameOID.EMAIL_ADDRESS: "E", NameOID.SERIAL_NUMBER: "serialNumber"}


@dataclass(frozen=True)
class _PemBlock:
    """One PEM block found in text, however mangled its boundaries."""

    label: str
    body: str
    header_exact: bool
    header_own_line: bool
    footer_label: str | None
    footer_exact: bool
    end: int


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


def as_text(data: bytes) -> str:
    """File bytes as text: Notepad's UTF-8 BOM and its 'Unicode' (UTF-16) saves included."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    return data.decode("ascii", errors="replace")


# --- PEM text -------------------------------------------------------------------------------


def _find_pems(text: str) -> list[_PemBlock]:
    """Every PEM block in ``text``, in order (a certreq dump holds several)."""
    blocks: list[_PemBlock] = []
    pos = 0
    while (block := _find_pem(text, pos)) is not None:
        blocks.append(block)
        pos = block.end
    return blocks


def _find_pem(text: str, pos: int = 0) -> _PemBlock | None:
    """The first PEM block in ``text`` from ``pos``, tolerating the paste errors users make."""
    begin = _LOOSE_BEGIN.search(text, pos)
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
        end=end.end() if end else len(text),
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
        der_problem = ("the file is binary DER; the manual's request file is Base64 text",)
        return _csr_from_der(data, source, CsrFraming.DER, der_problem)
    blocks = _find_pems(as_text(data))
    if not blocks:
        return _undecodable(source, CsrFraming.NOT_A_CSR, "the file holds no PEM BEGIN line")
    requests = [b for b in blocks if b.label in _CSR_LABELS]
    if not requests:
        what = _describe_label(blocks[0].label)
        return _undecodable(source, CsrFraming.NOT_A_CSR, f"the file holds {what}, not a CSR")
    block = requests[0]
    problems = _framing_problems(block)
    if len(requests) > 1:  # the CA would not know which one to sign
        problems += (f"the file holds {len(requests)} requests; submit exactly one",)
    notes = tuple(
        f"{_describe_label(b.label)} beside the request was left aside"
        for b in blocks
        if b.label not in _CSR_LABELS
    )
    framing = CsrFraming.MANGLED_PEM if problems else CsrFraming.PEM
    try:
        der_bytes = _b64decode(block.body)
    except ArtifactError as exc:
        return _undecodable(source, framing, str(exc), problems)
    return _csr_from_der(der_bytes, source, framing, problems, notes)


def _undecodable(
    source: str, framing: CsrFraming, reason: str, problems: tuple[str, ...] = ()
) -> CsrFacts:
    return CsrFacts(source, framing, problems, None, None, None, reason)


def _csr_from_der(
    data: bytes,
    source: str,
    framing: CsrFraming,
    problems: tuple[str, ...],
    notes: tuple[str, ...] = (),
) -> CsrFacts:
    """Facts of a DER request; one that cryptography refuses is re-read without its odd part."""
    try:
        parts = lenient.request_parts(data)
        csr, repair = _load_request(data, parts)
    except (ValueError, der.DerError):
        return _undecodable(source, framing, "the content is not a PKCS#10 request", problems)
    check = _request_signature(csr, parts.info.encoding)
    return CsrFacts(
        source=source,
        framing=framing,
        framing_problems=problems,
        subject=_request_subject(csr, source),
        key=_request_key(csr, parts, source),
        signature_valid=check.valid,
        decode_error=None,
        signature_hash=core.signature_hash_name(csr),
        signature_problem=check.reason,
        notes=(*notes, *([repair] if repair else [])),
    )


def _load_request(
    data: bytes, parts: lenient.RequestParts
) -> tuple[x509.CertificateSigningRequest, str | None]:
    """The request as cryptography reads it, re-encoded first when it refuses the original."""
    attempts = [(data, None), *lenient.rebuilt_requests(parts)]
    for encoding, note in attempts:
        try:
            with warnings.catch_warnings():  # e.g. "Country name must be a 2 character code"
                warnings.simplefilter("ignore")
                return x509.load_der_x509_csr(encoding), note
        except ValueError:
            continue
    raise ValueError("not a PKCS#10 request")


def _request_subject(csr: x509.CertificateSigningRequest, source: str) -> SubjectFacts:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names: tuple[str, ...] | None = _dns_names(csr.extensions)
        problem = None
    except ValueError as exc:
        names, problem = None, f"cryptography refuses its extension request ({_first_line(exc)})"
    return subject_facts(csr.subject, source, names, problem)


def _request_key(
    csr: x509.CertificateSigningRequest, parts: lenient.RequestParts, source: str
) -> KeyFacts:
    try:
        return key_facts(csr.public_key(), source)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return spki_key_facts(parts.spki, source)


def _request_signature(csr: x509.CertificateSigningRequest, signed: bytes) -> core.SignatureCheck:
    """The self-signature over the CertificationRequestInfo exactly as written, any hash."""
    try:
        key = csr.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return core.SignatureCheck(
            core.Signature.UNCHECKABLE, "the request's key type is not supported"
        )
    hashing = core.hash_of(csr)
    parameters = csr.signature_algorithm_parameters
    return core.signature_check(key, csr.signature, signed, hashing, parameters)


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
        blocks = [b for b in _find_pems(as_text(data)) if b.label in _CERT_LABELS]
        block = blocks[0] if blocks else _find_pem(as_text(data))
        if block is None:
            raise ArtifactError(f"{source}: neither PEM text nor DER: not a certificate file")
        if block.label not in _CERT_LABELS:
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
    """Facts of a decoded certificate; a part cryptography refuses is read leniently or
    named as unreadable (SPEC §2.1), never the whole certificate lost."""
    parts = extension_parts(cert)
    der_bytes = cert.public_bytes(serialization.Encoding.DER)
    oid = cert.signature_algorithm_oid
    return CertificateFacts(
        source=source,
        subject=subject_facts(cert.subject, source, parts.dns_names, parts.san_problem),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=certificate_key_facts(cert, source),
        ca=parts.ca,
        self_issued=cert.subject == cert.issuer,
        sha256=hashlib.sha256(der_bytes).hexdigest().upper(),
        signature_algorithm=getattr(oid, "_name", oid.dotted_string),
        pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        signature_hash=core.signature_hash_name(cert),
        ca_problem=parts.ca_problem,
    )
