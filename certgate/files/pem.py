"""Reading certificate files: bounded reads, text as Notepad saves it, and the one PEM framer.

Every loader of certgate reads files through here: ``read_bytes`` (a size cap, one-line
errors), ``as_text`` (UTF-8 with or without BOM, UTF-16) and ``find_pems`` (every PEM block,
however users mangled its boundaries, with what is wrong with them).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from pathlib import Path

from certgate.errors import ArtifactError

MAX_FILE_BYTES = 1024 * 1024  # a certificate or CSR is a few KiB; anything larger is wrong

CSR_LABELS = ("NEW CERTIFICATE REQUEST", "CERTIFICATE REQUEST")
CERT_LABELS = ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE")
# A PEM boundary as users mangle it: any number of dashes, spaces, glued Base64.
_LOOSE_BEGIN = re.compile(r"-+ *BEGIN ([A-Z0-9 #]+?) *-+")
_LOOSE_END = re.compile(r"-+ *END ([A-Z0-9 #]+?) *-+")


@dataclass(frozen=True)
class PemBlock:
    """One PEM block found in text, however mangled its boundaries.

    ``footer_label`` is None when the END line is missing; ``end`` is where the block ends.
    """

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


def as_text(data: bytes) -> str:
    """File bytes as text: Notepad's UTF-8 BOM and its 'Unicode' (UTF-16) saves included."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    return data.decode("ascii", errors="replace")


# --- PEM text -------------------------------------------------------------------------------


def find_pems(text: str) -> list[PemBlock]:
    """Every PEM block in ``text``, in order (a certreq dump holds several)."""
    blocks: list[PemBlock] = []
    pos = 0
    while (block := find_pem(text, pos)) is not None:
        blocks.append(block)
        pos = block.end
    return blocks


def find_pem(text: str, pos: int = 0) -> PemBlock | None:
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
    return PemBlock(
        label=label,
        body=text[begin.end() : body_end],
        header_exact=begin.group(0) == f"-----BEGIN {label}-----",
        header_own_line=own_line,
        footer_label=end.group(1).strip() if end else None,
        footer_exact=end is not None and end.group(0) == f"-----END {end.group(1).strip()}-----",
        end=end.end() if end else len(text),
    )


def b64decode(body: str) -> bytes:
    compact = "".join(body.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ArtifactError("the Base64 text is truncated or holds stray characters") from None


def framing_problems(block: PemBlock) -> tuple[str, ...]:
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


def describe_label(label: str) -> str:
    if "PRIVATE KEY" in label:
        return "a private key"
    if label in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"):
        return "a certificate"
    if label in CSR_LABELS:
        return "a certificate request (CSR)"
    if label in ("PKCS7", "CMS"):
        return "a PKCS#7 bundle"
    return f"a PEM {label!r} block"
