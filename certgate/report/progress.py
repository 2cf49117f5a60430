"""The terminal's progress line while hosts are scanned: how many of how many, which are slow."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from certgate.hosts.facts import Endpoint

SLOW_AFTER = 2.0  # seconds: an address that has not answered by then is named
TICK = 1.0


class ScanProgress:
    """Counts addresses as they answer and finish (called from scan threads), shows it."""

    def __init__(
        self,
        reporter: pytest.TerminalReporter,
        planned: list[Endpoint],
        pages: Callable[[], tuple[int, int]] = lambda: (0, 0),
    ) -> None:
        self.reporter = reporter
        self.pages = pages  # (done, started) of the page fetches running alongside
        self.total = len(planned)
        self.pending = set(planned)  # facts not known yet
        self.silent = set(planned)  # has not even answered the first handshake
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.started = time.monotonic()

    def add(self, planned: list[Endpoint]) -> None:
        """More addresses to wait for (planned after the scan started)."""
        with self.lock:
            fresh = set(planned) - self.pending
            self.total += len(fresh)
            self.pending |= fresh
            self.silent |= fresh

    def update(self, endpoint: Endpoint, finished: bool) -> None:
        """An address answered (``finished`` False) or its facts are known (True)."""
        with self.lock:
            self.silent.discard(endpoint)
            if finished:
                self.pending.discard(endpoint)

    def line(self) -> str:
        """``certgate: scanning 15 addresses: 9/15 done; waiting for 127.0.10.13:8443 (3 s)``."""
        with self.lock:
            left = len(self.pending)
            silent = sorted(self.silent, key=lambda e: e.where)
        elapsed = time.monotonic() - self.started
        done = self.total - left
        text = f"certgate: scanning {self.total} addresses: {done}/{self.total} done"
        pages_done, pages = self.pages()
        if pages:
            text += f", pages {pages_done}/{pages} fetched"
        if silent and elapsed >= SLOW_AFTER:
            names = ", ".join(e.where for e in silent[:3]) + (" ..." if len(silent) > 3 else "")
            text += f"; waiting for {names} ({elapsed:.0f} s)"
        return text

    def run(self, work: Callable[[], None]) -> None:
        """Do ``work`` while a ticker thread reports progress; end with a final line."""
        ticker = threading.Thread(target=self._tick, name="certgate progress", daemon=True)
        ticker.start()
        try:
            work()
        finally:
            self.stop.set()
            ticker.join()
        self._show(final=True)

    def _tick(self) -> None:
        while not self.stop.wait(TICK):
            self._show(final=False)

    def _show(self, *, final: bool) -> None:
        if getattr(self.reporter, "isatty", False):
            self.reporter.rewrite(self.line(), erase=True)
            if final:
                self.reporter.write_line("")
        elif final or time.monotonic() - self.started >= SLOW_AFTER:
            self.reporter.write_line(self.line())
