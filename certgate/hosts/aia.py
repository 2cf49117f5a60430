"""The issuer a certificate names by URL (AIA caIssuers), fetched bounded, once per URL per run.

When the last certificate a server sends names an issuer that is neither sent nor a trust
anchor, nothing in the chain tells a missing intermediate from an untrusted root. The
certificate's own caIssuers URL does, as SSL Labs shows: certgate fetches it (plain
``http:``, as CAs publish it), at most ``MAX_BYTES`` within the host timeout, and only
when ``--offline`` is not given. The answer is DER, PEM or a certs-only PKCS#7 (``.p7c``).
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from certgate import x509 as core
from certgate.hosts.trust import MissingIssuer, describe

MAX_BYTES = 64 * 1024  # a CA certificate is 1-2 KiB; a .p7c with a few is under 10 KiB
_CA_ISSUERS = x509.oid.AuthorityInformationAccessOID.CA_ISSUERS


def issuer_urls(cert: x509.Certificate) -> tuple[str, ...]:
    """The caIssuers URLs (http/https) of the certificate's AIA extension."""
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    return tuple(
        d.access_location.value
        for d in access
        if d.access_method == _CA_ISSUERS
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
        and d.access_location.value.lower().startswith(("http://", "https://"))
    )


@dataclass
class IssuerFetcher:
    """Fetches issuer URLs, each once per run (the answer, or why not, is kept)."""

    timeout: float
    offline: bool = False
    _cache: dict[str, list[x509.Certificate] | str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def lookup(self, top: x509.Certificate, anchors: core.Anchors) -> MissingIssuer | None:
        """What the issuer URL of ``top`` says about its missing issuer; None when offline
        or ``top`` names no URL."""
        urls = issuer_urls(top)
        if self.offline or not urls:
            return None
        answer = self.fetch(urls[0])
        if isinstance(answer, str):
            return MissingIssuer(urls[0], None, False, f"its issuer URL {urls[0]}: {answer}")
        issuer = next((c for c in answer if core.cert_signature(top, c).valid), None)
        if issuer is None:
            note = f"its issuer URL {urls[0]} holds no certificate that issued it"
            return MissingIssuer(urls[0], None, False, note)
        anchored = core.issuer_walk(issuer, (), anchors).anchor is not None
        note = f"fetched from its issuer URL {urls[0]}: {describe(issuer)}"
        return MissingIssuer(urls[0], issuer, anchored, note)

    def fetch(self, url: str) -> list[x509.Certificate] | str:
        """The certificates at ``url``, or a one-line reason."""
        with self._lock:
            if url not in self._cache:
                self._cache[url] = _fetch(url, self.timeout)
            return self._cache[url]


def _fetch(url: str, timeout: float) -> list[x509.Certificate] | str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"cannot fetch it ({reason})"
    if len(data) > MAX_BYTES:
        return f"the answer is larger than {MAX_BYTES // 1024} KiB, not a certificate"
    found = parse_certificates(data)
    return found if found else "the answer is not a certificate"


def parse_certificates(data: bytes) -> list[x509.Certificate]:
    """Certificates from DER, PEM or a certs-only PKCS#7 (empty when none)."""
    loaders: Sequence[Callable[[bytes], Sequence[x509.Certificate]]] = (
        lambda d: [x509.load_der_x509_certificate(d)],
        x509.load_pem_x509_certificates,
        pkcs7.load_der_pkcs7_certificates,
        pkcs7.load_pem_pkcs7_certificates,
    )
    for load in loaders:
        try:
            return list(load(data))
        except ValueError:
            continue
    return []
