"""The hardening profile's cipher-suite enumeration, fast: a few ClientHellos per version.

sslyze's per-version scan commands make one handshake per candidate suite (about 529 per
endpoint). This module finds the same accepted suites, named the same, with the same
ephemeral keys, in about ``accepted + 3`` handshakes per version (HARDENING.md §E.3 2-4):

- **Same candidates, same clients.** The candidates of a version are sslyze's own
  (``CipherSuitesRepository``), offered by the nassl client sslyze uses for each suite: the
  legacy one (OpenSSL 1.0.2) for SSL 2.0-TLS 1.1 and for every TLS 1.2 suite it knows, the
  modern one (OpenSSL 1.1.1) for the other TLS 1.2 suites and TLS 1.3. The client decides the
  groups and signature algorithms offered, hence the ephemeral key the server picks.
- **Pre-check.** One ClientHello offering all the legacy client's suites of a version
  (at most :data:`MAX_PRECHECK` of them); refused: the version is off, nothing else is sent.
- **Iterative removal.** Offer a bundle (at most :data:`MAX_BUNDLE` suites, interleaved),
  record the suite the server chose, remove it, offer the rest, until the server refuses.
  Bundles of one version run side by side. Both OpenSSL clients always send
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV (or the renegotiation_info extension) in an initial
  handshake, which some servers require (rbsec/sslscan#280).
- **Guard rails.** A server that picks a suite it was not offered, a connection that fails
  before the TLS handshake, or an OpenSSL error sslyze does not know make the version
  :class:`Unsettled`: the caller hands that version to sslyze's per-suite command instead.

Refusals are read as sslyze reads them (``sslyze.connection_helpers.tls_connection``): the
same alerts and errors count as "rejected", a handshake timeout counts as rejected, "DH key
too small" and a client-certificate request count as accepted. Results are sorted as sslyze
sorts them (by name, descending), so a :class:`VersionScan` equals the one sslyze's command
gives.
"""

from __future__ import annotations

import enum
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from nassl import _nassl
from nassl.ephemeral_key_info import (
    DhEphemeralKeyInfo,
    EcDhEphemeralKeyInfo,
    EphemeralKeyInfo,
    OpenSslEcNidEnum,
)
from nassl.legacy_ssl_client import LegacySslClient
from nassl.ssl_client import (
    BaseSslClient,
    ClientCertificateRequested,
    OpenSslVerifyEnum,
    OpenSslVersionEnum,
    SslClient,
)
from sslyze import CipherSuite, ScanCommand, TlsVersionEnum
from sslyze.plugins.openssl_cipher_suites.cipher_suites import CipherSuitesRepository

from certgate.hosts.facts import (
    VERSION_LABELS,
    AcceptedSuite,
    AttemptStatus,
    CommandAttempt,
    Endpoint,
    GroupScan,
    VersionScan,
)

__all__ = [
    "MAX_BUNDLE",
    "MAX_PRECHECK",
    "VERSIONS",
    "Enumeration",
    "Unsettled",
    "all_groups",
    "enumerate_all",
    "enumerate_endpoint",
    "groups_at",
    "kex",
    "key_exchange",
    "offered",
    "remove_until_refused",
]

