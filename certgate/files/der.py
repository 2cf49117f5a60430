"""A small, bounded BER/DER reader and writer: the one place certgate reads ASN.1 by hand.

cryptography reads certificates, requests and PKCS#12 files whole, and refuses the whole
file when one part is unusual. Real files are often unusual in a harmless way: IIS writes
the attributes of a request out of DER order, Windows exports PKCS#12 in BER with padding,
a CA sets a default value in basicConstraints. This reader lets certgate take such a file
apart, judge what it can and name the part it cannot (SPEC §2.1). It decodes nothing it
is not asked for and keeps no content beyond the elements returned.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DEPTH = 24  # real structures nest about 10 levels; deeper input is hostile or broken
MAX_ITEMS = 4096  # elements read per document; a real PKCS#12 holds a few hundred

SEQUENCE, SET, OCTETS, OCTETS_CONSTRUCTED = 0x30, 0x31, 0x04, 0x24
INTEGER, OID, BOOLEAN, BIT_STRING, NULL = 0x02, 0x06, 0x01, 0x03, 0x05
EXPLICIT_0, EXPLICIT_3 = 0xA0, 0xA3


class DerError(ValueError):
    """The bytes are not the structure expected (the text says why, never the bytes)."""


@dataclass(frozen=True)
class Tlv:
    """One element: its tag byte, its content octets and its whole encoding.

    For an indefinite length (BER) ``content`` runs up to the end-of-contents marker.
    """

    tag: int
    content: bytes
    encoding: bytes


class Reader:
    """Reads BER elements with limits on nesting and on the number of elements."""

    def __init__(self) -> None:
        self.items = 0

    def one(self, data: bytes, depth: int = 0) -> Tlv:
        """The single element ``data`` holds (trailing bytes are an error)."""
        tlv, end = self.first(data, depth)
        if end != len(data):
            raise DerError("unexpected bytes after the end of the structure")
        return tlv

    def first(self, data: bytes, depth: int = 0) -> tuple[Tlv, int]:
        """The first element of ``data`` and where it ends (padding may follow)."""
        return self._read(data, 0, depth)

    def children(self, tlv: Tlv, depth: int = 0) -> list[Tlv]:
        """The elements inside a constructed element."""
        if not tlv.tag & 0x20:
            raise DerError(f"expected a constructed element, found tag 0x{tlv.tag:02x}")
        found, pos = [], 0
        while pos < len(tlv.content):
            child, pos = self._read(tlv.content, pos, depth + 1)
            found.append(child)
        return found

    def _read(self, data: bytes, pos: int, depth: int) -> tuple[Tlv, int]:
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            raise DerError("the structure is nested too deeply or too large")
        start = pos
        if pos + 2 > len(data):
            raise DerError("the data is truncated")
        tag, first = data[pos], data[pos + 1]
        pos += 2
        if tag & 0x1F == 0x1F:
            raise DerError("multi-byte tags do not occur in these structures")
        if first == 0x80:  # indefinite length (BER, as some Windows exports use)
            if not tag & 0x20:
                raise DerError("an indefinite length on a primitive element")
            body = pos
            while data[pos : pos + 2] != b"\x00\x00":
                _, pos = self._read(data, pos, depth + 1)
            return Tlv(tag, data[body:pos], data[start : pos + 2]), pos + 2
        length = first
        if first & 0x80:
            size = first & 0x7F
            if not 1 <= size <= 4 or pos + size > len(data):
                raise DerError("an element length is malformed")
            length = int.from_bytes(data[pos : pos + size], "big")
            pos += size
        if pos + length > len(data):
            raise DerError("the data is truncated")
        end = pos + length
        return Tlv(tag, data[pos:end], data[start:end]), end


def expect(tlv: Tlv, tag: int, what: str) -> Tlv:
    """``tlv`` when its tag is ``tag``; else DerError naming ``what`` was expected."""
    if tlv.tag != tag:
        raise DerError(f"{what}: expected tag 0x{tag:02x}, found 0x{tlv.tag:02x}")
    return tlv


def integer(tlv: Tlv) -> int:
    """The value of a small INTEGER (at most 8 octets)."""
    if tlv.tag != INTEGER or not 1 <= len(tlv.content) <= 8:
        raise DerError("an INTEGER is malformed or out of range")
    return int.from_bytes(tlv.content, "big", signed=True)


def oid_text(content: bytes) -> str:
    """Dotted text of an OBJECT IDENTIFIER's content octets."""
    if not content or content[-1] & 0x80 or len(content) > 64:
        raise DerError("an OBJECT IDENTIFIER is malformed")
    arcs, value = [], 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))


def algorithm(tlv: Tlv, reader: Reader | None = None) -> tuple[str, Tlv | None]:
    """(algorithm OID, parameters or None) of an AlgorithmIdentifier."""
    fields = (reader or Reader()).children(expect(tlv, SEQUENCE, "an AlgorithmIdentifier"))
    if not fields or fields[0].tag != OID:
        raise DerError("an AlgorithmIdentifier has no algorithm")
    return oid_text(fields[0].content), (fields[1] if len(fields) > 1 else None)


# --- writing (only to re-assemble what was read, in DER order) -----------------------------


def encode(tag: int, content: bytes) -> bytes:
    """One DER element."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + content


def encode_oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER element from its dotted text."""
    arcs = [int(a) for a in dotted.split(".")]
    content = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        content += bytes(reversed(chunk))
    return encode(OID, bytes(content))


def der_set(elements: list[bytes], tag: int = SET) -> bytes:
    """A SET OF in DER order (its elements sorted by their encodings, X.690 11.6)."""
    return encode(tag, b"".join(sorted(elements)))
