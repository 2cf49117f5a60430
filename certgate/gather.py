"""Gather each target's facts once per run; checks then read them many times.

Results and failures are both cached: a file that cannot be read is read (and reported)
once, and every item that needs it gets the same one-line reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from certgate.artifacts import ArtifactError, load_certificate, load_csr
from certgate.facts import CertificateFacts, CsrFacts
from certgate.targets import Target

T = TypeVar("T")


class Gatherer:
    """Loads and caches the facts of every target, keyed by (target, what)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], object] = {}

    def _once(self, target: Target, what: str, load: Callable[[], T]) -> T:
        key = (target.name, what)
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
        return self._once(target, "csr", lambda: load_csr(path))

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
        return self._once(target, "certificate", lambda: load_certificate(path))
