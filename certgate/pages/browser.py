"""Load a page in headless Chromium and collect the browser's own mixed-content reports.

What only a browser sees: content that scripts insert after load. Chromium reports each
mixed-content request as a DevTools ``Audits.issueAdded`` event (``MixedContentIssue``: the
insecure URL, the resource type, blocked or upgraded). We speak the DevTools protocol over
``--remote-debugging-pipe`` (NUL-terminated JSON on file descriptors 3 and 4): no port to
find, no websocket client to install, nothing downloaded; the browser is Debian's
``chromium`` package, whatever is found as ``chromium`` (or ``$CERTGATE_CHROMIUM``).

The browser reaches the audited address under the host's name through
``--host-resolver-rules`` (every other name resolves to nothing: the audit never touches
the sub-resources' hosts) and does not judge the certificate (chain-trusted does).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from certgate.hosts.facts import Endpoint
from certgate.pages.facts import BROWSER, BrowserFacts, InsecureLoad, Treatment

SETTLE = 1.0  # seconds after the load event for scripts to insert content
START_TIMEOUT = 20.0  # a cold Chromium start on a busy CI machine
FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--ignore-certificate-errors",  # trust is chain-trusted's verdict, not this one's
    "--remote-debugging-pipe",
)
_UPGRADED_TYPES = {"image", "audio", "video", "favicon", "track"}


class BrowserError(Exception):
    """The browser could not load the page; the message is one line."""


def chromium() -> str | None:
    """The Chromium executable: ``$CERTGATE_CHROMIUM``, else ``chromium`` on the PATH."""
    given = os.environ.get("CERTGATE_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def browse(endpoint: Endpoint, url: str, *, timeout: float) -> BrowserFacts:
    """Load ``url`` from ``endpoint``'s address; every mixed-content report, or why not."""
    executable = chromium()
    if executable is None:
        return BrowserFacts(
            error="Chromium is not installed (apt-get install chromium), but "
            "policy.mixed_content_browser asks for it"
        )
    try:
        with _Chromium(executable, endpoint) as browser:
            issues = browser.load(url, timeout)
    except BrowserError as exc:
        return BrowserFacts(error=str(exc))
    return BrowserFacts(insecure=tuple(dict.fromkeys(_load(issue) for issue in issues)))


def _load(details: dict[str, Any]) -> InsecureLoad:
    kind = str(details.get("resourceType", "resource"))
    upgraded = details.get("resolutionStatus") == "MixedContentAutomaticallyUpgraded"
    treatment = (
        Treatment.UPGRADABLE if upgraded or kind.lower() in _UPGRADED_TYPES else Treatment.BLOCKABLE
    )
    element = f"{kind.lower()} requested while the page ran"
    return InsecureLoad(str(details.get("insecureURL", "?")), element, treatment, BROWSER)


class _Chromium:
    """One headless Chromium process for one endpoint, driven over the DevTools pipe."""

    def __init__(self, executable: str, endpoint: Endpoint) -> None:
        self._executable = executable
        self._endpoint = endpoint
        self._buffer = b""
        self._next_id = 0
        self._profile = tempfile.TemporaryDirectory(
            prefix="certgate-chromium-", ignore_cleanup_errors=True
        )
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Chromium:
        address = self._endpoint.address
        rules = f"MAP {self._endpoint.host} {address}, MAP * ~NOTFOUND"
        args = [
            self._executable,
            *FLAGS,
            f"--user-data-dir={self._profile.name}",
            f"--host-resolver-rules={rules}",
            "about:blank",
        ]
        to_browser, self._out = os.pipe()
        self._in, from_browser = os.pipe()
        try:
            # The shell only moves our pipe ends to fds 3 and 4, where Chromium expects
            # them (subprocess cannot renumber descriptors, and a preexec_fn is not
            # thread-safe), then becomes Chromium with exec.
            self._process = subprocess.Popen(
                ["/bin/sh", "-c", 'exec "$@" 3<&0 4>&1 0</dev/null 1>/dev/null', "sh", *args],
                stdin=to_browser,
                stdout=from_browser,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its renderers share the group: stopped together
            )
        except OSError as exc:
            self._close_pipes()
            raise BrowserError(f"cannot start {self._executable}: {exc.strerror}") from None
        finally:
            os.close(to_browser)
            os.close(from_browser)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            with contextlib.suppress(BrowserError, OSError):
                self._send("Browser.close")
            try:
                self._process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=5)
        self._close_pipes()
        self._profile.cleanup()

    def _close_pipes(self) -> None:
        for fd in (getattr(self, "_in", -1), getattr(self, "_out", -1)):
            with contextlib.suppress(OSError):
                os.close(fd)

    # --- the protocol -------------------------------------------------------------------------

    def _send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._out, json.dumps(message).encode() + b"\0")
        except OSError:
            raise BrowserError("Chromium exited unexpectedly") from None
        return self._next_id

    def _receive(self, until: float) -> dict[str, Any] | None:
        """The next message from the browser, or None when the monotonic ``until`` passes."""
        while b"\0" not in self._buffer:
            left = until - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                return None
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise BrowserError("Chromium exited unexpectedly")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def _call(
        self, method: str, params: dict[str, Any] | None = None, *, session: str = "", wait: float
    ) -> dict[str, Any]:
        """Send a command and wait for its answer (events meanwhile are not needed here)."""
        wanted = self._send(method, params, session)
        until = time.monotonic() + wait
        while (message := self._receive(until)) is not None:
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message', '?')}")
                result: dict[str, Any] = message.get("result", {})
                return result
        raise BrowserError(f"Chromium did not answer {method} within {wait:g} s")

    def load(self, url: str, timeout: float) -> list[dict[str, Any]]:
        """Navigate a fresh tab to ``url``; the mixed-content issues seen until SETTLE
        seconds after the load event (orchestration)."""
        tab = self._call("Target.createTarget", {"url": "about:blank"}, wait=START_TIMEOUT)
        attached = self._call(
            "Target.attachToTarget", {"targetId": tab["targetId"], "flatten": True}, wait=timeout
        )
        session = attached["sessionId"]
        for domain in ("Audits.enable", "Page.enable"):
            self._call(domain, session=session, wait=timeout)
        navigation = self._send("Page.navigate", {"url": url}, session)
        issues: list[dict[str, Any]] = []
        until = time.monotonic() + 2 * timeout
        loaded = False
        while (message := self._receive(until)) is not None:
            result = message.get("result", {}) if message.get("id") == navigation else {}
            if result.get("errorText"):
                raise BrowserError(f"cannot load the page: {result['errorText']}")
            if message.get("sessionId") != session:
                continue
            if message.get("method") == "Page.loadEventFired" and not loaded:
                loaded = True  # now give scripts SETTLE seconds to insert content
                until = min(until, time.monotonic() + SETTLE)
            issue = _mixed_content(message)
            if issue is not None:
                issues.append(issue)
        if not loaded:
            raise BrowserError(f"the page did not finish loading within {2 * timeout:g} s")
        return issues


def _mixed_content(message: dict[str, Any]) -> dict[str, Any] | None:
    if message.get("method") != "Audits.issueAdded":
        return None
    issue = message.get("params", {}).get("issue", {})
    if issue.get("code") != "MixedContentIssue":
        return None
    details: dict[str, Any] = issue.get("details", {}).get("mixedContentIssueDetails", {})
    return details
