"""certgate.pages.extract on HTML and CSS strings: what a browser loads, and how it treats http."""

from __future__ import annotations

import pytest

from certgate.pages.extract import css_references, html_references, resolve, srcset_urls
from certgate.pages.facts import Treatment

PAGE = "https://www.shop.lab/dir/page.html"
BLOCK, UPGRADE = Treatment.BLOCKABLE, Treatment.UPGRADABLE


def insecure(html: str, url: str = PAGE) -> list[tuple[str, str, Treatment]]:
    """(URL, element, treatment) of every http load in ``html``."""
    found = html_references(html, url).references
    return [(r.url, r.element, r.treatment) for r in found if r.insecure]


@pytest.mark.parametrize(
    ("html", "element", "treatment"),
    [
        ('<script src="http://c.lab/x"></script>', "script src", BLOCK),
        ('<link rel="stylesheet" href="http://c.lab/x">', "link rel=stylesheet", BLOCK),
        ('<link rel="Shortcut Icon" href="http://c.lab/x">', "link rel=icon", UPGRADE),
        ('<link rel="preload" as="font" href="http://c.lab/x">', "link rel=preload as=font", BLOCK),
        ('<link rel=preload as=image href="http://c.lab/x">', "link rel=preload as=image", UPGRADE),
        ('<link rel="manifest" href="http://c.lab/x">', "link rel=manifest", BLOCK),
        ('<img src="http://c.lab/x">', "img src", UPGRADE),
        ('<img srcset="http://c.lab/x 2x">', "img srcset", UPGRADE),
        ('<picture><source srcset="http://c.lab/x"></picture>', "picture source srcset", UPGRADE),
        ('<audio src="http://c.lab/x"></audio>', "audio src", UPGRADE),
        ('<video src="http://c.lab/x"></video>', "video src", UPGRADE),
        ('<video poster="http://c.lab/x"></video>', "video poster", UPGRADE),
        ('<video><source src="http://c.lab/x"></video>', "source src", UPGRADE),
        ('<video><track src="http://c.lab/x"></video>', "track src", BLOCK),
        ('<iframe src="http://c.lab/x"></iframe>', "iframe src", BLOCK),
        ('<frameset><frame src="http://c.lab/x"></frameset>', "frame src", BLOCK),
        ('<object data="http://c.lab/x"></object>', "object data", BLOCK),
        ('<embed src="http://c.lab/x">', "embed src", BLOCK),
        ('<form action="http://c.lab/x"></form>', "form action", BLOCK),
        ('<input type="image" src="http://c.lab/x">', "input src", UPGRADE),
        ('<p style="background:url(http://c.lab/x)">', "p style attribute url()", UPGRADE),
        ("<style>p{background:url('http://c.lab/x')}</style>", "<style> url()", UPGRADE),
        ('<style>@import "http://c.lab/x";</style>', "<style> @import", BLOCK),
        (
            "<style>@font-face{font-family:a;src:url(http://c.lab/x)}</style>",
            "<style> @font-face url()",
            BLOCK,
        ),
    ],
)
def test_each_element_that_loads_is_found_with_how_browsers_treat_it(html, element, treatment):
    assert insecure(html) == [("http://c.lab/x", element, treatment)]


@pytest.mark.parametrize(
    "html",
    [
        '<a href="http://c.lab/">navigation is not mixed content</a>',
        '<img src="//c.lab/x.png">',  # protocol-relative: https on an https page
        '<img src="/x.png"><img src="x.png"><img src="https://c.lab/x.png">',
        "<script>var s = '<img src=http://c.lab/x.png>';</script>",  # script text, not markup
        '<img src=""><img src="data:image/png;base64,AAAA">',
        '<link rel="canonical" href="http://c.lab/"><link rel="alternate" href="http://c.lab/">',
        "<!-- <img src='http://c.lab/x.png'> -->",
        '<p>http://c.lab/x.png as text</p><meta http-equiv="refresh" content="0;url=/">',
    ],
)
def test_what_browsers_do_not_load_over_http_is_not_reported(html):
    assert insecure(html) == []


def test_urls_resolve_against_the_page_and_the_first_base_href():
    html = '<base href="http://cdn.lab/assets/"><base href="https://x.lab/"><img src="a.png">'
    assert insecure(html) == [("http://cdn.lab/assets/a.png", "img src", UPGRADE)]
    found = html_references('<base href="../top/"><img src="b.png">', PAGE)
    assert found.base == "https://www.shop.lab/top/"
    assert found.references[0].url == "https://www.shop.lab/top/b.png"


