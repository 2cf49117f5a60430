"""Files nobody on the team made with cryptography: the ``openssl`` CLI writes them the way IIS,
Windows and CAs do (SHA-1 requests, CRLF, the NEW header, legacy and AES-256 PFX files), and a
tiny DER encoder writes the one thing openssl cannot: an IIS request whose attributes are in the
order IIS writes them, not sorted. Each maker returns paths; each ``says`` runs the independent
verdict (``openssl req -verify``, ``openssl verify``, ``openssl pkcs12 -info``).
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

PASSWORD = "correct horse battery staple"
IIS_SUBJECT = "/C=TW/ST=Taiwan/L=Taipei/O=Example/CN=www.example.com.tw"
HOST = "www.example.com.tw"

CA_EXT = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
LEAF_EXT = (
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:{host}\n"
)


def openssl(folder: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """Run ``openssl ARGS`` in ``folder``; its stdout. Raises when openssl fails."""
    done = subprocess.run(
        ["openssl", *args],
        cwd=folder,
        input=stdin,
        capture_output=True,
        check=False,
        env={**os.environ, "PFX_PASSWORD": PASSWORD},
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr.decode(errors='replace')}")
    return done.stdout


def says(folder: Path, *args: str, stdin: bytes | None = None) -> tuple[int, str]:
    """An independent verdict: openssl's exit status and everything it printed."""
    done = subprocess.run(
        ["openssl", *args],
        cwd=folder,
        input=stdin,
        capture_output=True,
        check=False,
        env={**os.environ, "PFX_PASSWORD": PASSWORD},
    )
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


# --- requests as IIS writes them ----------------------------------------------------------------


def iis_pem(der: bytes, *, one_line: bool) -> bytes:
    """A request as IIS saves it: the NEW header, CRLF, Base64 in 64 columns or one line."""
    text = base64.b64encode(der).decode()
    lines = [text] if one_line else [text[i : i + 64] for i in range(0, len(text), 64)]
    body = ["-----BEGIN NEW CERTIFICATE REQUEST-----", *lines]
    return ("\r\n".join([*body, "-----END NEW CERTIFICATE REQUEST-----"]) + "\r\n").encode()


def pem_der(pem: bytes) -> bytes:
    """The DER inside the first PEM block of ``pem``."""
    lines = pem.decode().replace("\r", "").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("-----BEGIN"))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("-----END"))
    return base64.b64decode("".join(lines[start + 1 : end]))


def sha1_request(folder: Path, name: str = "iis") -> tuple[Path, Path]:
    """``name.key`` and ``name.der``: a 2048-bit RSA key and a SHA-1-signed request for it."""
    openssl(
        folder, "req", "-new", "-sha1", "-newkey", "rsa:2048", "-nodes",
        "-keyout", f"{name}.key", "-subj", IIS_SUBJECT, "-outform", "DER", "-out", f"{name}.der",
    )  # fmt: skip
    return folder / f"{name}.key", folder / f"{name}.der"


# --- a tiny DER encoder (for the request openssl cannot write) ----------------------------------


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    return tlv(0x31, b"".join(parts))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.insert(0, 0x80 | (arc & 0x7F))
        body += bytes(chunk)
    return tlv(0x06, body)