# The versions of the hardening profile, in order: label, sslyze's version, its scan command.
VERSIONS: tuple[tuple[str, TlsVersionEnum, ScanCommand], ...] = tuple(
    zip(
        VERSION_LABELS,
        (
            TlsVersionEnum.SSL_2_0,
            TlsVersionEnum.SSL_3_0,
            TlsVersionEnum.TLS_1_0,
            TlsVersionEnum.TLS_1_1,
            TlsVersionEnum.TLS_1_2,
            TlsVersionEnum.TLS_1_3,
        ),
        (
            ScanCommand.SSL_2_0_CIPHER_SUITES,
            ScanCommand.SSL_3_0_CIPHER_SUITES,
            ScanCommand.TLS_1_0_CIPHER_SUITES,
            ScanCommand.TLS_1_1_CIPHER_SUITES,
            ScanCommand.TLS_1_2_CIPHER_SUITES,
            ScanCommand.TLS_1_3_CIPHER_SUITES,
        ),
        strict=True,
    )
)
# ClientHellos with more suites trip some servers and middleboxes (testssl.sh sends at most
# 128, mozilla/cipherscan PR #58); the legacy client's 121 suites of SSL 3.0-TLS 1.1 fit in
# one pre-check; removal bundles are smaller, so each version's chains run side by side.
MAX_PRECHECK = 128
MAX_BUNDLE = 64
CONNECT_RETRIES = 2  # as certgate's sslyze scan (network_max_retries)
# At most this many handshakes at once to one address, whatever number of host names it
# serves (sslyze's per-server limit in certgate's scan: HARDENING_CONNECTIONS).
PER_ADDRESS = 10
# Refusals that may be the network's (a server out of connections closes them so), not the
# server's verdict on the suites: asked once more before they end a chain. Not timeouts: a
# server that stalls on a version would cost twice the timeout.
_DOUBTFUL = ("Server rejected the connection", "Server interrupted the TLS handshake")

# OpenSSL errors sslyze reads as "the server rejected the handshake" (tls_connection.py).
_REJECTED = (
    "excessive message size",
    "bad mac decode",
    "wrong version number",
    "no cipher match",
    "bad decompression",
    "peer error no cipher",
    "no cipher list",
    "insufficient security",
    "block type is not 01",
    "wrong ssl version",
    "digest check failed",
    "sslv3 alert handshake failure",
    "tlsv1 alert protocol version",
    "tlsv1 alert decrypt error",
    "tlsv1 alert decode error",
    "Connection was shut down by peer",
    "bad record mac",
    "tlsv1 alert internal error",
    "illegal padding",
    "invalid padding",
    "illegal parameter",
    "wrong certificate type",
    "invalid encoding",
    "certificate unknown",
)


class Client(enum.Enum):
    """The nassl client that offers a suite: OpenSSL 1.0.2 (legacy) or 1.1.1 (modern)."""

    LEGACY = "legacy"
    MODERN = "modern"


@dataclass(frozen=True)
class Bundle:
    """Suites offered together by one client at one version, by their OpenSSL names."""

    version: TlsVersionEnum
    client: Client
    names: tuple[str, ...]


@dataclass(frozen=True)
class Accepted:
    """The server completed a handshake choosing ``name`` (OpenSSL's name) with ``key``
    (:func:`key_exchange`'s text), the key's ``curve`` and ``bits`` (:func:`kex`)."""

    name: str
    key: str | None
    curve: str | None = None
    bits: int | None = None


@dataclass(frozen=True)
class Refused:
    """The server refused every suite offered (``reason`` as sslyze words it)."""

    reason: str


@dataclass(frozen=True)
class Unsettled:
    """The fast way cannot vouch for this version; sslyze's per-suite command must run."""

    version: str
    command: ScanCommand
    reason: str


class Inconsistent(Exception):
    """A handshake whose outcome the removal cannot trust (see the module's guard rails)."""


Offer = Callable[[Bundle], Accepted | Refused]


@dataclass(frozen=True)
class Enumeration:
    """One endpoint's versions: ``settled`` by the fast way (a :class:`VersionScan` each, in
    :data:`VERSIONS` order), ``unsettled`` the ones left to sslyze's per-suite commands;
    ``groups`` the ECDHE groups accepted at each version with an ECDHE suite (only versions
    where one was; None: not settled, sslyze's ELLIPTIC_CURVES must run)."""

    settled: tuple[VersionScan, ...]
    unsettled: tuple[Unsettled, ...] = ()
    groups: tuple[GroupScan, ...] | None = None


# --- the candidates -----------------------------------------------------------------------------


