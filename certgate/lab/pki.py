"""Generate a TWCA-like PKI at run time: roots, intermediates, server certificates, CSRs.

Everything here is for the lab and the self-tests: good material and material broken the
way users break it. Nothing is ever committed; keys are made fresh on each build.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from certgate.files import der

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_OIDS = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
}


def now() -> datetime:
    """The lab's clock, UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


@functools.cache
def pooled_key(kind: str = "rsa", bits: int = 2048, slot: int = 0) -> PrivateKey:
    """A key reused across the run (RSA generation is slow); ``slot`` gives distinct keys."""
    return new_key(kind, bits)


def new_key(kind: str = "rsa", bits: int = 2048) -> PrivateKey:
    """A fresh RSA key of ``bits`` bits, or an EC P-256 key for ``kind='ec'``."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def name(**fields: str) -> x509.Name:
    """A subject in IIS's order (C, ST, L, O, OU, CN); values are taken as given, even broken."""
    order = ("C", "ST", "L", "O", "OU", "CN")
    with warnings.catch_warnings():  # C=TWN is broken on purpose: no "must be 2 characters"
        warnings.simplefilter("ignore")
        attributes = [
            x509.NameAttribute(_OIDS[k], fields[k], _validate=False) for k in order if k in fields
        ]
    return x509.Name(attributes)