def integer(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def attribute(kind: str, value: bytes) -> bytes:
    return seq(oid(kind), set_of(value))


def iis_attributes(extensions_der: bytes) -> list[bytes]:
    """The attributes IIS writes, in IIS's order (OS version, client info, CSP, extensions):
    a DER SET OF would sort them by encoding; IIS does not."""
    client = seq(
        integer(5),
        tlv(0x0C, b"IIS-HOST"),
        tlv(0x0C, b"EXAMPLE\\admin"),
        tlv(0x0C, b"InetMgr.exe"),
    )
    csp = seq(
        integer(1),
        tlv(0x1E, "Microsoft RSA SChannel Cryptographic Provider".encode("utf-16-be")),
        tlv(0x03, b"\x00"),
    )
    return [
        attribute("1.3.6.1.4.1.311.13.2.3", tlv(0x16, b"10.0.17763.2")),
        attribute("1.3.6.1.4.1.311.21.20", client),
        attribute("1.3.6.1.4.1.311.13.2.2", csp),
        attribute("1.2.840.113549.1.9.14", extensions_der),
    ]


KEY_USAGE = seq(oid("2.5.29.15"), tlv(0x01, b"\xff"), tlv(0x04, tlv(0x03, b"\x05\xa0")))


def iis_attribute_request(folder: Path) -> tuple[Path, bytes]:
    """``iis-attrs.der``: a request with IIS's attributes out of DER order, signed SHA-1 by
    ``openssl dgst``; also returns the CertificationRequestInfo bytes it signs."""
    key, plain = sha1_request(folder, "iis-attrs-base")
    request = x509.load_der_x509_csr(plain.read_bytes())
    spki = request.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = seq(
        integer(0),
        request.subject.public_bytes(),
        spki,
        tlv(0xA0, b"".join(iis_attributes(seq(KEY_USAGE)))),
    )
    (folder / "info.der").write_bytes(info)
    signature = openssl(folder, "dgst", "-sha1", "-sign", key.name, "info.der")
    sha1_rsa = seq(oid("1.2.840.113549.1.1.5"), tlv(0x05, b""))
    der = seq(info, sha1_rsa, tlv(0x03, b"\x00" + signature))
    path = folder / "iis-attrs.der"
    path.write_bytes(der)
    return path, info


# --- chains the way a CA signs them ----------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """root.cer, uca.cer (and uca_1/uca_2 for 4 tiers), server.cer and server.key, PEM."""

    folder: Path
    root: Path
    ucas: tuple[Path, ...]
    server: Path
    key: Path

    def pem(self, *paths: Path) -> bytes:
        return b"".join(p.read_bytes() for p in paths)


def ca_root(folder: Path, name: str, cn: str, digest: str = "sha256") -> Path:
    """``name.cer`` + ``name.key``: a self-signed RSA-2048 root."""
    openssl(
        folder, "req", "-x509", f"-{digest}", "-newkey", "rsa:2048", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.cer", "-days", "3650",
        "-subj", f"/C=TW/O=Example Trust/CN={cn}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return folder / f"{name}.cer"


def issue(
    folder: Path,
    name: str,
    subject: str,
    issuer: str,
    *,
    digest: str = "sha256",
    newkey: str = "rsa:2048",
    extensions: str = CA_EXT,
    days: int = 1825,
    utf8: bool = False,
) -> Path:
    """``name.cer`` + ``name.key``: a new key, its request, signed by ``issuer`` with
    ``openssl x509 -req -DIGEST``."""
    (folder / f"{name}.ext").write_text(extensions)
    keyopts = ["-newkey", newkey] if ":" in newkey else ["-key", newkey]
    openssl(
        folder, "req", "-new", *keyopts, "-nodes", "-keyout", f"{name}.key",
        "-subj", subject, *(["-utf8"] if utf8 else []), "-out", f"{name}.csr",
    )  # fmt: skip
    openssl(
        folder, "x509", "-req", f"-{digest}", "-in", f"{name}.csr",
        "-CA", f"{issuer}.cer", "-CAkey", f"{issuer}.key", "-set_serial", str(secrets.randbits(63)),
        "-days", str(days), "-extfile", f"{name}.ext", "-out", f"{name}.cer",
    )  # fmt: skip
    return folder / f"{name}.cer"


def leaf_ext(host: str = HOST) -> str:
    return LEAF_EXT.format(host=host)


def sha1_chain(folder: Path) -> Chain:
    """root → uca → server, every signature SHA-1, as older CAs issued them (TWCA's own 2008
    root, which certifi still ships, is SHA-1 self-signed)."""
    folder.mkdir(parents=True, exist_ok=True)
    root = ca_root(folder, "root", "Example SHA1 Root CA", digest="sha1")
    uca = issue(
        folder, "uca", "/C=TW/O=Example Trust/CN=Example SHA1 SSL CA", "root", digest="sha1"
    )
    server = issue(
        folder, "server", f"/C=TW/O=Example/CN={HOST}", "uca",
        digest="sha1", extensions=leaf_ext(), days=397,
    )  # fmt: skip
    return Chain(folder, root, (uca,), server, folder / "server.key")


def pfx(chain: Chain, out: str, *extra: str, certfile: bytes | None = None) -> Path:
    """A PKCS#12 of the chain's key and server certificate; ``certfile`` (default: the
    intermediates and the root) as the other certificates; ``extra`` openssl options."""
    folder = chain.folder
    (folder / f"{out}.certs.pem").write_bytes(
        certfile if certfile is not None else chain.pem(*chain.ucas, chain.root)
    )
    openssl(
        folder, "pkcs12", "-export", "-inkey", chain.key.name, "-in", chain.server.name,
        "-certfile", f"{out}.certs.pem", "-out", f"{out}.pfx", "-passout", "env:PFX_PASSWORD",
        *extra,
    )  # fmt: skip
    return folder / f"{out}.pfx"


CA_CONF = """\
[ca]
default_ca = old
[old]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
copy_extensions = none
[anything]
commonName = supplied
"""


def expired_self_signed(folder: Path, cn: str) -> Path:
    """``expired.cer``: valid 2020-01-01..2021-01-01, made with ``openssl ca -startdate``."""
    (folder / "ca.cnf").write_text(CA_CONF)
    (folder / "index.txt").write_text("")
    (folder / "serial").write_text("1000\n")
    openssl(
        folder, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "expired.key",
        "-subj", f"/C=TW/O=Old/CN={cn}", "-out", "expired.csr",
    )  # fmt: skip
    openssl(
        folder, "ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", "expired.key",
        "-in", "expired.csr", "-startdate", "20200101000000Z", "-enddate", "20210101000000Z",
        "-notext", "-out", "expired.cer",
    )  # fmt: skip
    return folder / "expired.cer"
