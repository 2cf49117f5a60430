"""Follow a certification path through a set of certificates (manual 5.4, 5.5, 5.7.1.2).

The path goes by issuer links, never by file names or list order: from the server
certificate, each step takes a certificate whose subject is the current one's issuer name,
preferring one whose key verifies the signature (a CA re-keyed under the same name has two
candidates). A self-issued certificate ends the path: a root is trusted by being present,
so its own self-signature (often SHA-1) is not checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from certgate.facts import CertificateFacts, PathFacts, PathLink

MAX_LEVELS = 10  # far above a 4-tier path; bounds the walk over hostile input


def certification_path(
    leaf: CertificateFacts, pool: Sequence[CertificateFacts], source: str
) -> PathFacts:
    """The path from ``leaf`` through the certificates of ``pool`` (``leaf`` may be in it)."""
    decoded = {c.sha256: x509.load_pem_x509_certificate(c.pem.encode("ascii")) for c in pool}
    decoded.setdefault(leaf.sha256, x509.load_pem_x509_certificate(leaf.pem.encode("ascii")))
    remaining = {c.sha256: c for c in pool if c.sha256 != leaf.sha256}
    links: list[PathLink] = []
    current = leaf
    while not current.self_issued and len(links) < MAX_LEVELS:
        link = _next_link(current, list(remaining.values()), decoded)
        links.append(link)
        if link.issuer is None:
            break
        current = link.issuer
        del remaining[current.sha256]
    return PathFacts(source, leaf, tuple(links), tuple(remaining.values()))


def _next_link(
    child: CertificateFacts,
    candidates: list[CertificateFacts],
    decoded: dict[str, x509.Certificate],
) -> PathLink:
    """The link from ``child`` to its issuer among ``candidates`` (issuer None: not found)."""
    wanted = decoded[child.sha256].issuer
    named = [c for c in candidates if decoded[c.sha256].subject == wanted]
    if not named:
        return PathLink(child, None, None)
    verdicts = [(c, signed_by(decoded[child.sha256], decoded[c.sha256])) for c in named]
    issuer, valid = next(((c, v) for c, v in verdicts if v), verdicts[0])
    return PathLink(child, issuer, valid)


def signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool | None:
    """Whether ``issuer``'s key verifies ``child``'s signature (None: cannot be checked)."""
    try:
        child.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return True
