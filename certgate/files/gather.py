"""Gather each file's facts once per run; checks then read them many times.

Results and failures are both cached, keyed by the file (and the password variable that
opens it), not by the target: a file that several targets name (one wildcard certificate
for a fleet, say) is read once, and a file that cannot be read is read (and reported) once,
every item that needs it getting the same one-line reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from certgate.errors import ArtifactError
from certgate.files.bundle import load_bundle, load_certificates
from certgate.files.certificates import load_certificate
from certgate.files.facts import (
    BundleFacts,
    BundleRole,
    CertificateFacts,
    CsrFacts,
    Fingerprint,
    KeyFacts,
    Pairing,
    PairingFacts,
    PathFacts,
    PfxEncryptionFacts,
    PfxFacts,
    ValidityFacts,
)
from certgate.files.keys import (
    PasswordSource,
    load_private_key,
    pfx_facts,
    pfx_protection,
    pfx_source,
)
from certgate.files.path import certification_path
from certgate.files.pem import read_bytes
from certgate.files.requests import load_csr
from certgate.hosts.gather import HostGatherer
from certgate.inventory import Target
from certgate.pages.fetch import PageGatherer

T = TypeVar("T")


class Gatherer:
    """Loads and caches the facts of every target's files, keyed by (what, file, ...)."""

    def __init__(
        self, hosts: HostGatherer | None = None, pages: PageGatherer | None = None
    ) -> None:
        self._cache: dict[tuple[object, ...], object] = {}
        self.hosts = hosts or HostGatherer(datetime.now(UTC), timeout=5.0)
        self.pages = pages or PageGatherer(timeout=self.hosts.timeout)

    def _once(self, key: tuple[object, ...], load: Callable[[], T]) -> T:
        if key not in self._cache:
            try:
                self._cache[key] = load()
            except ArtifactError as exc:
                self._cache[key] = exc
        value = self._cache[key]
        if isinstance(value, ArtifactError):
            raise value
        return value  # type: ignore[return-value]

    def csr(self, target: Target) -> CsrFacts:
        """The target's CSR file, however badly framed (csr-format judges the framing)."""
        assert target.csr is not None
        path = target.csr
        return self._once(("csr", path), lambda: load_csr(path))

    def decoded_csr(self, target: Target) -> CsrFacts:
        """The CSR, when it decodes; ArtifactError says why not."""
        facts = self.csr(target)
        if facts.decode_error is not None:
            raise ArtifactError(f"{facts.source}: cannot decode the request: {facts.decode_error}")
        return facts

    def certificate(self, target: Target) -> CertificateFacts:
        """The target's server certificate file."""
        assert target.certificate is not None
        path = target.certificate
        return self._once(("certificate", path), lambda: load_certificate(path))

    # --- cert.zip, chain files, private key, PKCS#12 (manual 5.3-5.10) ---------------------

    def bundle(self, target: Target) -> BundleFacts:
        """The target's cert.zip, read in memory."""
        assert target.bundle is not None
        path = target.bundle
        return self._once(("bundle", path), lambda: load_bundle(path))

    def bundle_server(self, target: Target) -> CertificateFacts:
        """The certificate in the bundle's server.cer; ArtifactError when there is none."""
        bundle = self.bundle(target)
        members = bundle.with_role(BundleRole.SERVER)
        if len(members) != 1 or members[0].certificate is None:
            why = members[0].problem if len(members) == 1 else "it has no single server.cer"
            raise ArtifactError(f"{bundle.source}: no server certificate to audit: {why}")
        return members[0].certificate

    def bundle_certificates(self, target: Target) -> tuple[CertificateFacts, ...]:
        """Every certificate of the bundle's root, intermediate and server files; ArtifactError
        when one of them cannot be read (validity must not pass on what it never saw)."""
        bundle = self.bundle(target)
        self.bundle_server(target)
        unread = [m for m in bundle.members if m.role is not None and m.certificate is None]
        if unread:
            what = "; ".join(f"{m.name}: {m.problem}" for m in unread)
            raise ArtifactError(f"{bundle.source}: cannot read every certificate: {what}")
        return bundle.certificates()

    def chain_files(self, target: Target) -> tuple[CertificateFacts, ...]:
        """Every certificate of the target's ``chain`` files, in list order."""
        files = target.chain
        return self._once(
            ("chain", *files), lambda: tuple(c for p in files for c in load_certificates(p))
        )

    def private_key(self, target: Target) -> KeyFacts:
        """The public half of the target's private key file."""
        assert target.private_key is not None
        path = target.private_key
        password = PasswordSource(target.private_key_password_env, "private_key_password_env")
        key = ("private_key", path, target.private_key_password_env)
        return self._once(key, lambda: load_private_key(path, password))

    def pfx(self, target: Target) -> PfxFacts:
        """The target's PKCS#12 file, opened with its password."""
        assert target.pfx is not None
        path = target.pfx
        password = PasswordSource(target.pfx_password_env, "pfx_password_env")
        return self._once(
            ("pfx", path, target.pfx_password_env),
            lambda: pfx_facts(self._pfx_bytes(target), pfx_source(path), password),
        )

    def _pfx_bytes(self, target: Target) -> bytes:
        """The PFX file, read once for both pfx() and pfx_protection()."""
        assert target.pfx is not None
        path = target.pfx
        return self._once(("pfx bytes", path), lambda: read_bytes(path))

    def pfx_server(self, target: Target) -> CertificateFacts:
        """The PFX's server certificate; ArtifactError when it holds none."""
        pfx = self.pfx(target)
        if pfx.server is None:
            raise ArtifactError(f"{pfx.source}: holds no server certificate to audit")
        return pfx.server

    def pfx_key(self, target: Target) -> KeyFacts:
        """The PFX's private key (its public half), else its server certificate's key."""
        pfx = self.pfx(target)
        return pfx.key if pfx.key is not None else self.pfx_server(target).key

    def pfx_protection(self, target: Target) -> PfxEncryptionFacts:
        """How the target's PKCS#12 file is protected (needs no password)."""
        assert target.pfx is not None
        path = target.pfx
        return self._once(
            ("pfx_protection", path),
            lambda: pfx_protection(self._pfx_bytes(target), pfx_source(path)),
        )

    # --- certification paths (manual 5.4, 5.5, 5.7.1.2) ------------------------------------

    def bundle_path(self, target: Target) -> PathFacts:
        """The path from the bundle's server.cer through the bundle's certificates."""
        bundle = self.bundle(target)
        server = self.bundle_server(target)
        return certification_path(server, bundle.certificates(), bundle.source)

    def chain_path(self, target: Target) -> PathFacts:
        """The path from the target's certificate through its ``chain`` files."""
        pool = self.chain_files(target)
        if target.certificate is not None:
            leaf = self.certificate(target)
            return certification_path(leaf, pool, f"{leaf.source} + chain files")
        leaves = [c for c in pool if not c.is_ca]
        if len(leaves) != 1:
            raise ArtifactError(
                f"target {target.name}: the chain files hold {len(leaves)} server certificates "
                "and no certificate is given: cannot tell where the path starts"
            )
        return certification_path(leaves[0], pool, "chain files")

    def pfx_path(self, target: Target) -> PathFacts:
        """The path from the PFX's server certificate through its certificates."""
        pfx = self.pfx(target)
        if pfx.path is None:
            raise ArtifactError(f"{pfx.source}: holds no server certificate to start a path from")
        return pfx.path

    # --- validity (manual 5.7.1.1): the server certificate and its path, per source -------

    def certificate_validity(self, target: Target) -> ValidityFacts:
        """The target's certificate and its path through its ``chain`` files, if any."""
        if not target.chain:
            leaf = self.certificate(target)
            return ValidityFacts(leaf.source, (leaf,))
        return validity_of(self.chain_path(target))

    def bundle_validity(self, target: Target) -> ValidityFacts:
        """cert.zip's server.cer and its path; every file must be read (a root's dates too)."""
        self.bundle_certificates(target)
        return validity_of(self.bundle_path(target))

    def pfx_validity(self, target: Target) -> ValidityFacts:
        """The PFX's key certificate and its path; its other certificates are only listed."""
        return validity_of(self.pfx_path(target))

    # --- key match (manual 5.7.1.1, 6.4) ---------------------------------------------------

    def server_sources(self, target: Target) -> tuple[CertificateFacts, ...]:
        """The server certificate from each source the target gives, in the order
        ``certificate``, the bundle's server.cer, the PFX."""
        loaders = (
            (target.certificate, self.certificate),
            (target.bundle, self.bundle_server),
            (target.pfx, self.pfx_server),
        )
        return tuple(load(target) for given, load in loaders if given)

    def key_pairing(self, target: Target) -> PairingFacts:
        """The private key against the target's server certificate."""
        key = self.private_key(target)
        return _key_pairing(Pairing.PRIVATE_KEY, self.server_sources(target)[0], key)

    def csr_pairing(self, target: Target) -> PairingFacts:
        """The CSR's public key against the target's server certificate."""
        csr = self.decoded_csr(target)
        assert csr.key is not None  # decoded_csr guarantees it
        return _key_pairing(Pairing.CSR, self.server_sources(target)[0], csr.key)

    def copies_pairing(self, target: Target) -> PairingFacts:
        """Every source of the server certificate against the first one."""
        first, *others = self.server_sources(target)
        return PairingFacts(
            Pairing.COPIES, first, _cert_print(first), tuple(_cert_print(c) for c in others)
        )


def validity_of(path: PathFacts) -> ValidityFacts:
    """What validity judges of a path: its certificates; the files' others are listed."""
    return ValidityFacts(path.source, path.certificates, path.unused)


def server_source_count(target: Target) -> int:
    """How many sources of the server certificate the target gives (certificate, bundle, PFX)."""
    return sum(1 for given in (target.certificate, target.bundle, target.pfx) if given)


def _key_pairing(kind: Pairing, cert: CertificateFacts, key: KeyFacts) -> PairingFacts:
    expected = Fingerprint(cert.source, cert.key.spki_sha256, f"for the key {_key_words(cert.key)}")
    return PairingFacts(
        kind, cert, expected, (Fingerprint(key.source, key.spki_sha256, _key_words(key)),)
    )


def _key_words(key: KeyFacts) -> str:
    return f"{key.describe()} (SPKI SHA-256 {key.spki_sha256[:16]}...)"


def _cert_print(cert: CertificateFacts) -> Fingerprint:
    return Fingerprint(cert.source, cert.sha256, cert.label())