@dataclass(frozen=True)
class Issued:
    """A certificate with the private key of its subject."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> bytes:
        """The certificate as PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: object,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def make_root(
    cn: str, *, key: PrivateKey | None = None, years: int = 20, sha1: bool = False
) -> Issued:
    """A self-signed root CA (``sha1``: self-signed with SHA-1, as old roots are)."""
    key = key or new_key()
    subject = name(C="TW", O="certgate Lab", OU="Root CA", CN=cn)
    start = now() - timedelta(days=365 * 2)
    builder = (
        _builder(subject, subject, key.public_key(), start, start + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    digest: hashes.HashAlgorithm = hashes.SHA1() if sha1 else hashes.SHA256()
    return Issued(builder.sign(key, digest), key)  # type: ignore[arg-type]


def make_intermediate(
    cn: str,
    issuer: Issued,
    *,
    key: PrivateKey | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Issued:
    """An intermediate CA signed by ``issuer``."""
    key = key or new_key()
    start = not_before or now() - timedelta(days=365)
    builder = (
        _builder(
            name(C="TW", O="certgate Lab", CN=cn),
            issuer.cert.subject,
            key.public_key(),
            start,
            not_after or now() + timedelta(days=365 * 8),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    return Issued(builder.sign(issuer.key, hashes.SHA256()), key)


def make_leaf(
    subject: x509.Name,
    issuer: Issued,
    *,
    key: PrivateKey,
    dns_names: Sequence[str] = (),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    usages: Sequence[x509.ObjectIdentifier] = (x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,),
    ocsp_url: str | None = None,
    must_staple: bool = False,
) -> Issued:
    """A server certificate for ``subject`` (SANs from ``dns_names``), signed by ``issuer``;
    ``usages`` is its Extended Key Usage (the hardening lab's clientAuth-only leaf);
    ``ocsp_url`` names an OCSP responder (AIA), ``must_staple`` adds the TLS Feature
    status_request (RFC 7633)."""
    start = not_before or now() - timedelta(days=1)
    builder = (
        _builder(
            subject,
            issuer.cert.subject,
            key.public_key(),
            start,
            not_after or start + timedelta(days=397),
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    if dns_names:
        sans = x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names])
        builder = builder.add_extension(sans, critical=False)
    if ocsp_url is not None:
        builder = builder.add_extension(ocsp_access(ocsp_url), critical=False)
    if must_staple:
        builder = builder.add_extension(must_staple_feature(), critical=False)
    return Issued(builder.sign(issuer.key, hashes.SHA256()), key)


def ocsp_access(url: str) -> x509.AuthorityInformationAccess:
    """Authority Information Access naming ``url`` as the OCSP responder (RFC 5280 4.2.2.1)."""
    method = x509.oid.AuthorityInformationAccessOID.OCSP
    return x509.AuthorityInformationAccess(
        [x509.AccessDescription(method, x509.UniformResourceIdentifier(url))]
    )


def must_staple_feature() -> x509.TLSFeature:
    """The TLS Feature extension with status_request: OCSP must-staple (RFC 7633)."""
    return x509.TLSFeature([x509.TLSFeatureType.status_request])


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _aki(issuer: Issued) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())


def make_csr(subject: x509.Name, key: PrivateKey, dns_names: Sequence[str] = ()) -> bytes:
    """A PKCS#10 request signed by ``key``, as DER."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if dns_names:
        sans = x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names])
        builder = builder.add_extension(sans, critical=False)
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)


# What IIS Manager's Create Certificate Request writes (manual 5.1) besides the subject and
# key: the Windows version, the client that made it, and the provider (manual 5.1.5.1), in
# this order -- not DER's -- and a SHA-1 signature (the legacy SChannel provider's).
IIS_OS_VERSION = "10.0.17763.2"
IIS_PROVIDER = "Microsoft RSA SChannel Cryptographic Provider"
_SIGNATURE_OIDS = {"rsa": "1.2.840.113549.1.1.5", "ec": "1.2.840.10045.4.1"}  # ...with SHA-1


def iis_csr(subject: x509.Name, key: PrivateKey, dns_names: Sequence[str] = ()) -> bytes:
    """A request as IIS 10 writes it with the SChannel provider, as DER: the Microsoft
    attributes (OS version, client info, enrollment CSP) out of DER order, then the
    extension request, signed with SHA-1."""

    def attribute(oid: str, value: bytes) -> bytes:
        return der.encode(der.SEQUENCE, der.encode_oid(oid) + der.encode(der.SET, value))

    client = b"".join(
        [der.encode(der.INTEGER, b"\x05")]
        + [der.encode(0x0C, text.encode()) for text in ("WEB01.corp.lab", "CORP\\admin")]
        + [der.encode(0x0C, b"InetMgr.exe")]
    )
    provider = (
        der.encode(der.INTEGER, b"\x01")
        + der.encode(0x1E, IIS_PROVIDER.encode("utf-16-be"))
        + der.encode(der.BIT_STRING, b"\x00")
    )
    attributes = [
        attribute("1.3.6.1.4.1.311.13.2.3", der.encode(0x16, IIS_OS_VERSION.encode())),
        attribute("1.3.6.1.4.1.311.21.20", der.encode(der.SEQUENCE, client)),
        attribute("1.3.6.1.4.1.311.13.2.2", der.encode(der.SEQUENCE, provider)),
        attribute("1.2.840.113549.1.9.14", _extension_request(dns_names)),
    ]
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = der.encode(
        der.SEQUENCE,
        der.encode(der.INTEGER, b"\x00")
        + subject.public_bytes()
        + spki
        + der.encode(der.EXPLICIT_0, b"".join(attributes)),
    )
    kind = "ec" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa"
    algorithm = der.encode(
        der.SEQUENCE,
        der.encode_oid(_SIGNATURE_OIDS[kind]) + (b"\x05\x00" if kind == "rsa" else b""),
    )
    signature = _sign_sha1(key, info)
    body = info + algorithm + der.encode(der.BIT_STRING, b"\x00" + signature)
    return der.encode(der.SEQUENCE, body)


def _extension_request(dns_names: Sequence[str]) -> bytes:
    usage = der.encode(
        der.SEQUENCE,
        der.encode_oid("2.5.29.15") + der.encode(der.OCTETS, bytes.fromhex("030205a0")),
    )
    extensions = [usage]
    if dns_names:
        names = b"".join(der.encode(0x82, n.encode("ascii")) for n in dns_names)
        san = der.encode(der.OCTETS, der.encode(der.SEQUENCE, names))
        extensions.append(der.encode(der.SEQUENCE, der.encode_oid("2.5.29.17") + san))
    return der.encode(der.SEQUENCE, b"".join(extensions))


def _sign_sha1(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA1()))
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA1())


def iis_csr_pem(der_bytes: bytes, one_line: bool = False) -> str:
    """The request text as IIS saves it: the NEW header, CRLF line ends, Base64 in 64
    columns (or, as some tools paste it, one long line)."""
    import base64

    body = base64.b64encode(der_bytes).decode("ascii")
    lines = [body] if one_line else [body[i : i + 64] for i in range(0, len(body), 64)]
    label = "NEW CERTIFICATE REQUEST"
    return "\r\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


def signed_with_sha1(cert: x509.Certificate, issuer_key: PrivateKey) -> x509.Certificate:
    """``cert`` re-signed by ``issuer_key`` (RSA) with SHA-1, as old CAs signed.

    cryptography no longer signs certificates with SHA-1, so the SHA-256 signature is
    swapped: the algorithm OID (same length) and the signature (same size) are replaced.
    """
    assert isinstance(issuer_key, rsa.RSAPrivateKey)
    sha256_rsa = bytes.fromhex("06092a864886f70d01010b")
    sha1_rsa = bytes.fromhex("06092a864886f70d010105")
    tbs = cert.tbs_certificate_bytes.replace(sha256_rsa, sha1_rsa)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    whole = cert.public_bytes(serialization.Encoding.DER)
    body = whole[: -len(signature)].replace(cert.tbs_certificate_bytes, tbs)
    return x509.load_der_x509_certificate(body.replace(sha256_rsa, sha1_rsa) + signature)


def csr_pem(der: bytes, label: str = "NEW CERTIFICATE REQUEST") -> str:
    """The request as IIS writes it (``label`` 'CERTIFICATE REQUEST' is OpenSSL's spelling)."""
    import base64

    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


def mangled_csr_pem(der: bytes) -> str:
    """The paste error of the manual's own sample: Base64 glued to the header, six dashes."""
    good = csr_pem(der).splitlines()
    return (
        good[0]
        + good[1]
        + "\n"
        + "\n".join(good[2:-1])
        + "\n------END NEW CERTIFICATE REQUEST------\n"
    )


def break_signature(der: bytes) -> bytes:
    """The same request with the last byte of its signature changed."""
    return der[:-1] + bytes([der[-1] ^ 0x01])


def write(path: Path, data: bytes | str) -> Path:
    """Write a lab file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="ascii")
    else:
        path.write_bytes(data)
    return path


def cert_der(issued: Issued) -> bytes:
    """The certificate as DER (what a `.cer` saved in 'DER encoded binary' holds)."""
    return issued.cert.public_bytes(serialization.Encoding.DER)


def key_pem(key: PrivateKey, password: bytes | None = None) -> bytes:
    """The private key as PKCS#8 PEM, encrypted when a password is given."""
    return key_pkcs8(key, password, serialization.Encoding.PEM)


def key_pkcs8(key: PrivateKey, password: bytes | None, encoding: serialization.Encoding) -> bytes:
    """The private key as PKCS#8 in ``encoding`` (PEM or DER), encrypted with a password."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(encoding, serialization.PrivateFormat.PKCS8, encryption)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
