"""How a PKCS#12 (.pfx/.p12) file is protected, read from its BER/DER structure.

cryptography opens a PKCS#12 file but does not say which algorithms protect it, and that is
what manual 5.9.6 is about (AES-256 by default, TripleDES-SHA1 for older systems). This
module reads, with :mod:`certgate.files.der`, the outer layers of RFC 7292 only: the MAC, the
encryption of each AuthenticatedSafe content and of each key bag. It decrypts nothing,
needs no password and keeps no content: only algorithm names and iteration counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from certgate.files.der import (
    EXPLICIT_0,
    INTEGER,
    OCTETS,
    OCTETS_CONSTRUCTED,
    OID,
    SEQUENCE,
    DerError,
    Reader,
    Tlv,
    algorithm,
    expect,
    integer,
    oid_text,
)
from certgate.files.facts import Pkcs12Protection

_SEQUENCE, _OCTETS, _OCTETS_CONSTRUCTED = SEQUENCE, OCTETS, OCTETS_CONSTRUCTED
_INTEGER, _OID, _EXPLICIT_0 = INTEGER, OID, EXPLICIT_0

_DATA = "1.2.840.113549.1.7.1"
_SIGNED_DATA = "1.2.840.113549.1.7.2"
_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
_SAFE_CONTENTS_BAG = "1.2.840.113549.1.12.10.1.6"
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_PBMAC1 = "1.2.840.113549.1.5.14"

# RFC 7292 appendix C: the PKCS#12 password-based encryption algorithms.
_PKCS12_PBE = {
    "1.2.840.113549.1.12.1.1": ("pbeWithSHAAnd128BitRC4", "other"),
    "1.2.840.113549.1.12.1.2": ("pbeWithSHAAnd40BitRC4", "other"),
    "1.2.840.113549.1.12.1.3": ("pbeWithSHAAnd3-KeyTripleDES-CBC", "3des"),
    "1.2.840.113549.1.12.1.4": ("pbeWithSHAAnd2-KeyTripleDES-CBC", "other"),
    "1.2.840.113549.1.12.1.5": ("pbeWithSHAAnd128BitRC2-CBC", "rc2-128"),
    "1.2.840.113549.1.12.1.6": ("pbeWithSHAAnd40BitRC2-CBC", "rc2-40"),
}
# PKCS#5 PBES1: single DES or RC2-64 with MD2/MD5/SHA-1; none is an accepted choice.
_PBES1 = {
    "1.2.840.113549.1.5.1": "pbeWithMD2AndDES-CBC",
    "1.2.840.113549.1.5.3": "pbeWithMD5AndDES-CBC",
    "1.2.840.113549.1.5.4": "pbeWithMD2AndRC2-CBC",
    "1.2.840.113549.1.5.6": "pbeWithMD5AndRC2-CBC",
    "1.2.840.113549.1.5.10": "pbeWithSHA1AndDES-CBC",
    "1.2.840.113549.1.5.11": "pbeWithSHA1AndRC2-CBC",
}
_PBES2_CIPHERS = {
    "2.16.840.1.101.3.4.1.42": ("AES-256-CBC", "aes256"),
    "2.16.840.1.101.3.4.1.22": ("AES-192-CBC", "aes192"),
    "2.16.840.1.101.3.4.1.2": ("AES-128-CBC", "aes128"),
    "1.2.840.113549.3.7": ("DES-EDE3-CBC", "3des"),
    "1.2.840.113549.3.2": ("RC2-CBC", "other"),
    "1.3.14.3.2.7": ("DES-CBC", "other"),
}
_PRFS = {
    "1.2.840.113549.2.7": "HMAC-SHA1",
    "1.2.840.113549.2.8": "HMAC-SHA224",
    "1.2.840.113549.2.9": "HMAC-SHA256",
    "1.2.840.113549.2.10": "HMAC-SHA384",
    "1.2.840.113549.2.11": "HMAC-SHA512",
}
_DIGESTS = {
    "1.3.14.3.2.26": "HMAC-SHA1",
    "2.16.840.1.101.3.4.2.4": "HMAC-SHA224",
    "2.16.840.1.101.3.4.2.1": "HMAC-SHA256",
    "2.16.840.1.101.3.4.2.2": "HMAC-SHA384",
    "2.16.840.1.101.3.4.2.3": "HMAC-SHA512",
    "1.2.840.113549.2.5": "HMAC-MD5",
    "1.2.840.113549.2.2": "HMAC-MD2",
}


Pkcs12Error = DerError  # the bytes are not a PKCS#12 structure this reader understands


@dataclass(frozen=True)
class Pkcs12Structure:
    """The protection of a PKCS#12 file: MAC algorithm and iterations, each part's encryption.

    ``mac_algorithm`` and ``mac_iterations`` are None when the file has no MAC.
    ``length`` is where the structure ends: Windows and some tools pad the file after it
    (openssl reads such files), and what follows is not part of it.
    """

    mac_algorithm: str | None
    mac_iterations: int | None
    parts: tuple[Pkcs12Protection, ...]
    length: int


def read_structure(data: bytes) -> Pkcs12Structure:
    """The protection of the PKCS#12 file ``data``; Pkcs12Error when it is not one."""
    if data[:1] != bytes([_SEQUENCE]):
        raise Pkcs12Error("the file is not binary DER (a PEM text or another kind of file?)")
    reader = Reader()
    pfx, length = reader.first(data)
    fields = reader.children(pfx, 0)
    if len(fields) < 2 or fields[0].tag != _INTEGER or fields[1].tag != _SEQUENCE:
        raise Pkcs12Error("the structure is not a PKCS#12 PFX (version, authSafe, macData)")
    if int.from_bytes(fields[0].content, "big") != 3:
        raise Pkcs12Error("the PKCS#12 version is not 3")
    content_type, content = _content_info(reader, fields[1], 1)
    if content_type == _SIGNED_DATA:
        raise Pkcs12Error("it uses public-key integrity mode (signedData), not a password")
    if content_type != _DATA or content is None:
        raise Pkcs12Error("the authSafe is not a data content")
    safe = reader.one(_octets(reader, content, 2), 2)
    parts = tuple(_safe_parts(reader, safe))
    mac, iterations = _mac(reader, fields[2]) if len(fields) > 2 else (None, None)
    return Pkcs12Structure(mac, iterations, parts, length)