@cache
def _legacy_names(version: TlsVersionEnum) -> frozenset[str]:
    """The suites OpenSSL 1.0.2 (nassl's legacy client) can offer: sslyze's test for TLS 1.2."""
    client = LegacySslClient(ssl_version=OpenSslVersionEnum(version.value))
    client.set_cipher_list("ALL:COMPLEMENTOFALL")
    return frozenset(client.get_cipher_list())


def _client_for(version: TlsVersionEnum, suite: CipherSuite) -> Client:
    """The client sslyze's cipher-suite plugin uses for ``suite`` (_test_cipher_suite.py)."""
    if version is TlsVersionEnum.TLS_1_3:
        return Client.MODERN
    if version is TlsVersionEnum.TLS_1_2:
        legacy = suite.openssl_name in _legacy_names(TlsVersionEnum.TLS_1_2)
        return Client.LEGACY if legacy else Client.MODERN
    return Client.LEGACY


@cache
def candidates(version: TlsVersionEnum) -> Mapping[str, CipherSuite]:
    """sslyze's candidate suites of ``version`` by OpenSSL name, in a stable order."""
    suites = CipherSuitesRepository.get_all_cipher_suites(version)
    return {s.openssl_name: s for s in sorted(suites, key=lambda s: s.name)}


def by_client(version: TlsVersionEnum, client: Client) -> tuple[str, ...]:
    """The OpenSSL names of ``version``'s candidates that ``client`` offers."""
    found = candidates(version).values()
    return tuple(s.openssl_name for s in found if _client_for(version, s) is client)


