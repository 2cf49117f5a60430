"""Fetch the HTTPS pages a target lists, at each of its addresses -> mixed-content facts.

The HTTP client is the standard library's :mod:`http.client` over a TLS socket this module
dials itself: that is what lets a page be fetched from one given address with the host name
as SNI and Host header (as the certificate is audited, address by address), without
certificate verification (chain-trusted judges trust) and with no dependency. httpx would do
too, but reaching a chosen address under another name needs a custom transport there, and
its pooling buys nothing for a handful of requests per page.

Everything is bounded: connect and read timeouts, one deadline per response (a page that
never finishes is an error within it), a time budget per page, at most ``MAX_BODY`` bytes of
body (the rest is not read: the first 5 MB are judged), at most ``MAX_REDIRECTS`` redirects,
at most ``MAX_STYLESHEETS`` stylesheets followed, one level deep.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, replace
from email.message import Message
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from certgate.errors import ArtifactError
from certgate.hosts.facts import Endpoint
from certgate.inventory import Target
from certgate.pages.extract import Reference, css_references, html_references
from certgate.pages.facts import BrowserFacts, InsecureLoad, PageFacts, Treatment

MAX_BODY = 5 * 1024 * 1024  # bytes of a page or stylesheet that are read and judged
MAX_REDIRECTS = 10  # as curl and browsers cap them (Chrome gives up at 20)
MAX_STYLESHEETS = 20  # linked stylesheets followed per page
BUDGET_FACTOR = 4  # a page, its redirects, stylesheets and favicon: 4 response timeouts
BROWSERS = 2  # headless Chromium processes at once (each takes ~150 MB)
_REDIRECTS = {301, 302, 303, 307, 308}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_SAFE = "/?&=;:@!$'()*+,~%-._"  # characters a request target keeps as they are
_USER_AGENT = "certgate/0.1 (mixed-content audit; manual 6.3)"


class FetchError(Exception):
    """A response could not be had; the message is one line (refused, timed out, ...)."""


@dataclass(frozen=True)
class Response:
    """One HTTP response: status, Location and Content-Type, the body (cut at the limit)."""

    url: str
    status: int
    reason: str
    location: str | None
    content_type: str | None
    charset: str | None
    body: bytes
    truncated: bool


@dataclass(frozen=True)
class Followed:
    """Where a chain of redirects ended: the last response, the URLs followed, and the
    ``http:`` URL it was sent to when a redirect left https (then ``response`` is the
    redirect itself)."""

    response: Response
    redirects: tuple[str, ...]
    to_http: str | None


class _Connection(http.client.HTTPSConnection):
    """HTTPS to a chosen address, with the URL's host name as SNI and Host header."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False  # trust is chain-trusted's to judge, not this fetch's
        context.verify_mode = ssl.CERT_NONE
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), timeout=self.timeout)
        try:
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def fetch(url: str, endpoint: Endpoint, *, timeout: float, deadline: float) -> Response:
    """GET ``url`` once. Its host is dialled at ``endpoint.address`` when it is the endpoint's
    host (any other host by its name). The whole response must arrive by ``deadline``
    (monotonic) and within ``timeout`` of the request; FetchError says why it did not."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 443
    address = endpoint.address if host == endpoint.host else host
    ends = min(deadline, time.monotonic() + timeout)
    conn = _Connection(host, port, address, min(timeout, max(0.05, ends - time.monotonic())))
    # Socket timeouts bound each read, not a server that trickles its headers byte by byte:
    # at the deadline a watchdog shuts the socket, whatever the client is waiting for.
    fired = threading.Event()
    watchdog = threading.Timer(max(0.0, ends - time.monotonic()) + 0.1, _shut, (conn, fired))
    watchdog.daemon = True
    watchdog.start()
    try:
        response = _exchange(conn, url, ends, timeout)
    except FetchError:
        raise
    except Exception as exc:
        if fired.is_set():  # whatever broke, it broke because time ran out
            raise FetchError(f"no complete answer within {timeout:g} s") from None
        raise _one_line(exc, host, address, port, timeout) from None
    finally:
        watchdog.cancel()
        conn.close()
    if fired.is_set():
        raise FetchError(f"no complete answer within {timeout:g} s")
    return response


def _shut(conn: _Connection, fired: threading.Event) -> None:
    fired.set()
    if conn.sock is not None:
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_RDWR)


def _one_line(exc: Exception, host: str, address: str, port: int, timeout: float) -> FetchError:
    """Why a fetch failed, in one line (certgate bugs are re-raised as they are)."""
    if isinstance(exc, TimeoutError):
        return FetchError(f"no complete answer within {timeout:g} s")
    if isinstance(exc, ConnectionRefusedError):
        return FetchError(f"connection refused at {address}:{port}")
    if isinstance(exc, ssl.SSLError):
        return FetchError(f"TLS handshake failed: {exc.reason or exc}")
    if isinstance(exc, http.client.IncompleteRead):
        return FetchError("the connection closed before the response was complete")
    if isinstance(exc, http.client.HTTPException | ConnectionError):
        return FetchError(f"no HTTP answer over TLS ({type(exc).__name__})")
    if isinstance(exc, UnicodeError | ValueError):
        return FetchError(f"cannot send {host!r} as a TLS server name: {exc}")
    if isinstance(exc, OSError):
        return FetchError(exc.strerror or str(exc))
    raise exc


def _exchange(conn: _Connection, url: str, ends: float, timeout: float) -> Response:
    parts = urlsplit(url)
    # Browsers send a path as UTF-8, percent-encoded; what is already encoded stays so.
    target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), _SAFE)
    conn.request(
        "GET",
        target,
        headers={
            "User-Agent": _USER_AGENT,
            "Accept": "text/html,text/css;q=0.9,*/*;q=0.8",
            "Accept-Encoding": "identity",
        },
    )
    answer = conn.getresponse()
    body, truncated = _read_body(conn, answer, ends, timeout)
    header = Message()
    header["content-type"] = answer.getheader("Content-Type") or ""
    media = header.get_content_type() if answer.getheader("Content-Type") else None
    charset = header.get_param("charset")
    return Response(
        url=url,
        status=answer.status,
        reason=answer.reason,
        location=answer.getheader("Location"),
        content_type=media,
        charset=charset if isinstance(charset, str) else None,
        body=body,
        truncated=truncated,
    )


def _read_body(
    conn: _Connection, answer: http.client.HTTPResponse, ends: float, timeout: float
) -> tuple[bytes, bool]:
    """At most MAX_BODY bytes, all by ``ends``: a server that trickles forever is cut off."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY:
        left = ends - time.monotonic()
        if left <= 0:
            raise FetchError(f"the page did not finish within {timeout:g} s ({size} bytes read)")
        if conn.sock is not None:
            conn.sock.settimeout(left)
        chunk = answer.read1(min(65536, MAX_BODY + 1 - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:MAX_BODY], True


def follow(url: str, endpoint: Endpoint, *, timeout: float, deadline: float) -> Followed:
    """GET ``url`` and follow redirects within https (at most MAX_REDIRECTS). A redirect to
    ``http:`` stops there (``to_http``); a loop or too many redirects is a FetchError."""
    seen = [url]
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        response = fetch(current, endpoint, timeout=timeout, deadline=deadline)
        if response.status not in _REDIRECTS or not response.location:
            return Followed(response, tuple(seen[1:]), None)
        following = urljoin(current, response.location.strip())
        scheme = urlsplit(following).scheme
        if scheme == "http":
            return Followed(response, tuple(seen[1:]), following)
        if scheme != "https":
            raise FetchError(f"{current} redirects to {following!r}, which is not https")
        if following in seen:
            raise FetchError(
                f"redirect loop: {' -> '.join([*seen[seen.index(following) :], following])}"
            )
        seen.append(following)
        current = following
    raise FetchError(f"more than {MAX_REDIRECTS} redirects, from {url} to {current}")


def page_url(endpoint: Endpoint, path: str) -> str:
    """``https://host[:port]/path``: the URL a browser asks for."""
    port = "" if endpoint.port == 443 else f":{endpoint.port}"
    return f"https://{endpoint.host}{port}{path}"


class SharedFetches:
    """Stylesheets and /favicon.ico that several pages of one address share are fetched once
    per run, as a browser's cache would (a failure is shared too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[tuple[Endpoint, str], Future[Followed]] = {}

    def follow(self, url: str, endpoint: Endpoint, *, timeout: float, deadline: float) -> Followed:
        """:func:`follow`, once per (address, URL)."""
        with self._lock:
            job = self._jobs.get((endpoint, url))
            mine = job is None
            if job is None:
                job = self._jobs[(endpoint, url)] = Future()
        if mine:
            try:
                job.set_result(follow(url, endpoint, timeout=timeout, deadline=deadline))
            except FetchError as exc:
                job.set_exception(exc)
        return job.result()


def fetch_page(
    endpoint: Endpoint, path: str, *, timeout: float, shared: SharedFetches | None = None
) -> PageFacts:
    """Fetch one page from one address and find every http load in it (orchestration: the
    page, its redirects, its stylesheets one level deep, and its favicon request)."""
    url = page_url(endpoint, path)
    deadline = time.monotonic() + BUDGET_FACTOR * timeout
    try:
        got = follow(url, endpoint, timeout=timeout, deadline=deadline)
    except FetchError as exc:
        return PageFacts(endpoint, path, url, error=str(exc))
    answer = got.response
    facts = PageFacts(
        endpoint,
        path,
        url,
        final_url=answer.url,
        redirects=got.redirects,
        redirect_to_http=got.to_http,
        status=answer.status,
        content_type=answer.content_type,
        size=len(answer.body),
        truncated=answer.truncated,
    )
    if got.to_http is not None:
        return facts
    if answer.status >= 400:
        after = f" (after redirects, at {answer.url})" if got.redirects else ""
        problem = f"answered HTTP {answer.status} {answer.reason}{after}; check the path in pages"
        return replace(facts, error=problem)
    if not _is_html(answer):
        return facts
    return _judge_html(facts, answer, endpoint, timeout, deadline, shared or SharedFetches())


def _is_html(response: Response) -> bool:
    if response.content_type is not None:
        return response.content_type in _HTML_TYPES
    return response.body.lstrip()[:1] == b"<"  # no Content-Type: browsers sniff markup


def decode(body: bytes, charset: str | None) -> str:
    """The text of a body: its BOM, else the declared charset, else UTF-8 (never fails)."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16")):
        if body.startswith(bom):
            return body.decode(name, errors="replace")
    if body.startswith(codecs.BOM_UTF16_BE):
        return body.decode("utf-16", errors="replace")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _judge_html(
    facts: PageFacts,
    answer: Response,
    endpoint: Endpoint,
    timeout: float,
    deadline: float,
    shared: SharedFetches,
) -> PageFacts:
    found = html_references(decode(answer.body, answer.charset), answer.url)
    insecure = [_load(ref, answer.url) for ref in found.references if ref.insecure]
    sheets = [ref for ref in found.references if ref.stylesheet and not ref.insecure]
    get = functools.partial(shared.follow, endpoint=endpoint, timeout=timeout, deadline=deadline)
    read, notes = _stylesheets(sheets, answer.url, get, insecure)
    if not found.has_icon:
        notes += _favicon(answer.url, get, insecure)
    return replace(
        facts, html=True, insecure=tuple(insecure), stylesheets=tuple(read), notes=tuple(notes)
    )


