"""Follow a certification path through a set of certificate files (manual 5.4, 5.5, 5.7.1.2).

The walk itself is :func:`certgate.x509.issuer_walk` (by issuer name and signature, never by
file names or list order); this module turns it into :class:`PathFacts`. A self-issued
certificate ends the path: a root is trusted by being present, so its own self-signature
(often SHA-1) is not checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from certgate import x509 as core
from certgate.files.facts import CertificateFacts, PathFacts, PathLink


def certification_path(
    leaf: CertificateFacts, pool: Sequence[CertificateFacts], source: str
) -> PathFacts:
    """The path from ``leaf`` through the certificates of ``pool`` (``leaf`` may be in it)."""
    facts = {c.sha256: c for c in (*pool, leaf)}
    decoded = {
        sha: x509.load_pem_x509_certificate(c.pem.encode("ascii")) for sha, c in facts.items()
    }
    by_cert = {cert: facts[sha] for sha, cert in decoded.items()}
    others = [decoded[c.sha256] for c in pool if c.sha256 != leaf.sha256]
    walk = core.issuer_walk(decoded[leaf.sha256], others)
    links = tuple(
        PathLink(
            by_cert[link.child],
            by_cert[link.issuer] if link.issuer is not None else None,
            link.signature.valid if link.signature is not None else None,
            link.signature.reason if link.signature is not None else None,
        )
        for link in walk.links
    )
    unused = tuple(by_cert[c] for c in walk.unused)
    return PathFacts(source, leaf, links, unused)
