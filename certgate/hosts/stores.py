"""The trust a policy names (manual 5.4): sslyze's bundled stores by name, and/or root files.

One model of trust for the scan: which stores count for a target, the path validation of a
served chain against each of them (:func:`validate`, the same cryptography verifier sslyze's
``TrustStore`` runs, so the verdicts are sslyze's), its trust anchors for the issuer walk,
and the one file of custom roots sslyze takes. The store names themselves are
:data:`certgate.inventory.TRUST_STORES`.
"""

from __future__ import annotations

import functools
import ipaddress
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from certgate import x509 as core
from certgate.errors import ArtifactError
from certgate.files.pem import CERT_LABELS, as_text, b64decode, find_pems, read_bytes
from certgate.inventory import TRUST_STORES

DEFAULT_TRUST: tuple[str, ...] = ("mozilla", "microsoft")  # manual 5.4: the OS root stores
MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024


CUSTOM_STORE = "Supplied CA file"  # sslyze's name for the store of a custom_ca_file


class ScanConfigError(ValueError):
    """The trust policy names an unknown store or an unreadable file (a config problem)."""


class TrustStore(Protocol):
    """A store a path validation ran against: sslyze's ``TrustStore`` or a :class:`StoreRef`."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def version(self) -> str: ...


@dataclass(frozen=True)
class StoreRef:
    """One store by sslyze's name (``Mozilla``, ``Supplied CA file``), file and version."""

    name: str
    path: Path
    version: str


@dataclass(frozen=True)
class PathCheck:
    """One path validation of a served chain: against ``store``, the validated path leaf
    first (None: no path) or the verifier's reason."""

    store: TrustStore
    verified: tuple[x509.Certificate, ...] | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.verified is not None


@dataclass(frozen=True)
class Trust:
    """One policy.trust value, made ready.

    ``words`` as the policy writes them; ``stores`` the sslyze store names it counts
    ("Mozilla", "Windows"); ``custom_file`` the one PEM file of its own roots handed to
    sslyze (None: none), whose certificates are ``custom``.
    """

    words: tuple[str, ...]
    stores: frozenset[str]
    custom_file: Path | None
    custom: tuple[x509.Certificate, ...] = ()

    def describe(self) -> str:
        """The policy's trust list as written: ``mozilla, microsoft, root.cer``."""
        return ", ".join(self.words) or "no trust store"

    def counts(self, store: TrustStore) -> bool:
        """Whether sslyze's validation against ``store`` counts for this policy."""
        return store.name in self.stores or (
            self.custom_file is not None and Path(store.path) == self.custom_file
        )

    def label(self, store: TrustStore) -> str:
        """How the policy calls ``store``: ``mozilla``, or the root files' names."""
        by_name = {sslyze_name: word for word, sslyze_name in TRUST_STORES.items()}
        if store.name in by_name and store.name in self.stores:
            return by_name[store.name]
        return ", ".join(w for w in self.words if w not in TRUST_STORES)

    def stores_counted(self) -> tuple[StoreRef, ...]:
        """The stores whose validation counts: the named bundled ones, then the own roots."""
        # a policy of its own roots only never reads sslyze's stores (nor imports sslyze)
        bundled = tuple(s for s in bundled_stores() if s.name in self.stores) if self.stores else ()
        if self.custom_file is None:
            return bundled
        return (*bundled, StoreRef(CUSTOM_STORE, self.custom_file, "N/A"))

    def anchors(self, stores: Sequence[TrustStore]) -> core.Anchors:
        """The trust anchors, by subject: the counted bundled stores' roots and the files'
        (indexed once per set of stores, not once per address)."""
        _SEEN.update({s.name: s.version for s in stores})
        counted = tuple(sorted(str(s.path) for s in stores if s.name in self.stores))
        return _anchors(counted, self.custom)


_SEEN: dict[str, str] = {}  # sslyze store name -> version, as the scans used them


@functools.cache
def bundled_stores() -> tuple[StoreRef, ...]:
    """sslyze's bundled stores (Mozilla, Windows, ...), their files and versions."""
    from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import (
        TrustStoresRepository,
    )

    quiet_store_warnings()
    stores = TrustStoresRepository.get_default().get_all_stores()
    return tuple(StoreRef(s.name, Path(s.path), s.version) for s in stores)


def validate(
    chain: Sequence[x509.Certificate], host: str, address: str, trust: Trust
) -> tuple[PathCheck, ...]:
    """The served ``chain`` validated for ``host`` against every store ``trust`` counts.

    The check sslyze's certificate scan makes (its ``TrustStore.verify_certificate_chain``:
    cryptography's server verifier, as of the current time, the host name as subject, or
    the address when the host is one), made here so one handshake is enough."""
    subject: x509.DNSName | x509.IPAddress = x509.DNSName(host)
    if host == address:
        subject = x509.IPAddress(ipaddress.ip_address(address))
    moment = datetime.now(UTC)
    return tuple(
        _path_check(chain, subject, store, _x509_store(store, trust.custom), moment)
        for store in trust.stores_counted()
    )