def _load(ref: Reference, found_in: str) -> InsecureLoad:
    return InsecureLoad(ref.url, ref.element, ref.treatment, found_in, ref.line)


Get = Callable[[str], Followed]
"""Fetch a URL of the page's address, following https redirects (shared across pages)."""


def _stylesheets(
    sheets: Sequence[Reference], page: str, get: Get, insecure: list[InsecureLoad]
) -> tuple[list[str], list[str]]:
    """Read each https stylesheet once (one level deep); add its http loads to ``insecure``."""
    read: list[str] = []
    notes: list[str] = []
    unique = list(dict.fromkeys(ref.url for ref in sheets))
    if len(unique) > MAX_STYLESHEETS:
        notes.append(f"{len(unique) - MAX_STYLESHEETS} more stylesheets were not read")
    for url in unique[:MAX_STYLESHEETS]:
        try:
            got = get(url)
        except FetchError as exc:
            notes.append(f"stylesheet {url} not read: {exc}")
            continue
        if got.to_http is not None:
            where = f"redirect of stylesheet {url}"
            insecure.append(InsecureLoad(got.to_http, where, Treatment.BLOCKABLE, page))
            continue
        if got.response.status >= 400:
            notes.append(f"stylesheet {url} not read: HTTP {got.response.status}")
            continue
        read.append(url)
        text = decode(got.response.body, got.response.charset)
        for ref in css_references(text, got.response.url):
            if ref.insecure:
                insecure.append(_load(ref, url))
    return read, notes


