"""What an HTML page or a stylesheet makes a browser load: every sub-resource URL, resolved.

A real HTML tokenizer (the standard library's :class:`html.parser.HTMLParser`: it knows that
``<script>`` and ``<style>`` hold raw text, unescapes attribute values, keeps line numbers;
html5lib would build a full tree we do not need and has had no release since 2020) and a real
CSS tokenizer (tinycss2, the CSS Syntax Level 3 parser WeasyPrint uses) — never regular
expressions over markup. Pure functions over strings: :mod:`certgate.pages.fetch` does the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import tinycss2
import tinycss2.ast

from certgate.pages.facts import Treatment

_BLOCK, _UPGRADE = Treatment.BLOCKABLE, Treatment.UPGRADABLE
_WHITESPACE = " \t\n\r\f"


@dataclass(frozen=True)
class Reference:
    """One sub-resource: its absolute URL, what loads it, how browsers treat it over http.

    ``stylesheet`` marks a stylesheet (``link rel=stylesheet``, ``@import``) whose own
    references count too; ``line`` is the line in the document, None when unknown.
    """

    url: str
    element: str
    treatment: Treatment
    line: int | None = None
    stylesheet: bool = False

    @property
    def insecure(self) -> bool:
        """Loaded over plain http (protocol-relative ``//`` inherits https: not insecure)."""
        return is_http(self.url)


@dataclass(frozen=True)
class HtmlReferences:
    """Every sub-resource of one HTML document; ``has_icon``: it links its own icon (else
    browsers ask for ``/favicon.ico``); ``base``: the URL relative references resolve against."""

    references: tuple[Reference, ...]
    has_icon: bool
    base: str


def is_http(url: str) -> bool:
    """Whether ``url`` is fetched over plain http."""
    try:
        return urlsplit(url).scheme == "http"
    except ValueError:
        return False


def resolve(base: str, raw: str) -> str | None:
    """``raw`` resolved against ``base`` as a browser does, None when it names nothing."""
    # The URL parser strips leading/trailing C0 space and drops tabs and newlines anywhere.
    cleaned = raw.strip(_WHITESPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    if not cleaned:
        return None  # an empty src names the document itself: nothing new is loaded
    try:
        return urljoin(base, cleaned)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: the browser cannot load it either
        return None


def srcset_urls(value: str) -> list[str]:
    """The candidate URLs of a ``srcset`` attribute (WHATWG "parse a srcset attribute")."""
    urls: list[str] = []
    pos, end = 0, len(value)
    while True:
        while pos < end and (value[pos] in _WHITESPACE or value[pos] == ","):
            pos += 1
        if pos >= end:
            return urls
        start = pos
        while pos < end and value[pos] not in _WHITESPACE:
            pos += 1
        url = value[start:pos]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            pos = _skip_descriptors(value, pos)
        if url:
            urls.append(url)


def _skip_descriptors(value: str, pos: int) -> int:
    """Past the descriptors of one candidate (``2x``, ``640w``), to after its comma."""
    in_parens = False
    while pos < len(value):
        char = value[pos]
        pos += 1
        if char == "(":
            in_parens = True
        elif char == ")":
            in_parens = False
        elif char == "," and not in_parens:
            break
    return pos


# --- HTML -------------------------------------------------------------------------------------

# (tag, attribute) -> how browsers treat an http URL there. <a href> is navigation: absent.
_URL_ATTRIBUTES: dict[tuple[str, str], Treatment] = {
    ("script", "src"): _BLOCK,
    ("img", "src"): _UPGRADE,
    ("input", "src"): _UPGRADE,  # <input type=image>
    ("video", "src"): _UPGRADE,
    ("video", "poster"): _UPGRADE,
    ("audio", "src"): _UPGRADE,
    ("source", "src"): _UPGRADE,  # inside <audio>/<video>
    ("track", "src"): _BLOCK,  # text tracks are fetched like scripts (CORS)
    ("iframe", "src"): _BLOCK,
    ("frame", "src"): _BLOCK,
    ("object", "data"): _BLOCK,
    ("embed", "src"): _BLOCK,
    ("form", "action"): _BLOCK,  # browsers warn and refuse to send the form in clear text
    ("image", "href"): _UPGRADE,  # SVG <image>
    ("image", "xlink:href"): _UPGRADE,
}
_SRCSET_TAGS = {"img": "img srcset", "source": "picture source srcset"}
_MEDIA_AS = {"image", "audio", "video"}  # link rel=preload as=...: upgradable destinations


@dataclass(frozen=True)
class _Raw:
    """A reference as written, resolved once the document's base URL is known."""

    value: str
    element: str
    treatment: Treatment
    line: int
    stylesheet: bool = False


class _Collector(HTMLParser):
    """Collects raw references, ``<base href>``, ``<style>`` text and icon links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.raw: list[_Raw] = []
        self.base_href: str | None = None
        self.has_icon = False
        self.styles: list[tuple[str, str, int]] = []  # (css, label, first line)
        self._style: list[str] | None = None
        self._style_line = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in reversed(attrs) if value is not None}
        line = self.getpos()[0]
        if tag == "base" and "href" in values and self.base_href is None:
            self.base_href = values["href"]  # only the first <base href> counts
        elif tag == "link":
            self._link(values, line)
        elif tag == "style":
            self._style, self._style_line = [], line
        for name, value in values.items():
            treatment = _URL_ATTRIBUTES.get((tag, name))
            if treatment is not None:
                self.raw.append(_Raw(value, f"{tag} {name}", treatment, line))
        if tag in _SRCSET_TAGS and "srcset" in values:
            for url in srcset_urls(values["srcset"]):
                self.raw.append(_Raw(url, _SRCSET_TAGS[tag], _UPGRADE, line))
        if "style" in values:
            self.styles.append((values["style"], f"{tag} style attribute", line))

    def _link(self, values: dict[str, str], line: int) -> None:
        rels = set(values.get("rel", "").lower().split())
        href = values.get("href")
        if "icon" in rels:
            self.has_icon = True
        if href is None:
            return
        if "stylesheet" in rels:
            self.raw.append(_Raw(href, "link rel=stylesheet", _BLOCK, line, stylesheet=True))
        if "icon" in rels:
            self.raw.append(_Raw(href, "link rel=icon", _UPGRADE, line))
        if "preload" in rels:
            kind = values.get("as", "").lower()
            treatment = _UPGRADE if kind in _MEDIA_AS else _BLOCK
            self.raw.append(_Raw(href, f"link rel=preload as={kind or '?'}", treatment, line))
        for rel in ("modulepreload", "manifest"):
            if rel in rels:
                self.raw.append(_Raw(href, f"link rel={rel}", _BLOCK, line))

    def handle_data(self, data: str) -> None:
        if self._style is not None:
            self._style.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self._style is not None:
            self.styles.append(("".join(self._style), "<style>", self._style_line))
            self._style = None


def html_references(text: str, url: str) -> HtmlReferences:
    """Every sub-resource ``text`` (an HTML document fetched from ``url``) makes a browser load:
    elements, ``srcset`` candidates, inline styles and ``<style>`` blocks, resolved against
    the first ``<base href>`` (itself resolved against ``url``)."""
    collector = _Collector()
    collector.feed(text)
    collector.close()
    if collector._style is not None:  # an unclosed <style> (or a page cut at the size limit):
        collector.handle_data(collector.rawdata)  # the parser kept its text unprocessed
        collector.handle_endtag("style")
    base = url
    if collector.base_href is not None:
        base = resolve(url, collector.base_href) or url
    found: list[Reference] = []
    for raw in collector.raw:
        absolute = resolve(base, raw.value)
        if absolute is not None:
            found.append(Reference(absolute, raw.element, raw.treatment, raw.line, raw.stylesheet))
    for css, label, line in collector.styles:
        inline = label != "<style>"
        found.extend(css_references(css, base, label=label, first_line=line, inline=inline))
    return HtmlReferences(tuple(found), collector.has_icon, base)


# --- CSS --------------------------------------------------------------------------------------

_RULE_CONTAINERS = {"media", "supports", "layer", "container", "document", "scope"}
_URL_FUNCTIONS = {"url", "src"}
_IMAGE_SETS = {"image-set", "-webkit-image-set"}
_BLOCKS = (
    tinycss2.ast.ParenthesesBlock,
    tinycss2.ast.SquareBracketsBlock,
    tinycss2.ast.CurlyBracketsBlock,
)


def css_references(
    text: str, url: str, *, label: str = "", first_line: int = 1, inline: bool = False
) -> list[Reference]:
    """Every URL a stylesheet loads: ``@import`` (a stylesheet), ``url()`` in ``@font-face``
    (a font), any other ``url()``/``image-set()`` (an image), resolved against ``url``.

    ``inline`` reads ``text`` as a ``style`` attribute (declarations, no rules); ``label``
    prefixes the element names and ``first_line`` is the line ``text`` starts on.
    """
    prefix = f"{label} " if label else ""
    offset = first_line - 1
    if inline:
        values = tinycss2.parse_component_value_list(text, skip_comments=True)
        hits = [(u, line, "url()") for u, line in _urls(values)]
        return list(_references(hits, url, prefix, offset, _UPGRADE))
    return list(_rule_references(tinycss2.parse_stylesheet(text, True, True), url, prefix, offset))


def _rule_references(
    rules: Iterable[tinycss2.ast.Node], url: str, prefix: str, offset: int
) -> Iterator[Reference]:
    for rule in rules:
        if isinstance(rule, tinycss2.ast.QualifiedRule):
            hits = [(u, line, "url()") for u, line in _urls(rule.content)]
            yield from _references(hits, url, prefix, offset, _UPGRADE)
        elif isinstance(rule, tinycss2.ast.AtRule):
            yield from _at_rule_references(rule, url, prefix, offset)


def _at_rule_references(
    rule: tinycss2.ast.AtRule, url: str, prefix: str, offset: int
) -> Iterator[Reference]:
    name = rule.lower_at_keyword
    if name == "import":
        target = _import_target(rule.prelude)
        if target is not None:
            absolute = resolve(url, target[0])
            if absolute is not None:
                line = target[1] + offset
                yield Reference(absolute, f"{prefix}@import", _BLOCK, line, stylesheet=True)
    elif name == "font-face" and rule.content is not None:
        hits = [(u, line, "@font-face url()") for u, line in _urls(rule.content)]
        yield from _references(hits, url, prefix, offset, _BLOCK)
    elif name in _RULE_CONTAINERS and rule.content is not None:
        nested = tinycss2.parse_rule_list(rule.content, True, True)
        yield from _rule_references(nested, url, prefix, offset)
    elif rule.content is not None:  # @page, @keyframes, ...: any url() is an image
        hits = [(u, line, "url()") for u, line in _urls(rule.content)]
        yield from _references(hits, url, prefix, offset, _UPGRADE)


def _import_target(prelude: list[tinycss2.ast.Node]) -> tuple[str, int] | None:
    """The URL of ``@import "x.css"``, ``@import url(x.css)`` or ``@import url("x.css")``."""
    for token in prelude:
        if isinstance(token, tinycss2.ast.StringToken | tinycss2.ast.URLToken):
            return token.value, token.source_line
        if isinstance(token, tinycss2.ast.FunctionBlock) and token.lower_name == "url":
            found = next(_urls([token]), None)
            return found
        if not isinstance(token, tinycss2.ast.WhitespaceToken | tinycss2.ast.Comment):
            return None
    return None


def _references(
    hits: Iterable[tuple[str, int, str]], url: str, prefix: str, offset: int, kind: Treatment
) -> Iterator[Reference]:
    for value, line, element in hits:
        absolute = resolve(url, value)
        if absolute is not None:
            yield Reference(absolute, f"{prefix}{element}", kind, line + offset)


def _urls(values: Iterable[tinycss2.ast.Node] | None) -> Iterator[tuple[str, int]]:
    """(URL, line) of every ``url()``, ``src()`` and ``image-set()`` string, at any depth."""
    for node in values or ():
        if isinstance(node, tinycss2.ast.URLToken):
            yield node.value, node.source_line
        elif isinstance(node, tinycss2.ast.FunctionBlock):
            if node.lower_name in _URL_FUNCTIONS:
                strings = [a for a in node.arguments if isinstance(a, tinycss2.ast.StringToken)]
                if strings:
                    yield strings[0].value, strings[0].source_line
            elif node.lower_name in _IMAGE_SETS:
                for arg in node.arguments:
                    if isinstance(arg, tinycss2.ast.StringToken):
                        yield arg.value, arg.source_line
            yield from _urls(node.arguments)
        elif isinstance(node, _BLOCKS):
            yield from _urls(node.content)