def test_url_resolution_strips_space_and_drops_tabs_and_newlines_like_browsers():
    assert resolve(PAGE, "  http://c.lab/x\n.png ") == "http://c.lab/x.png"
    assert resolve(PAGE, "   ") is None
    assert resolve(PAGE, "http://[::1/x") is None
    assert insecure('<img src="HTTP://c.lab/x">') == [("HTTP://c.lab/x", "img src", UPGRADE)]


def test_entities_in_attributes_are_decoded_before_judging():
    assert insecure('<img src="http&#58;//c.lab/x&amp;y">') == [
        ("http://c.lab/x&y", "img src", UPGRADE)
    ]


def test_srcset_candidates_follow_the_whatwg_parser():
    assert srcset_urls("a.png 1x, b.png 2x") == ["a.png", "b.png"]
    assert srcset_urls("a.png,b.png") == ["a.png,b.png"]  # a comma inside a URL stays
    assert srcset_urls("a.png, b.png 100w,c.png") == ["a.png", "b.png", "c.png"]
    assert srcset_urls(" ,, a.png (x, y) 2x, b.png") == ["a.png", "b.png"]
    assert srcset_urls("http://c.lab/a,b.png 2x") == ["http://c.lab/a,b.png"]


def test_icon_links_are_noticed_so_favicon_ico_is_not_asked_for():
    assert html_references('<link rel="icon" href="/i.png">', PAGE).has_icon
    assert html_references('<link rel="shortcut icon" href="/i.ico">', PAGE).has_icon
    assert not html_references('<link rel="stylesheet" href="/s.css">', PAGE).has_icon


def test_stylesheets_are_marked_to_be_followed():
    found = html_references(
        '<link rel=stylesheet href="/a.css"><style>@import url("b.css");</style>', PAGE
    )
    sheets = [r.url for r in found.references if r.stylesheet]
    assert sheets == ["https://www.shop.lab/a.css", "https://www.shop.lab/dir/b.css"]


def test_lines_are_those_of_the_document():
    html = '<!doctype html>\n<p>\n<img src="http://c.lab/x">\n<style>\n\n a{b:url(http://c.lab/y)}'
    lines = [r.line for r in html_references(html, PAGE).references if r.insecure]
    assert lines == [3, 6]


CSS = """@charset "utf-8";
@import url("http://c.lab/a.css") screen;
@import 'https://c.lab/ok.css';
@media (min-width: 10px) { .hero { background: image-set("http://c.lab/h.png" 1x) } }
@supports (display: grid) { @font-face { src: local(x), url(http://c.lab/f.woff2) } }
.x { cursor: url(http://c.lab/c.cur), auto; mask: url(#local) }
/* url(http://c.lab/comment.png) */
.y { background: url( "http://c.lab/y.png" ) }
"""


def test_css_url_import_font_face_and_image_set_are_found_in_any_rule():
    found = [
        (r.url, r.element, r.treatment, r.line)
        for r in css_references(CSS, "https://www.shop.lab/css/site.css")
        if r.insecure
    ]
    assert found == [
        ("http://c.lab/a.css", "@import", BLOCK, 2),
        ("http://c.lab/h.png", "url()", UPGRADE, 4),
        ("http://c.lab/f.woff2", "@font-face url()", BLOCK, 5),
        ("http://c.lab/c.cur", "url()", UPGRADE, 6),
        ("http://c.lab/y.png", "url()", UPGRADE, 8),
    ]


def test_css_urls_resolve_against_the_stylesheet():
    refs = css_references(".a{background:url(../img/a.png)}", "http://c.lab/css/s.css")
    assert refs[0].url == "http://c.lab/img/a.png"
    assert refs[0].insecure


def test_broken_markup_and_css_do_not_stop_the_search():
    # "<div <img" is a div with an attribute "<img", for browsers too: no image loads.
    html = '<div <img src="http://c.lab/a"><p><b><img src="http://c.lab/b" <style>p{}'
    assert [u for u, _, _ in insecure(html)] == ["http://c.lab/b"]
    cut = "<p><style>p{background:url(http://c.lab/c)"  # a page cut off at the size limit
    assert [u for u, _, _ in insecure(cut)] == ["http://c.lab/c"]
    assert css_references("}}}{ @import ;; .a{b:url(http://c.lab/c)", PAGE)[0].url == (
        "http://c.lab/c"
    )
