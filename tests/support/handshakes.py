"""Which way the scan makes its handshakes, for the tests that compare the two
(certgate/hosts/probe.py: threads of the audit's process, or a process of their own)."""

from __future__ import annotations

import pytest

from certgate.hosts import probe

_THREADS = probe._from_threads


def handshakes_in(monkeypatch: pytest.MonkeyPatch, way: str) -> None:
    """``threads`` or ``child`` from now on. With ``child`` the threads may not stand in for
    the process (probe.py asks them what it never answered), so a test of the process fails
    when the process does, instead of passing on the threads' answers."""
    monkeypatch.setenv("CERTGATE_HANDSHAKES", way)
    monkeypatch.setattr(probe, "_from_threads", _no_fallback if way == "child" else _THREADS)


def _no_fallback(*args: object) -> object:
    raise AssertionError("the handshake process left addresses unanswered")
