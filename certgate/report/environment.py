"""What the audit ran with, for the report's environment table: versions, trust stores, file."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from datetime import datetime

from certgate.hosts.stores import versions_seen


def versions() -> dict[str, str]:
    """certgate, sslyze, cryptography, pytest-html and OpenSSL versions."""
    found = {name: _version(name) for name in ("certgate", "sslyze", "cryptography", "pytest-html")}
    from cryptography.hazmat.backends.openssl.backend import backend

    found["OpenSSL"] = backend.openssl_version_text()
    return found


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def trust_store_dates() -> str:
    """The versions of sslyze's bundled stores this run's host scans used."""
    return versions_seen() or "none used (no host was scanned)"


def stamp(moment: datetime) -> str:
    """A UTC time as the report prints it."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
