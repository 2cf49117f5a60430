"""Private key and PKCS#12 (.pfx/.p12) files -> facts. Secrets stop here.

A password is read from its environment variable only when a file needs it, passed straight
to cryptography and never stored, shown or put in an exception. A private key is only used
to describe its public half and to pair it with a certificate; no facts object holds key
material. Every ArtifactError raised here is a fresh one-line message (``from None``), so
no cryptography exception or traceback frame travels with it.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.algorithms import RC2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.serialization import pkcs12

from certgate.errors import ArtifactError
from certgate.files.certificates import certificate_facts, key_facts
from certgate.files.facts import CertificateFacts, KeyFacts, PfxEncryptionFacts, PfxFacts
from certgate.files.path import certification_path
from certgate.files.pem import as_text, describe_label, find_pems, read_bytes, shown
from certgate.files.pkcs12 import Pkcs12Error, Pkcs12Structure, read_structure

_CONVENTIONAL_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


@dataclass(frozen=True)
class PasswordSource:
    """Where a file's password comes from: the name of an environment variable, never its
    value. ``key`` is the targets.yaml key that names the variable."""

    env: str | None
    key: str

    def read(self, source: str) -> bytes:
        """The password, read now; ArtifactError when no variable is named or it is unset."""
        if self.env is None:
            raise self.missing(source)
        value = os.environ.get(self.env)
        if value is None:
            raise ArtifactError(f"{source} is password-protected and {self.variable()} is not set")
        return value.encode("utf-8")

    def variable(self) -> str:
        """The variable as messages name it. A name not written like one (capitals, digits,
        ``_``) is not shown: ``Tw2026Secret`` may be a password pasted where its name belongs."""
        if self.env is not None and _CONVENTIONAL_NAME.fullmatch(self.env):
            return f"the environment variable {self.env} (named by {self.key})"
        return (
            f"the environment variable named by {self.key} (its name is not shown: it is not "
            "written in capitals like SHOP_PFX_PASSWORD and may be a pasted password)"
        )

    def missing(self, source: str) -> ArtifactError:
        """The error for a protected file when the target names no password variable."""
        return ArtifactError(
            f"{source} is password-protected and the target has no {self.key}: put the "
            f"password in an environment variable and give its name as {self.key}"
        )

    def wrong(self, source: str) -> ArtifactError:
        """The error for a password that does not open the file."""
        return ArtifactError(
            f"{source}: the password in {self.variable()} does not open it "
            "(wrong password, or the file is damaged)"
        )


# --- private keys -----------------------------------------------------------------------------


def load_private_key(path: Path, password: PasswordSource) -> KeyFacts:
    """The public half of a private key file: PEM or DER, PKCS#1 or PKCS#8, maybe encrypted."""
    source = f"private key {shown(path)}"
    data = read_bytes(path)
    if data[:1] != b"\x30":
        _check_key_pem(data, source)
    try:
        key = _private_key(data, None)
    except TypeError:  # "Password was not given but private key is encrypted"
        key = None
    except ValueError:
        raise ArtifactError(
            f"{source}: the content does not decode as a private key (truncated or damaged)"
        ) from None
    except UnsupportedAlgorithm:
        raise ArtifactError(f"{source}: the key type or its encryption is not supported") from None
    if key is None:  # encrypted: read the password outside any except block (no context)
        secret = password.read(source)
        try:
            key = _private_key(data, secret)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise password.wrong(source) from None
    return key_facts(key.public_key(), source)


def _private_key(data: bytes, secret: bytes | None) -> PrivateKeyTypes:
    if data[:1] == b"\x30":
        return serialization.load_der_private_key(data, secret)
    return serialization.load_pem_private_key(data, secret)


def _check_key_pem(data: bytes, source: str) -> None:
    """Say what a PEM file holds when it is not a private key, or when it is cut short."""
    blocks = find_pems(as_text(data))
    if not blocks:
        raise ArtifactError(f"{source}: neither PEM text nor DER: not a private key file")
    label = blocks[0].label
    if "PRIVATE KEY" not in label:
        raise ArtifactError(f"{source}: the file holds {describe_label(label)}, not a private key")
    if blocks[0].footer_label != label:
        raise ArtifactError(f"{source}: the PEM text is cut short (no matching END line)")


# --- PKCS#12 ----------------------------------------------------------------------------------


def load_pfx(path: Path, password: PasswordSource) -> PfxFacts:
    """Open a PKCS#12 file with its password and describe what it holds."""
    return pfx_facts(read_bytes(path), pfx_source(path), password)


