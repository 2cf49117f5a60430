"""The demo lab's web pages for mixed-content (manual 6.3): one clean page and one per way a
page loads something over http, served over HTTPS by the lab host ``www.mixed.lab``.

The http URLs point at names under ``.mixed.lab`` that resolve nowhere: nothing is ever
fetched from them (browsers block or upgrade them; certgate only reads the page).
"""

from __future__ import annotations

from collections.abc import Mapping

from certgate.lab.servers import Page

HOST = "www.mixed.lab"
CDN = "http://cdn.mixed.lab"
ICON = '<link rel="icon" href="/static/icon.png">'  # else browsers ask for /favicon.ico
_CSS = (("Content-Type", "text/css; charset=utf-8"),)


def html(body: str, *, icon: bool = True, title: str = "certgate lab") -> Page:
    """An HTML page with ``body``, linking the site's icon unless told not to."""
    head = f"<!doctype html>\n<html><head><meta charset=utf-8><title>{title}</title>"
    text = f"{head}{ICON if icon else ''}</head>\n<body>\n{body}\n</body></html>\n"
    return Page(text.encode("utf-8"))


def redirect(location: str, status: int = 302) -> Page:
    """A redirect to ``location``."""
    return Page(b"", status, (("Location", location), ("Content-Type", "text/html")))


CLEAN = html(
    """<link rel="stylesheet" href="/static/clean.css">
<script src="/static/app.js"></script>
<img src="/static/logo.png" srcset="/static/logo.png 1x, //www.mixed.lab/static/logo2x.png 2x">
<video src="https://www.mixed.lab/static/intro.mp4" poster="/static/poster.png"></video>
<form action="/search"><input name="q"></form>
<p style="background: url('/static/bg.png')">Navigation may point anywhere:
<a href="http://www.example.com/">a plain http link is not mixed content</a>.</p>"""
)

# Inserted by script after load: only a browser sees it (policy.mixed_content_browser).
SCRIPT_INSERTS = html(
    """<p>An image is added after the page has loaded.</p>
<script>
addEventListener("load", () => setTimeout(() => {
  const img = new Image();
  img.src = "http:" + "//cdn.mixed.lab/late.png";
  document.body.append(img);
}, 50));
</script>"""
)

HUGE_BYTES = 6 * 1024 * 1024  # over certgate's 5 MB limit: the first 5 MB are judged
HUGE = Page(
    html(f'<img src="{CDN}/banner.png">\n<!-- padding -->').body
    + b"<p>"
    + b"x" * HUGE_BYTES
    + b"</p>\n"
)

PAGES: Mapping[str, Page] = {
    "/": CLEAN,
    "/clean.html": CLEAN,
    "/http-image.html": html(f'<img src="{CDN}/logo.png" alt="logo">'),
    "/http-script.html": html(f'<script src="{CDN}/jquery.js"></script>'),
    "/http-stylesheet.html": html(f'<link rel="stylesheet" href="{CDN}/site.css">'),
    "/css-url.html": html(
        f"<style>\nbody {{ background: url({CDN}/bg.png) }}\n</style>\n"
        f"<div style=\"background-image: url('{CDN}/box.png')\">box</div>"
    ),
    "/css-import.html": html('<link rel="stylesheet" href="/static/imports-http.css">'),
    "/http-iframe.html": html('<iframe src="http://video.mixed.lab/embed/1"></iframe>'),
    "/form-http.html": html(
        '<form action="http://www.mixed.lab/login" method="post"><input name="user"></form>'
    ),
    "/srcset.html": html(
        f'<picture><source srcset="{CDN}/hero.webp 1x, https://cdn.mixed.lab/hero2x.webp 2x">'
        f'<img src="/static/hero.png" srcset="/static/hero.png 1x, {CDN}/hero@2x.png 2x">'
        "</picture>"
    ),
    "/no-icon.html": html("<p>No icon link: browsers ask for /favicon.ico.</p>", icon=False),
    "/favicon.ico": redirect(f"http://{HOST}/favicon.ico", 301),
    "/redirect-to-http.html": redirect(f"http://{HOST}/"),
    "/script-inserts.html": SCRIPT_INSERTS,
    "/huge.html": HUGE,
    "/never-finishes.html": Page(html("<p>Loading").body, endless=True),
    "/redirect-loop.html": redirect("/redirect-loop-2.html"),
    "/redirect-loop-2.html": redirect("/redirect-loop.html"),
    "/static/clean.css": Page(
        b'@import "/static/more.css";\nbody { background: url(/static/bg.png) }\n', headers=_CSS
    ),
    "/static/more.css": Page(b"p { color: #333 }\n", headers=_CSS),
    "/static/imports-http.css": Page(
        (
            f'@import "{CDN}/fonts.css";\n'
            f"@font-face {{ font-family: Lab; src: url({CDN}/lab.woff2) format('woff2') }}\n"
            f'h1 {{ background-image: url("{CDN}/h1.png") }}\n'
        ).encode(),
        headers=_CSS,
    ),
    "/static/app.js": Page(b"void 0;\n", headers=(("Content-Type", "text/javascript"),)),
    "/static/icon.png": Page(b"\x89PNG\r\n", headers=(("Content-Type", "image/png"),)),
}