def bundles(version: TlsVersionEnum, client: Client, names: Sequence[str]) -> list[Bundle]:
    """``names`` in interleaved bundles of at most :data:`MAX_BUNDLE` suites."""
    count = -(-len(names) // MAX_BUNDLE)
    return [Bundle(version, client, tuple(names[i::count])) for i in range(count)]


# --- one handshake ------------------------------------------------------------------------------


def _client(bundle: Bundle, host: str) -> BaseSslClient:
    kind = LegacySslClient if bundle.client is Client.LEGACY else SslClient
    client = kind(
        ssl_version=OpenSslVersionEnum(bundle.version.value),
        ssl_verify=OpenSslVerifyEnum.NONE,
        ignore_client_authentication_requests=True,
    )
    offered = ":".join(bundle.names)
    if bundle.version is TlsVersionEnum.TLS_1_3:
        assert isinstance(client, SslClient)
        client.set_ciphersuites(offered)
    else:
        client.set_cipher_list(offered)
    if bundle.version is not TlsVersionEnum.SSL_2_0:
        client.set_tlsext_host_name(host)
    return client


def _connect(endpoint: Endpoint, timeout: float) -> socket.socket:
    """A TCP connection, retried on timeouts; Inconsistent when the port does not answer."""
    for attempt in range(CONNECT_RETRIES):
        try:
            return socket.create_connection((endpoint.address, endpoint.port), timeout=timeout)
        except TimeoutError:
            if attempt + 1 == CONNECT_RETRIES:
                raise Inconsistent("connection to the server timed out") from None
        except OSError as exc:
            raise Inconsistent(f"connection failed: {exc}") from None
    raise AssertionError("unreachable")


def handshake(endpoint: Endpoint, bundle: Bundle, timeout: float) -> Accepted | Refused:
    """Offer ``bundle`` to ``endpoint``; what the server chose, or its refusal. A refusal
    without a TLS alert (reset, closed) is asked once more before it is believed.

    Raises Inconsistent when the outcome cannot be read the way sslyze reads it."""
    with _address_slot(endpoint):
        outcome = _handshake_once(endpoint, bundle, timeout)
        if isinstance(outcome, Refused) and outcome.reason in _DOUBTFUL:
            outcome = _handshake_once(endpoint, bundle, timeout)
    return outcome


_SLOTS: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


def _address_slot(endpoint: Endpoint) -> threading.BoundedSemaphore:
    with _SLOTS_LOCK:
        key = (endpoint.address, endpoint.port)
        return _SLOTS.setdefault(key, threading.BoundedSemaphore(PER_ADDRESS))


def _handshake_once(endpoint: Endpoint, bundle: Bundle, timeout: float) -> Accepted | Refused:
    client = _client(bundle, endpoint.host)
    return _connected(client, endpoint, timeout, lambda: _outcome(client, bundle))


R = TypeVar("R")


def _connected(
    client: BaseSslClient, endpoint: Endpoint, timeout: float, handshake: Callable[[], R]
) -> R:
    """``handshake`` over a new connection to the endpoint, closed whatever it gives."""
    sock = _connect(endpoint, timeout)
    client.set_underlying_socket(sock)
    try:
        return handshake()
    finally:
        _close(client, sock)


def _close(client: BaseSslClient, sock: socket.socket) -> None:
    """Close the connection; the outcome is already read, so a failed TLS close is no news."""
    try:
        client.shutdown()
    except (OSError, _nassl.OpenSSLError):
        pass
    finally:
        sock.close()


def _outcome(client: BaseSslClient, bundle: Bundle) -> Accepted | Refused:
    try:
        client.do_handshake()
    except ClientCertificateRequested:
        pass  # the server took the suite; it also wants a certificate (sslyze: accepted)
    except TimeoutError:
        return Refused("Connection to server timed out during the TLS handshake")
    except ConnectionError:
        return Refused("Server rejected the connection")
    except OSError as exc:
        if "Nassl SSL handshake failed" not in str(exc.args):
            raise Inconsistent(f"network error: {exc}") from None
        return Refused("Server interrupted the TLS handshake")
    except _nassl.OpenSSLError as exc:
        return _openssl_error(client, bundle, str(exc.args[0]))
    return _chosen(client, bundle, client.get_ephemeral_key())


def _openssl_error(client: BaseSslClient, bundle: Bundle, message: str) -> Accepted | Refused:
    if "dh key too small" in message:
        return _chosen(client, bundle, None)  # sslyze: supported, the DH group is too weak
    if "no ciphers available" in message:
        return Refused("no suite left that this client can offer at this version")
    rejected = next((r for r in _REJECTED if r in message), None)
    if rejected is None:
        raise Inconsistent(f"unexpected OpenSSL error: {message}")
    return Refused(rejected)


def _chosen(client: BaseSslClient, bundle: Bundle, key: EphemeralKeyInfo | None) -> Accepted:
    return Accepted(client.get_current_cipher_name() or "", key_exchange(key), *kex(key))


def key_exchange(key: EphemeralKeyInfo | None) -> str | None:
    """ "ECDH X25519 (253 bits)", "DH 2048 bits", or None (static RSA: no ephemeral key)."""
    if isinstance(key, EcDhEphemeralKeyInfo):
        return f"ECDH {key.curve_name} ({key.size} bits)"
    if isinstance(key, DhEphemeralKeyInfo):
        return f"DH {key.size} bits"
    return None if key is None else f"ephemeral {key.size} bits"


def kex(key: EphemeralKeyInfo | None) -> tuple[str | None, int | None]:
    """The ephemeral key as (ECDHE group, bits), (None, bits) for DHE, (None, None) else."""
    if isinstance(key, EcDhEphemeralKeyInfo):
        return key.curve_name, key.size
    if isinstance(key, DhEphemeralKeyInfo):
        return None, key.size
    return None, None


# --- removal ------------------------------------------------------------------------------------


def offered(offer: Offer, bundle: Bundle) -> Accepted | Refused:
    """``offer(bundle)``; Inconsistent if the server chose a suite it was not offered
    (Internet.nl PR #2085): the version's removal cannot be trusted."""
    outcome = offer(bundle)
    if isinstance(outcome, Accepted) and outcome.name not in bundle.names:
        raise Inconsistent(f"the server chose {outcome.name or 'no suite'!r}, not offered")
    return outcome


def remove_until_refused(offer: Offer, bundle: Bundle) -> list[Accepted]:
    """Offer ``bundle``, drop the suite the server chose, offer the rest, until it refuses."""
    left = list(bundle.names)
    found: list[Accepted] = []
    while left:
        outcome = offered(offer, Bundle(bundle.version, bundle.client, tuple(left)))
        if isinstance(outcome, Refused):
            break
        left.remove(outcome.name)
        found.append(outcome)
    return found


def enumerate_version(offer: Offer, version: TlsVersionEnum) -> list[Accepted]:
    """Every suite of ``version`` the server accepts. Orchestration.

    The legacy client's suites get one pre-check first (refused: none of them is accepted);
    then every bundle's removal runs side by side."""
    chains: list[Bundle] = []
    found: list[Accepted] = []
    legacy = by_client(version, Client.LEGACY)
    if legacy and len(legacy) <= MAX_PRECHECK:
        first = offered(offer, Bundle(version, Client.LEGACY, legacy))
        if isinstance(first, Accepted):
            found.append(first)
            chains += bundles(version, Client.LEGACY, [n for n in legacy if n != first.name])
    else:
        chains += bundles(version, Client.LEGACY, legacy)
    chains += bundles(version, Client.MODERN, by_client(version, Client.MODERN))
    if len(chains) == 1:
        return found + remove_until_refused(offer, chains[0])
    with ThreadPoolExecutor(max_workers=max(1, len(chains))) as pool:
        for chain in pool.map(lambda b: remove_until_refused(offer, b), chains):
            found += chain
    return found


def version_scan(label: str, command: ScanCommand, accepted: Iterable[Accepted]) -> VersionScan:
    """The facts of one version, as sslyze's command would give them (sorted as it sorts)."""
    suites = candidates(_VERSION_OF[label])
    found = [
        AcceptedSuite(suite.name, label, suite.key_size, suite.is_anonymous, a.key, a.curve, a.bits)
        for a in accepted
        for suite in (suites[a.name],)
    ]
    found.sort(key=lambda s: s.name, reverse=True)
    return VersionScan(label, CommandAttempt(command.value, AttemptStatus.COMPLETED), tuple(found))


_VERSION_OF = {label: version for label, version, _ in VERSIONS}


# --- endpoints ----------------------------------------------------------------------------------


def enumerate_endpoint(endpoint: Endpoint, timeout: float) -> Enumeration:
    """All six versions of one endpoint, side by side; each settled or handed to sslyze;
    then the groups at the versions that accepted an ECDHE suite."""
    with ThreadPoolExecutor(max_workers=len(VERSIONS)) as pool:
        done = list(pool.map(lambda v: _one_version(endpoint, timeout, *v), VERSIONS))
    settled = tuple(v for v in done if isinstance(v, VersionScan))
    unsettled = tuple(v for v in done if isinstance(v, Unsettled))
    groups = None if unsettled else all_groups(endpoint, settled, timeout)
    return Enumeration(settled, unsettled, groups)


# --- groups -------------------------------------------------------------------------------------

# The versions whose groups are probed, with the client sslyze's ELLIPTIC_CURVES uses (modern).
GROUP_VERSIONS = {
    label: version
    for label, version, _ in VERSIONS
    if version.value >= TlsVersionEnum.TLS_1_0.value
}
_TLS13_SUITES = ":".join(by_client(TlsVersionEnum.TLS_1_3, Client.MODERN))
# OpenSSL errors sslyze's ELLIPTIC_CURVES reads as "this group is refused" (sslyze#466, #490).
_GROUP_REFUSED = ("unexpected message", "wrong curve")


def all_groups(
    endpoint: Endpoint, versions: Sequence[VersionScan], timeout: float
) -> tuple[GroupScan, ...] | None:
    """The groups of every version that accepted an ECDHE suite (HARDENING.md §A.3: a server
    can refuse a group at TLS 1.3 and take it at TLS 1.2); None when one is inconsistent."""
    wanted = [v.version for v in versions if v.version in GROUP_VERSIONS and _ecdhe(v)]
    try:
        with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
            found = list(pool.map(lambda v: groups_at(endpoint, v, timeout), wanted))
    except Inconsistent:
        return None
    return tuple(GroupScan(v, names) for v, names in zip(wanted, found, strict=True) if names)


def _ecdhe(version: VersionScan) -> bool:
    return any(s.kex_curve for s in version.accepted)


def groups_at(endpoint: Endpoint, label: str, timeout: float) -> tuple[str, ...]:
    """The groups the server accepts at ``label``, by removal: offer all of sslyze's, drop the
    chosen one, until it refuses. Names as sslyze's ELLIPTIC_CURVES gives them."""
    left = sorted(OpenSslEcNidEnum.get_supported_by_ssl_client(), key=lambda n: n.value)
    found: list[str] = []
    while left:
        chosen = _offer_groups(endpoint, GROUP_VERSIONS[label], tuple(left), timeout)
        if chosen is None:
            break
        left.remove(chosen.curve)
        found.append(chosen.curve_name)
    return tuple(found)


def _offer_groups(
    endpoint: Endpoint,
    version: TlsVersionEnum,
    groups: tuple[OpenSslEcNidEnum, ...],
    timeout: float,
) -> EcDhEphemeralKeyInfo | None:
    with _address_slot(endpoint):
        client = SslClient(
            ssl_version=OpenSslVersionEnum(version.value),
            ssl_verify=OpenSslVerifyEnum.NONE,
            ignore_client_authentication_requests=True,
        )
        if version is TlsVersionEnum.TLS_1_3:
            client.set_ciphersuites(_TLS13_SUITES)
        else:
            client.set_cipher_list("ECDH")
        client.set_groups(list(groups))
        client.set_tlsext_host_name(endpoint.host)
        return _connected(client, endpoint, timeout, lambda: _chosen_group(client, groups))


def _chosen_group(
    client: SslClient, groups: tuple[OpenSslEcNidEnum, ...]
) -> EcDhEphemeralKeyInfo | None:
    """The group of a completed handshake; None when refused; Inconsistent when unreadable."""
    try:
        client.do_handshake()
    except ClientCertificateRequested:
        pass
    except (TimeoutError, ConnectionError):
        return None
    except OSError as exc:
        if "Nassl SSL handshake failed" not in str(exc.args):
            raise Inconsistent(f"network error: {exc}") from None
        return None
    except _nassl.OpenSSLError as exc:
        message = str(exc.args[0])
        if any(r in message for r in (*_REJECTED, *_GROUP_REFUSED)):
            return None
        raise Inconsistent(f"unexpected OpenSSL error: {message}") from None
    key = client.get_ephemeral_key()
    if not isinstance(key, EcDhEphemeralKeyInfo) or key.curve not in groups:
        raise Inconsistent(f"the server's key {key} is not on a group offered")
    return key


def _one_version(
    endpoint: Endpoint, timeout: float, label: str, version: TlsVersionEnum, command: ScanCommand
) -> VersionScan | Unsettled:
    def offer(bundle: Bundle) -> Accepted | Refused:
        return handshake(endpoint, bundle, timeout)

    try:
        return version_scan(label, command, enumerate_version(offer, version))
    except Inconsistent as exc:
        return Unsettled(label, command, str(exc))


def enumerate_all(endpoints: Iterable[Endpoint], timeout: float) -> dict[Endpoint, Enumeration]:
    """Every endpoint at once (each opens at most about ten connections at a time)."""
    unique = list(dict.fromkeys(endpoints))
    if not unique:
        return {}
    with ThreadPoolExecutor(max_workers=len(unique)) as pool:
        found = pool.map(lambda e: enumerate_endpoint(e, timeout), unique)
        return dict(zip(unique, found, strict=True))
