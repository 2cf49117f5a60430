"""Pure judgements over fetched pages (manual 6.3). No I/O, no pytest."""

from __future__ import annotations

from collections.abc import Sequence

from certgate.pages.facts import BROWSER, InsecureLoad, PageFacts, Treatment

SHOWN = 8  # URLs listed per group in a message; the report's evidence lists them all

_GROUPS = (
    (Treatment.BLOCKABLE, "blocked by browsers, so the page breaks"),
    (Treatment.UPGRADABLE, "upgraded to https by browsers, broken where no https copy exists"),
)


def insecure_loads(page: PageFacts) -> tuple[InsecureLoad, ...]:
    """Everything the page loads over http, from the HTML, its stylesheets, its favicon
    request and (when asked) headless Chromium."""
    return page.all_insecure()


def mixed_content(page: PageFacts) -> bool:
    """The page leaves https, or loads anything over http."""
    return page.redirect_to_http is not None or bool(insecure_loads(page))


def describe_load(load: InsecureLoad, page_url: str | None) -> str:
    """``http://cdn/a.js (script src, line 12)``; where it was not found in the page itself,
    where it was: ``(url(), in https://site/a.css, line 3)``."""
    where = [load.element]
    if load.found_in == BROWSER:
        where.append("seen by headless Chromium")
    elif load.found_in != page_url:
        where.append(f"in {load.found_in}")
    if load.line is not None:
        where.append(f"line {load.line}")
    return f"{load.url} ({', '.join(where)})"


def _group(loads: Sequence[InsecureLoad], title: str, page_url: str | None) -> str:
    shown = "; ".join(describe_load(load, page_url) for load in loads[:SHOWN])
    more = f"; and {len(loads) - SHOWN} more" if len(loads) > SHOWN else ""
    return f"{len(loads)} {title}: {shown}{more}"


def what_was_seen(page: PageFacts) -> str:
    """One line: where the page sent the browser, or what it loads over http, grouped as
    browsers treat it, and whether only the first part of a huge page was judged."""
    head = f"{page.url} at {page.endpoint.where}"
    if page.redirect_to_http is not None:
        return f"{head} redirects to {page.redirect_to_http}: the browser leaves HTTPS"
    loads = insecure_loads(page)
    groups = [
        _group([load for load in loads if load.treatment is kind], title, page.final_url)
        for kind, title in _GROUPS
        if any(load.treatment is kind for load in loads)
    ]
    cut = f" (judged the first {page.size // (1024 * 1024)} MB only)" if page.truncated else ""
    return f"{head} loads {len(loads)} resource(s) over http{cut} — " + " | ".join(groups)


def the_fix(page: PageFacts) -> str:
    """One concrete fix for an IIS administrator."""
    if page.redirect_to_http is not None:
        return (
            "In IIS Manager > the site > HTTP Redirect (or URL Rewrite), make the redirect "
            "target an https:// address"
        )
    return (
        "Serve each over https or copy it to this site and link it by a relative path; "
        "the browser's console (F12) lists them all as 'Mixed Content'"
    )
