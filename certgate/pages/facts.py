"""Frozen facts about HTTPS pages: what each listed page makes a browser load over http.

:mod:`certgate.pages.fetch` produces these (it fetches the pages, and asks headless Chromium when
the policy says so); the mixed-content check reads them. Plain values only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from certgate.hosts.facts import Endpoint

BROWSER = "headless Chromium"  # InsecureLoad.found_in of what only the browser saw


class Treatment(enum.Enum):
    """How browsers treat an http sub-resource of an HTTPS page today (manual 6.3)."""

    BLOCKABLE = "blocked"  # scripts, stylesheets, frames, objects, fonts, form targets
    UPGRADABLE = "upgraded"  # images, audio, video: fetched over https, broken without a copy


@dataclass(frozen=True)
class InsecureLoad:
    """One sub-resource a page loads over plain http.

    ``element`` names what loads it (``img srcset``, ``link rel=stylesheet``, ``@import``,
    ``redirect of /favicon.ico``); ``found_in`` is the page's or stylesheet's URL it was
    found in, or ``headless Chromium`` for what only a browser saw; ``line`` is the line of
    that document, None when unknown.
    """

    url: str
    element: str
    treatment: Treatment
    found_in: str
    line: int | None = None


@dataclass(frozen=True)
class BrowserFacts:
    """What headless Chromium reported while loading the page.

    ``error`` is a one-line reason when the browser could not load the page (not installed,
    did not start, the page did not load in time); then ``insecure`` is empty. Otherwise
    ``insecure`` lists every mixed-content report the browser made, including content
    inserted by scripts after load.
    """

    error: str | None = None
    insecure: tuple[InsecureLoad, ...] = ()


@dataclass(frozen=True)
class PageFacts:
    """One listed page as fetched from one address of its host.

    When ``error`` is set the page could not be audited (refused, timed out, TLS failure,
    HTTP error status, redirect loop) and the other fields hold what was learnt before.
    Otherwise:

    - ``url``: the page as asked for (``https://host:port/path``); ``final_url`` the one that
      answered after ``redirects`` (every URL followed, in order).
    - ``redirect_to_http``: the ``http:`` URL a redirect sent the browser to (the page then
      is not HTTPS at all); None when the page stayed on https.
    - ``status``: the final HTTP status; ``content_type`` its media type (None if unnamed);
      ``html``: whether it was parsed as HTML.
    - ``size``: body bytes read; ``truncated``: the body was over the limit and only its
      first ``size`` bytes were judged.
    - ``insecure``: every http load found in the HTML, the stylesheets it links and the
      favicon request; ``stylesheets``: the https stylesheets read one level deep;
      ``notes``: what could not be followed (a stylesheet that did not load), one line each.
    - ``browser``: headless Chromium's report, None when the policy does not ask for it.
    """

    endpoint: Endpoint
    path: str
    url: str
    error: str | None = None
    final_url: str | None = None
    redirects: tuple[str, ...] = ()
    redirect_to_http: str | None = None
    status: int | None = None
    content_type: str | None = None
    html: bool = False
    size: int = 0
    truncated: bool = False
    insecure: tuple[InsecureLoad, ...] = ()
    stylesheets: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    browser: BrowserFacts | None = None

    @property
    def where(self) -> str:
        """``address:port/path``, as results.json's subject."""
        return f"{self.endpoint.where}{self.path}"

    def all_insecure(self) -> tuple[InsecureLoad, ...]:
        """Every http load found, the browser's after the static ones, each URL once."""
        seen = {load.url for load in self.insecure}
        extra = self.browser.insecure if self.browser else ()
        unique: list[InsecureLoad] = []
        for load in extra:
            if load.url not in seen:
                seen.add(load.url)
                unique.append(load)
        return (*self.insecure, *unique)

    def curl_command(self) -> str:
        """The command an administrator runs to fetch this page from this address."""
        e = self.endpoint
        address = f"[{e.address}]" if ":" in e.address else e.address
        return f"curl -k --resolve {e.host}:{e.port}:{address} {self.url}"