def _safe_parts(reader: Reader, safe: Tlv) -> Iterator[Pkcs12Protection]:
    """The protection of each ContentInfo of the AuthenticatedSafe."""
    for info in reader.children(_expect(safe, _SEQUENCE, "the AuthenticatedSafe"), 3):
        content_type, content = _content_info(reader, info, 4)
        if content is None:
            continue
        if content_type == _DATA:
            bags = reader.one(_octets(reader, content, 5), 5)
            yield from _bags(reader, bags, 6)
        elif content_type == _ENCRYPTED_DATA:
            yield _encrypted_data(reader, content)
        elif content_type == _ENVELOPED_DATA:
            yield Pkcs12Protection("encrypted safe", "envelopedData (public-key privacy)", "other")
        else:
            yield Pkcs12Protection("safe", f"unknown content type {content_type}", "other")


def _bags(reader: Reader, safe_contents: Tlv, depth: int) -> Iterator[Pkcs12Protection]:
    """The protection of the key and certificate bags of one SafeContents."""
    clear_certificates = 0
    for bag in reader.children(_expect(safe_contents, _SEQUENCE, "SafeContents"), depth):
        fields = reader.children(_expect(bag, _SEQUENCE, "a SafeBag"), depth + 1)
        if len(fields) < 2 or fields[0].tag != _OID or fields[1].tag != _EXPLICIT_0:
            raise Pkcs12Error("a SafeBag is malformed")
        bag_id = _oid(fields[0].content)
        value = _single(reader, fields[1], depth + 2)
        if bag_id == _KEY_BAG:
            yield Pkcs12Protection("private key", "not encrypted", "none")
        elif bag_id == _SHROUDED_KEY_BAG:
            info = reader.children(_expect(value, _SEQUENCE, "EncryptedPrivateKeyInfo"), depth)
            if not info:
                raise Pkcs12Error("an EncryptedPrivateKeyInfo is malformed")
            yield Pkcs12Protection("private key", *_algorithm(reader, info[0], depth + 3))
        elif bag_id == _CERT_BAG:
            clear_certificates += 1
        elif bag_id == _SAFE_CONTENTS_BAG:
            yield from _bags(reader, value, depth + 3)
    if clear_certificates:
        yield Pkcs12Protection("certificates", "not encrypted", "none")


def _encrypted_data(reader: Reader, content: Tlv) -> Pkcs12Protection:
    """EncryptedData: the algorithm of its encryptedContentInfo."""
    encrypted = reader.children(_expect(content, _SEQUENCE, "EncryptedData"), 5)
    if len(encrypted) < 2:
        raise Pkcs12Error("an EncryptedData is malformed")
    info = reader.children(_expect(encrypted[1], _SEQUENCE, "EncryptedContentInfo"), 6)
    if len(info) < 2:
        raise Pkcs12Error("an EncryptedContentInfo is malformed")
    return Pkcs12Protection("encrypted safe", *_algorithm(reader, info[1], 7))


def _algorithm(reader: Reader, identifier: Tlv, depth: int) -> tuple[str, str]:
    """(name with parameters, policy name) of a password-based encryption algorithm."""
    oid, params = _algorithm_identifier(reader, identifier, depth)
    if oid in _PKCS12_PBE:
        name, policy_name = _PKCS12_PBE[oid]
        return f"{name}{_iterations(reader, params, depth)}", policy_name
    if oid == _PBES2 and params is not None:
        return _pbes2(reader, params, depth + 1)
    if oid in _PBES1:
        return f"{_PBES1[oid]} (PKCS#5 PBES1)", "other"
    return f"unknown algorithm {oid}", "other"