def _path_check(
    chain: Sequence[x509.Certificate],
    subject: x509.DNSName | x509.IPAddress,
    store: StoreRef,
    roots: Store,
    moment: datetime,
) -> PathCheck:
    verifier = PolicyBuilder().store(roots).time(moment)
    try:
        path = verifier.build_server_verifier(subject).verify(chain[0], list(chain[1:]))
    except VerificationError as exc:
        return PathCheck(store, None, str(exc.args[0]) if exc.args else "not validated")
    return PathCheck(store, tuple(path), None)


def _x509_store(store: StoreRef, custom: tuple[x509.Certificate, ...]) -> Store:
    """The verifier's store: a bundled store's roots (read once per run), or the policy's own
    roots as already read from its files (not read again from the file made for sslyze)."""
    if store.name == CUSTOM_STORE:
        return _store_of(custom)
    return _store_of(_store_roots(store.path))


@functools.cache
def _store_of(roots: tuple[x509.Certificate, ...]) -> Store:
    return Store(list(roots))


def versions_seen() -> str:
    """``mozilla 2026-03-28, microsoft 2026-03-28, ...`` of the stores this run's scans used."""
    by_name = {sslyze_name: word for word, sslyze_name in TRUST_STORES.items()}
    return ", ".join(f"{by_name[n]} {v}" for n, v in sorted(_SEEN.items()) if n in by_name)


def prepare_trust(spec: Sequence[str | Path], workdir: Path) -> Trust:
    """Check every store name and file; concatenate the files (sslyze takes only one)."""
    stores: set[str] = set()
    custom: list[x509.Certificate] = []
    for item in spec:
        if isinstance(item, str) and item in TRUST_STORES:
            stores.add(TRUST_STORES[item])
        elif isinstance(item, str) and not Path(item).exists() and item.isalpha():
            known = ", ".join(TRUST_STORES)
            raise ScanConfigError(f"unknown trust store {item!r}: use {known} or a PEM file")
        else:
            custom += read_trust_file(Path(item))
    custom_file = _write_pem(custom, workdir) if custom else None
    words = tuple(
        str(i) if isinstance(i, str) and i in TRUST_STORES else Path(i).name for i in spec
    )
    return Trust(words, frozenset(stores), custom_file, tuple(custom))


def check_trust(spec: Sequence[str | Path]) -> None:
    """Raise ScanConfigError when a trust policy cannot be used (unknown store, bad file)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="certgate-trust-") as workdir:
        prepare_trust(spec, Path(workdir))


def read_trust_file(path: Path) -> list[x509.Certificate]:
    """Root certificates from a PEM file (one or many) or a DER .cer, as the CA mails them."""
    try:
        data = read_bytes(path, MAX_TRUST_FILE_BYTES)
    except ArtifactError as exc:
        raise ScanConfigError(f"trust file {exc}") from None
    try:
        if data[:1] == b"\x30":
            return [x509.load_der_x509_certificate(data)]
        blocks = [b for b in find_pems(as_text(data)) if b.label in CERT_LABELS]
        found = [x509.load_der_x509_certificate(b64decode(b.body)) for b in blocks]
    except (ValueError, ArtifactError):
        found = []
    if not found:
        raise ScanConfigError(
            f"trust file {path}: not a PEM or DER certificate (nor a store name: "
            f"{', '.join(TRUST_STORES)})"
        )
    return found


def _write_pem(certs: Sequence[x509.Certificate], workdir: Path) -> Path:
    """One PEM file holding ``certs``: sslyze's custom_ca_file takes a single file."""
    path = workdir / f"trust-{len(list(workdir.iterdir()))}.pem"
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


@functools.cache
def _anchors(store_paths: tuple[str, ...], custom: tuple[x509.Certificate, ...]) -> core.Anchors:
    found: dict[x509.Name, tuple[x509.Certificate, ...]] = {}
    for cert in (*(c for p in store_paths for c in _store_roots(Path(p))), *custom):
        found[cert.subject] = (*found.get(cert.subject, ()), cert)
    return found


@functools.cache
def _store_roots(path: Path) -> tuple[x509.Certificate, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return tuple(x509.load_pem_x509_certificates(path.read_bytes()))


def quiet_store_warnings() -> None:
    """A few roots in sslyze's bundled stores have a non-positive serial, and cryptography
    warns when it parses them. sslyze parses its stores inside a scanner thread, where a
    warnings-as-errors filter (the self-tests run with one) would fail the scan: this one
    warning is ignored, process-wide, from the first scan on."""
    warnings.filterwarnings(
        "ignore", message=r".*serial number.*", category=CryptographyDeprecationWarning
    )