def pfx_source(path: Path) -> str:
    """How messages name a PKCS#12 file: ``PFX certs/shop.pfx``."""
    return f"PFX {shown(path)}"


def pfx_facts(data: bytes, source: str, password: PasswordSource) -> PfxFacts:
    """What a PKCS#12 file's bytes hold, opened with its password."""
    structure = _structure(data, source)
    data = data[: structure.length]  # what follows the structure (padding) is not part of it
    opened = _open(data, source, structure, password)
    certificates = [c.certificate for c in (opened.cert, *opened.additional_certs) if c]
    facts = tuple(
        certificate_facts(c, f"certificate {i} in {source}") for i, c in enumerate(certificates, 1)
    )
    key = key_facts(opened.key.public_key(), source) if opened.key is not None else None
    del opened  # the private key object goes no further than this function
    key_certificate = _certificate_of(key, facts)
    server = key_certificate or _only_leaf(facts)
    path_facts = certification_path(server, facts, source) if server is not None else None
    return PfxFacts(source, key, key_certificate, server, facts, path_facts)


def load_pfx_protection(path: Path) -> PfxEncryptionFacts:
    """How a PKCS#12 file is protected (manual 5.9.6); needs no password."""
    return pfx_protection(read_bytes(path), pfx_source(path))


def pfx_protection(data: bytes, source: str) -> PfxEncryptionFacts:
    """How a PKCS#12 file's bytes are protected; needs no password."""
    structure = _structure(data, source)
    data = data[: structure.length]
    return PfxEncryptionFacts(
        source=source,
        mac_algorithm=structure.mac_algorithm,
        mac_iterations=structure.mac_iterations,
        parts=structure.parts,
        opens_without_password=_opens_without_password(data),
    )


def _structure(data: bytes, source: str) -> Pkcs12Structure:
    try:
        return read_structure(data)
    except Pkcs12Error as exc:
        raise ArtifactError(f"{source}: not a PKCS#12 (.pfx/.p12) file: {exc}") from None


def _open(
    data: bytes, source: str, structure: Pkcs12Structure, password: PasswordSource
) -> pkcs12.PKCS12KeyAndCertificates:
    """The opened file; ArtifactError for an unset variable, a wrong password, RC2 unsupported."""
    if password.env is None:
        try:
            return _load(data, None)
        except (ValueError, UnsupportedAlgorithm):
            raise password.missing(source) from None
    secret = password.read(source)
    for attempt in (secret, None, b""):  # an unprotected file opens without it: judged by
        try:  # pfx-encryption, while the other controls still read what it holds
            return _load(data, attempt)
        except (ValueError, UnsupportedAlgorithm):
            continue
    legacy = [p.algorithm for p in structure.parts if p.policy_name.startswith("rc2")]
    if legacy and not _rc2_available():
        raise ArtifactError(
            f"{source}: it is encrypted with {legacy[0]}, which this OpenSSL build cannot "
            "decrypt (its legacy algorithms are disabled); re-export the PFX with AES256-SHA256"
        ) from None
    raise password.wrong(source) from None


def _load(data: bytes, secret: bytes | None) -> pkcs12.PKCS12KeyAndCertificates:
    """Open a PKCS#12 file. Windows exports BER (indefinite lengths), which cryptography reads
    after warning that it fell back from DER: openssl reads it too, so it is no finding."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*parsing as BER.*", category=UserWarning)
        return pkcs12.load_pkcs12(data, secret)


def _opens_without_password(data: bytes) -> bool:
    for attempt in (None, b""):
        try:
            _load(data, attempt)
        except (ValueError, UnsupportedAlgorithm):
            continue
        return True
    return False


def _rc2_available() -> bool:
    """Whether OpenSSL's legacy provider (RC2) is loaded."""
    try:
        Cipher(RC2(bytes(16)), modes.CBC(bytes(8))).encryptor()
    except UnsupportedAlgorithm:
        return False
    return True


def _certificate_of(
    key: KeyFacts | None, certificates: tuple[CertificateFacts, ...]
) -> CertificateFacts | None:
    """The certificate whose public key is ``key``."""
    if key is None:
        return None
    return next((c for c in certificates if c.key.spki_sha256 == key.spki_sha256), None)


def _only_leaf(certificates: tuple[CertificateFacts, ...]) -> CertificateFacts | None:
    leaves = [c for c in certificates if not c.is_ca]
    return leaves[0] if len(leaves) == 1 else None
