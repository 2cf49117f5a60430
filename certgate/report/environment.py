"""What the audit ran with, for the report's environment table: versions, trust stores, file."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from datetime import datetime
from pathlib import Path

# sslyze's bundled stores, by the names targets.yaml uses -> the file describing each.
_STORE_FILES = {
    "mozilla": "mozilla_nss.yaml",
    "microsoft": "microsoft_windows.yaml",
    "apple": "apple.yaml",
    "android": "google_aosp.yaml",
    "java": "oracle_java.yaml",
}


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
    """``mozilla 2026-03-28, microsoft 2026-03-28, ...`` read without loading the stores."""
    spec = importlib.util.find_spec("sslyze")
    if spec is None or not spec.submodule_search_locations:
        return "sslyze not installed"
    folder = (
        Path(next(iter(spec.submodule_search_locations)))
        / "plugins/certificate_info/trust_stores/pem_files"
    )
    return ", ".join(
        f"{name} {_store_version(folder / file)}" for name, file in _STORE_FILES.items()
    )


def _store_version(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return "?"
    for key in ("date_fetched:", "version:"):
        if key in text:
            return text.split(key, 1)[1].split("\n", 1)[0].strip(" '\"")
    return "?"


def stamp(moment: datetime) -> str:
    """A UTC time as the report prints it."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