def _favicon(page: str, get: Get, insecure: list[InsecureLoad]) -> list[str]:
    """A page that links no icon makes browsers ask for /favicon.ico: judge where it leads."""
    url = urljoin(page, "/favicon.ico")
    try:
        got = get(url)
    except FetchError as exc:
        return [f"{url} not checked: {exc}"]
    if got.to_http is not None:
        element = "redirect of /favicon.ico (asked for when the page links no icon)"
        insecure.append(InsecureLoad(got.to_http, element, Treatment.UPGRADABLE, page))
    return []


# --- one run's pages --------------------------------------------------------------------------

PageKey = tuple[Endpoint, str]


class PageGatherer:
    """Every selected page, fetched once per (address, path), all concurrently; and loaded in
    headless Chromium once, for the targets whose policy asks for it.

    ``plan`` is called after collection for each selected page item; ``start`` begins the
    fetches in the background (they overlap the host scan); ``facts`` waits for one.
    """

    def __init__(self, timeout: float, workers: int = 16) -> None:
        self.timeout = timeout
        self._planned: dict[PageKey, bool] = {}  # -> whether headless Chromium is asked too
        self._fetches: dict[PageKey, Future[PageFacts]] = {}
        self._browsed: dict[PageKey, Future[BrowserFacts]] = {}
        self._shared = SharedFetches()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="certgate-page")
        self._browsers = threading.Semaphore(BROWSERS)

    def plan(self, target: Target, endpoint: Endpoint, path: str) -> None:
        """Include this page in the run's fetches (and browser loads, if the policy says)."""
        browser = target.policy.mixed_content_browser
        self._planned[(endpoint, path)] = self._planned.get((endpoint, path), False) or browser

    def start(self) -> None:
        """Fetch every planned page not yet started, in the background."""
        for key, browser in self._planned.items():
            if key not in self._fetches:
                self._fetches[key] = self._pool.submit(
                    fetch_page, *key, timeout=self.timeout, shared=self._shared
                )
            if browser and key not in self._browsed:
                self._browsed[key] = self._pool.submit(self._browse, key)

    def status(self) -> tuple[int, int]:
        """(pages done, pages started), browser loads counted as pages."""
        jobs: list[Future[Any]] = [*self._fetches.values(), *self._browsed.values()]
        return sum(1 for job in jobs if job.done()), len(jobs)

    def wait(self) -> None:
        """Until every page started so far is fetched (failures are kept in the futures)."""
        jobs: list[Future[Any]] = [*self._fetches.values(), *self._browsed.values()]
        wait_for(jobs)

    def _browse(self, key: PageKey) -> BrowserFacts:
        from certgate.pages.browser import browse

        with self._browsers:
            return browse(key[0], page_url(*key), timeout=self.timeout)

    def facts(self, target: Target, endpoint: Endpoint, path: str) -> PageFacts:
        """The page as fetched from this address, with the browser's report when the
        target's policy asks for one (fetched now if it was not planned)."""
        key = (endpoint, path)
        browser = target.policy.mixed_content_browser
        if key not in self._fetches or (browser and key not in self._browsed):
            self.plan(target, endpoint, path)
            self.start()
        facts = self._fetches[key].result()
        if browser and facts.error is None:
            return replace(facts, browser=self._browsed[key].result())
        return facts

    def judged(
        self, target: Target, endpoint: Endpoint, path: str, unresolved: str | None
    ) -> PageFacts:
        """The facts of a page that could be audited; ArtifactError (could not audit) if not."""
        url = page_url(endpoint, path)
        if unresolved is not None:
            raise ArtifactError(f"{url}: {endpoint.host} has no address: {unresolved}")
        facts = self.facts(target, endpoint, path)
        if facts.error is not None:
            raise ArtifactError(f"{url} at {endpoint.where}: {facts.error}")
        browser = facts.browser
        if target.policy.mixed_content_browser and browser is not None and browser.error:
            raise ArtifactError(f"{url} at {endpoint.where}: headless Chromium: {browser.error}")
        return facts

    def close(self) -> None:
        """Stop waiting for fetches nobody asked for (each ends within its own deadline)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
