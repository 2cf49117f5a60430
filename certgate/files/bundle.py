"""The CA's cert.zip (manual 5.3) and chain files -> facts.

cert.zip is read in memory and never extracted: member names are only looked at, sizes are
capped before and while reading (a zip bomb is refused, not inflated), and members whose
name would leave the folder (``../``, absolute paths) are never read. Nothing from a
member's content is ever echoed.
"""

from __future__ import annotations

import collections
import io
import re
import warnings
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from cryptography import x509

from certgate.errors import ArtifactError
from certgate.files.certificates import certificate_from_bytes, certificate_from_der
from certgate.files.facts import BundleFacts, BundleMember, BundleRole, CertificateFacts
from certgate.files.pem import (
    CERT_LABELS,
    as_text,
    b64decode,
    describe_label,
    find_pems,
    read_bytes,
    shown,
)

MAX_ZIP_BYTES = 1024 * 1024  # the CA's cert.zip is a few KiB
MAX_MEMBERS = 16  # the manual's zip holds 3 or 4 files
MAX_MEMBER_BYTES = 64 * 1024  # one certificate is 1-3 KiB
MAX_TOTAL_BYTES = 256 * 1024

_ROLES = {
    "root.cer": BundleRole.ROOT,
    "uca.cer": BundleRole.UCA,
    "uca_1.cer": BundleRole.UCA_1,
    "uca1.cer": BundleRole.UCA_1,  # the manual also spells them uca1.cer/uca2.cer
    "uca_2.cer": BundleRole.UCA_2,
    "uca2.cer": BundleRole.UCA_2,
    "server.cer": BundleRole.SERVER,
}
_DRIVE = re.compile(r"[A-Za-z]:")


def load_bundle(path: Path) -> BundleFacts:
    """Read cert.zip; ArtifactError when it is not a zip, is empty, ambiguous or a bomb."""
    source = f"cert.zip {shown(path)}"
    data = read_bytes(path, MAX_ZIP_BYTES)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise ArtifactError(
            f"{source}: not a zip archive; save the CA's mail attachment cert.zip again"
        ) from None
    with archive:
        infos = [i for i in archive.infolist() if not i.filename.endswith(("/", "\\"))]
        _check_shape(source, infos)
        members, unsafe, total = [], [], 0
        for info in infos:
            name = printable(info.filename)
            if unsafe_name(info.filename):
                unsafe.append(name)
                continue
            content = _read_member(archive, info, source)
            total += len(content)
            if total > MAX_TOTAL_BYTES:
                raise _bomb(source, f"its members inflate to more than {MAX_TOTAL_BYTES} bytes")
            members.append(_member(info.filename, content, source))
    return BundleFacts(source, tuple(members), tuple(unsafe))


def _check_shape(source: str, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse, before reading anything, zips that cannot be audited."""
    if not infos:
        raise ArtifactError(f"{source}: the zip is empty; ask the CA to send cert.zip again")
    if len(infos) > MAX_MEMBERS:
        raise _bomb(source, f"it holds {len(infos)} files (the manual's cert.zip holds 3 or 4)")
    counts = collections.Counter(i.filename.replace("\\", "/").casefold() for i in infos)
    repeated = sorted(printable(n) for n, k in counts.items() if k > 1)
    if repeated:
        raise ArtifactError(
            f"{source}: the zip holds {', '.join(repeated)} more than once, so what gets "
            "unzipped depends on the tool; ask the CA to send cert.zip again"
        )
    declared = sum(i.file_size for i in infos)
    if any(i.file_size > MAX_MEMBER_BYTES for i in infos) or declared > MAX_TOTAL_BYTES:
        raise _bomb(source, f"its members declare {declared} bytes once unzipped")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> bytes:
    """A member's bytes, read in memory with a bounded read (the declared size may lie)."""
    name = printable(info.filename)
    try:
        with archive.open(info) as handle:
            content = handle.read(MAX_MEMBER_BYTES + 1)
    except RuntimeError:  # zipfile's way of saying "encrypted, password required"
        raise ArtifactError(f"{source}: {name} is password-protected inside the zip") from None
    except NotImplementedError:
        raise ArtifactError(f"{source}: {name} uses an unsupported compression") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError):
        raise ArtifactError(f"{source}: {name} is damaged (bad CRC or data)") from None
    if len(content) > MAX_MEMBER_BYTES:
        raise _bomb(source, f"{name} inflates to more than {MAX_MEMBER_BYTES} bytes")
    return content


def _bomb(source: str, why: str) -> ArtifactError:
    return ArtifactError(
        f"{source}: refused to unzip: {why}, far more than certificate files (a zip bomb?)"
    )


def _member(filename: str, content: bytes, source: str) -> BundleMember:
    """One member: its role by name and the certificate it holds, or what it holds instead."""
    role = _ROLES.get(PurePosixPath(filename.replace("\\", "/")).name.lower())
    name = printable(filename)
    where = f"{name} in {source}"
    try:
        certificates = certificates_from_bytes(content, where)
    except ArtifactError as exc:
        return BundleMember(name, role, None, str(exc).removeprefix(f"{where}: "))
    if len(certificates) != 1:
        return BundleMember(name, role, None, f"holds {len(certificates)} certificates, not one")
    return BundleMember(name, role, certificates[0], None)


def unsafe_name(name: str) -> bool:
    """Whether unzipping ``name`` would write outside the target folder (zip slip)."""
    normal = name.replace("\\", "/")
    parts = normal.split("/")
    return (
        normal.startswith("/")
        or bool(_DRIVE.match(normal))
        or ".." in parts
        or "\x00" in normal
        or not parts[-1]
    )


def printable(name: str) -> str:
    """A member name as messages show it: quoted, control characters escaped, capped."""
    shown_name = name if name.isprintable() else name.encode("unicode_escape").decode("ascii")
    return repr(shown_name[:120])


# --- certificate files ------------------------------------------------------------------------


def load_certificates(path: Path, role: str = "chain") -> tuple[CertificateFacts, ...]:
    """Every certificate of a PEM (one or more blocks) or DER file."""
    return certificates_from_bytes(read_bytes(path), f"{role} {shown(path)}")


def certificates_from_bytes(data: bytes, source: str) -> tuple[CertificateFacts, ...]:
    """Every certificate in ``data``; ArtifactError names what the bytes hold instead."""
    if data[:1] == b"\x30":
        if _is_der_csr(data):
            raise ArtifactError(
                f"{source}: the file holds a certificate request (CSR), not a certificate"
            )
        return (certificate_from_bytes(data, source),)
    blocks = find_pems(as_text(data))
    if len(blocks) < 2:  # the single-file decoder says precisely what the file holds
        return (certificate_from_bytes(data, source),)
    others = [b.label for b in blocks if b.label not in CERT_LABELS]
    if others:
        raise ArtifactError(
            f"{source}: the file holds {describe_label(others[0])} among its PEM blocks"
        )
    if any(b.footer_label != b.label for b in blocks):
        raise ArtifactError(f"{source}: the PEM text is cut short (a BEGIN line has no END line)")
    return tuple(
        _certificate_block(block.body, f"{source} (certificate {i})")
        for i, block in enumerate(blocks, 1)
    )


def _certificate_block(body: str, source: str) -> CertificateFacts:
    try:
        return certificate_from_der(b64decode(body), source)
    except ArtifactError as exc:
        raise ArtifactError(f"{source}: {exc}") from None


def _is_der_csr(data: bytes) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x509.load_der_x509_csr(data)
    except ValueError:
        return False
    return True
