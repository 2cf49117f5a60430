"""The commands that reproduce a finding at one address: the one place they are written.

Checks put one in a failure message, the hardening evidence several per item
(:mod:`certgate.hosts.hardening_evidence`). Each is exact and runnable with the endpoint's
address, port and host name:

- ``openssl s_client ... </dev/null``: OpenSSL 3 refuses TLS 1.0/1.1 and SHA-1 suites below
  security level 0, so legacy handshakes carry ``@SECLEVEL=0`` (else the command would fail
  where the server really accepts). OpenSSL 3 has no SSL 2.0/3.0 client: sslyze shows those.
- ``curl -skI --resolve HOST:PORT:ADDRESS``: the HTTPS headers at one address. ``-k`` because
  the headers are judged here, the chain by chain-trusted.
- ``sslyze --OPTION HOST:PORT{ADDRESS}``: the scan command certgate ran, alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from certgate.hosts.facts import Endpoint

OPENSSL_FLAG = {"TLS 1.0": "-tls1", "TLS 1.1": "-tls1_1", "TLS 1.2": "-tls1_2"}
OPENSSL_FLAG |= {"TLS 1.3": "-tls1_3"}
SSLYZE_FLAG = {"SSL 2.0": "sslv2", "SSL 3.0": "sslv3", "TLS 1.0": "tlsv1"}
SSLYZE_FLAG |= {"TLS 1.1": "tlsv1_1", "TLS 1.2": "tlsv1_2", "TLS 1.3": "tlsv1_3"}
SECLEVEL0 = "@SECLEVEL=0"


def sslyze_command(endpoint: Endpoint, *options: str) -> str:
    """``sslyze --robot host:port{address}``: reproduces one scan command at one address."""
    flags = " ".join(f"--{o}" for o in options)
    return f"sslyze {flags} {endpoint.host}:{endpoint.port}{{{endpoint.address}}}"


def openssl_command(endpoint: Endpoint, *options: str) -> str:
    """``openssl s_client -connect A:P -servername H OPTIONS -brief </dev/null``."""
    head = f"openssl s_client -connect {endpoint.where} -servername {endpoint.host}"
    return " ".join((head, *options, "-brief </dev/null"))


def openssl_version_command(endpoint: Endpoint, version: str, suite: str | None = None) -> str:
    """A handshake at ``version`` (with ``suite``, an IANA name, when given); SSL 2.0/3.0,
    which OpenSSL 3 cannot speak, as sslyze's enumeration of that version."""
    if version not in OPENSSL_FLAG:
        return sslyze_command(endpoint, SSLYZE_FLAG[version])
    flag = OPENSSL_FLAG[version]
    if version == "TLS 1.3":
        return openssl_command(endpoint, flag, *(("-ciphersuites", suite) if suite else ()))
    name = openssl_cipher_name(suite) if suite else "ALL:COMPLEMENTOFALL"
    return openssl_command(endpoint, flag, "-cipher", f"'{name}:{SECLEVEL0}'")


def enumeration_command(endpoint: Endpoint, versions: Sequence[str]) -> str:
    """``sslyze --tlsv1 --tlsv1_1 ... HOST:PORT{ADDRESS}``: every suite of those versions."""
    return sslyze_command(endpoint, *(SSLYZE_FLAG[v] for v in versions))


def https_headers_command(endpoint: Endpoint) -> str:
    """``curl -skI --resolve H:P:A https://H:P/``: the HTTPS response headers at one address."""
    address = f"[{endpoint.address}]" if ":" in endpoint.address else endpoint.address
    where = f"{endpoint.host}:{endpoint.port}:{address}"
    return f"curl -skI --resolve {where} https://{endpoint.host}:{endpoint.port}/"


def leaf_command(endpoint: Endpoint, *x509_options: str) -> str:
    """The served leaf, read by ``openssl x509`` (``-noout -dates`` and the like)."""
    fetch = f"openssl s_client -connect {endpoint.where} -servername {endpoint.host}"
    return f"{fetch} </dev/null 2>/dev/null | openssl x509 -noout {' '.join(x509_options)}"


def openssl_status_command(endpoint: Endpoint) -> str:
    """The OCSP response the server staples in the SNI handshake, as openssl prints it."""
    fetch = f"openssl s_client -connect {endpoint.where} -servername {endpoint.host} -status"
    return f"{fetch} </dev/null 2>/dev/null | sed -n '/OCSP response/,/^---/p'"


def openssl_no_sni_command(endpoint: Endpoint) -> str:
    """The certificate a client without SNI gets at the address: names and dates."""
    fetch = f"openssl s_client -connect {endpoint.where} -noservername"
    return (
        f"{fetch} </dev/null 2>/dev/null | openssl x509 -noout -subject -dates -ext subjectAltName"
    )


@cache
def _openssl_names() -> dict[str, str]:
    """IANA suite name -> OpenSSL's, from the suite list sslyze enumerates with."""
    from sslyze.plugins.openssl_cipher_suites.cipher_suites import CipherSuitesRepository
    from sslyze.server_connectivity import TlsVersionEnum

    return {
        suite.name: suite.openssl_name
        for version in TlsVersionEnum
        for suite in CipherSuitesRepository.get_all_cipher_suites(version)
    }


def openssl_cipher_name(iana: str) -> str:
    """``AES128-SHA`` for ``TLS_RSA_WITH_AES_128_CBC_SHA`` (TLS 1.3 names are the same)."""
    return _openssl_names().get(iana, iana)
