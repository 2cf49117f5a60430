"""Certificate requests (manual 5.1.8, 5.2.5) -> facts: how the file is framed, what it says,
and whether its self-signature verifies with the hash it names (SHA-1 included, as IIS signs).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from certgate import x509 as core
from certgate.errors import ArtifactError
from certgate.files import der, lenient
from certgate.files.certificates import (
    _dns_names,
    _first_line,
    key_facts,
    spki_key_facts,
    subject_facts,
)
from certgate.files.facts import (
    CsrFacts,
    CsrFraming,
    KeyFacts,
    SubjectFacts,
)
from certgate.files.pem import (
    CSR_LABELS,
    as_text,
    b64decode,
    describe_label,
    find_pems,
    framing_problems,
    read_bytes,
    shown,
)


def load_csr(path: Path) -> CsrFacts:
    """Read a CSR file. Raises ArtifactError only when the file cannot be read at all."""
    data = read_bytes(path)
    source = f"CSR {shown(path)}"
    if data[:1] == b"\x30":
        der_problem = ("the file is binary DER; the manual's request file is Base64 text",)
        return _csr_from_der(data, source, CsrFraming.DER, der_problem)
    blocks = find_pems(as_text(data))
    if not blocks:
        return _undecodable(source, CsrFraming.NOT_A_CSR, "the file holds no PEM BEGIN line")
    requests = [b for b in blocks if b.label in CSR_LABELS]
    if not requests:
        what = describe_label(blocks[0].label)
        return _undecodable(source, CsrFraming.NOT_A_CSR, f"the file holds {what}, not a CSR")
    block = requests[0]
    problems = framing_problems(block)
    if len(requests) > 1:  # the CA would not know which one to sign
        problems += (f"the file holds {len(requests)} requests; submit exactly one",)
    notes = tuple(
        f"{describe_label(b.label)} beside the request was left aside"
        for b in blocks
        if b.label not in CSR_LABELS
    )
    framing = CsrFraming.MANGLED_PEM if problems else CsrFraming.PEM
    try:
        der_bytes = b64decode(block.body)
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
    with warnings.catch_warnings():  # cryptography parses the subject lazily: C=TWN warns here
        warnings.simplefilter("ignore")
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