def _pbes2(reader: Reader, params: Tlv, depth: int) -> tuple[str, str]:
    """PBES2: key derivation function, PRF and cipher."""
    fields = reader.children(_expect(params, _SEQUENCE, "PBES2 parameters"), depth)
    if len(fields) != 2:
        raise Pkcs12Error("PBES2 parameters are malformed")
    kdf, kdf_params = _algorithm_identifier(reader, fields[0], depth + 1)
    cipher_oid, _ = _algorithm_identifier(reader, fields[1], depth + 1)
    cipher, policy_name = _PBES2_CIPHERS.get(cipher_oid, (f"cipher {cipher_oid}", "other"))
    if kdf != _PBKDF2 or kdf_params is None:
        return f"{cipher} with key derivation {kdf}", "other"
    prf, iterations = _pbkdf2(reader, kdf_params, depth + 2)
    return f"{cipher} with PBKDF2/{prf}, {iterations} iterations", policy_name


def _pbkdf2(reader: Reader, params: Tlv, depth: int) -> tuple[str, int]:
    """(PRF name, iteration count) of PBKDF2-params; the PRF defaults to HMAC-SHA1."""
    fields = reader.children(_expect(params, _SEQUENCE, "PBKDF2 parameters"), depth)
    if len(fields) < 2 or fields[1].tag != _INTEGER:
        raise Pkcs12Error("PBKDF2 parameters are malformed")
    prf = "HMAC-SHA1"
    for extra in fields[2:]:
        if extra.tag == _SEQUENCE:
            prf_oid, _ = _algorithm_identifier(reader, extra, depth + 1)
            prf = _PRFS.get(prf_oid, f"PRF {prf_oid}")
    return prf, _integer(fields[1])


def _iterations(reader: Reader, params: Tlv | None, depth: int) -> str:
    """``, 2048 iterations`` from PKCS#12 PBE parameters (salt, iterations)."""
    if params is None or params.tag != _SEQUENCE:
        return ""
    fields = reader.children(params, depth + 1)
    if len(fields) == 2 and fields[1].tag == _INTEGER:
        return f", {_integer(fields[1])} iterations"
    return ""


def _mac(reader: Reader, mac_data: Tlv) -> tuple[str, int]:
    """(MAC algorithm, iterations) of MacData; iterations default to 1 (RFC 7292)."""
    fields = reader.children(_expect(mac_data, _SEQUENCE, "MacData"), 1)
    if len(fields) < 2:
        raise Pkcs12Error("MacData is malformed")
    digest_info = reader.children(_expect(fields[0], _SEQUENCE, "the MAC DigestInfo"), 2)
    if not digest_info:
        raise Pkcs12Error("the MAC DigestInfo is malformed")
    oid, _ = _algorithm_identifier(reader, digest_info[0], 3)
    name = "PBMAC1" if oid == _PBMAC1 else _DIGESTS.get(oid, f"digest {oid}")
    iterations = _integer(fields[2]) if len(fields) > 2 and fields[2].tag == _INTEGER else 1
    return name, iterations


# --- small BER helpers ------------------------------------------------------------------------


def _expect(tlv: Tlv, tag: int, what: str) -> Tlv:
    return expect(tlv, tag, what)


def _content_info(reader: Reader, info: Tlv, depth: int) -> tuple[str, Tlv | None]:
    """(contentType, the element inside [0] EXPLICIT or None) of a ContentInfo."""
    fields = reader.children(_expect(info, _SEQUENCE, "a ContentInfo"), depth)
    if not fields or fields[0].tag != _OID:
        raise Pkcs12Error("a ContentInfo has no content type")
    if len(fields) < 2:
        return _oid(fields[0].content), None
    return _oid(fields[0].content), _single(reader, fields[1], depth + 1)


def _single(reader: Reader, explicit: Tlv, depth: int) -> Tlv:
    """The one element inside an explicit [0] tag."""
    inner = reader.children(_expect(explicit, _EXPLICIT_0, "an explicit [0]"), depth)
    if len(inner) != 1:
        raise Pkcs12Error("an explicit [0] does not hold exactly one element")
    return inner[0]


def _algorithm_identifier(reader: Reader, tlv: Tlv, depth: int) -> tuple[str, Tlv | None]:
    """(algorithm OID, parameters or None) of an AlgorithmIdentifier."""
    return algorithm(tlv, reader)


def _octets(reader: Reader, tlv: Tlv, depth: int) -> bytes:
    """The value of an OCTET STRING, joining the pieces of a constructed (BER) one."""
    if tlv.tag == _OCTETS:
        return tlv.content
    if tlv.tag == _OCTETS_CONSTRUCTED:
        return b"".join(_octets(reader, piece, depth + 1) for piece in reader.children(tlv, depth))
    raise Pkcs12Error(f"expected an OCTET STRING, found tag 0x{tlv.tag:02x}")


_integer = integer
_oid = oid_text
