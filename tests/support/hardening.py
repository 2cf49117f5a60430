"""HardeningFacts as certgate's hardening scan records them, for the tests that judge recorded
answers (Debian's OpenSSL can serve few of the flaws): one builder for every such test."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from certgate.hosts.facts import (
    VERSION_LABELS,
    AcceptedSuite,
    AttemptStatus,
    CommandAttempt,
    HardeningFacts,
    HttpAnswer,
    Observed,
    VersionScan,
)

T = TypeVar("T")

SCANNED = CommandAttempt("tls_1_2_cipher_suites", AttemptStatus.COMPLETED)
HTTP_REFUSED = HttpAnswer("http://shop.example/", "curl -sI http://shop.example/", refused=True)


def observed(value: T, attempt: CommandAttempt = SCANNED) -> Observed[T]:
    """A scan command's answer, the command completed."""
    return Observed(attempt, value)


def suite(
    name: str,
    version: str = "TLS 1.2",
    kx: str | None = None,
    curve: str | None = None,
    bits: int | None = None,
) -> AcceptedSuite:
    """An accepted suite as sslyze names it (3DES's 112-bit strength, else 128)."""
    return AcceptedSuite(name, version, 112 if "3DES" in name else 128, False, kx, curve, bits)


def scanned(
    *suites: AcceptedSuite,
    failed: str | None = None,
    attempt: CommandAttempt = SCANNED,
    http: HttpAnswer = HTTP_REFUSED,
    **more: Any,
) -> HardeningFacts:
    """Every version enumerated (``failed``: that one's command broke), the given suites
    accepted at their versions, HTTP headers read; ``more`` sets the other facts."""
    versions = tuple(
        VersionScan(label, CommandAttempt(label, AttemptStatus.ERROR, "connection reset"))
        if label == failed
        else VersionScan(label, attempt, tuple(s for s in suites if s.version == label))
        for label in VERSION_LABELS
    )
    return replace(HardeningFacts(versions, attempt, http), **more)
