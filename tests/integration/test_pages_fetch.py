"""certgate.pages.fetch against real HTTPS servers on loopback: the lab's pages, and hosts that
refuse, hang, speak plain http, never finish, or redirect forever."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from cryptography import x509

from certgate.controls import Artifact
from certgate.errors import ArtifactError
from certgate.hosts.facts import Endpoint
from certgate.inventory import Policy, Target
from certgate.items import ItemRef
from certgate.lab import pki, servers, webpages
from certgate.lab.demo import Chains
from certgate.pages.facts import InsecureLoad, PageFacts, Treatment
from certgate.pages.fetch import MAX_BODY, MAX_REDIRECTS, PageGatherer, fetch_page
from certgate.pages.rules import mixed_content, the_fix, what_was_seen
from certgate.report.evidence import page_html
from tests.support.checkfuncs import load_checks

HOST = webpages.HOST
TIMEOUT = 2.0


def leaf_for(host: str, issuer: pki.Issued) -> pki.Issued:
    return pki.make_leaf(pki.name(CN=host), issuer, key=pki.pooled_key(), dns_names=[host])


EXTRA = {
    "/plain.txt": servers.Page(b"http://c.lab/x.png", headers=(("Content-Type", "text/plain"),)),
    "/no-type.html": servers.Page(b'<img src="http://c.lab/n.png">', headers=()),
    "/moved.html": webpages.redirect("/clean.html", 301),
    "/elsewhere.html": webpages.redirect(f"https://{HOST}/clean.html", 308),
    "/ftp.html": webpages.redirect("ftp://files.lab/x"),
    **{f"/r{i}": webpages.redirect(f"/r{i + 1}") for i in range(MAX_REDIRECTS + 2)},
    "/sheets.html": webpages.html(
        '<link rel="stylesheet" href="/gone.css"><link rel="stylesheet" href="/to-http.css">'
        '<link rel="stylesheet" href="/static/imports-http.css">'
        '<link rel="stylesheet" href="/static/imports-http.css">'
    ),
    "/to-http.css": webpages.redirect("http://cdn.mixed.lab/site.css"),
    "/escape.html": webpages.html('<img src="http://c.lab/<script>alert(1)</script>.png">'),
}


@pytest.fixture(scope="module")
def site(chains: Chains) -> Iterator[Endpoint]:
    """www.mixed.lab's pages on an HTTPS server at 127.0.0.1 (any free port)."""
    issued = leaf_for(HOST, chains.uca)
    pages = {**webpages.PAGES, **EXTRA}
    server = servers.TlsServer([issued.cert, chains.uca.cert], issued.key, pages=pages)
    with server:
        yield server.endpoint(HOST)


def fetched(site: Endpoint, path: str, timeout: float = TIMEOUT) -> PageFacts:
    return fetch_page(site, path, timeout=timeout)


def urls(facts: PageFacts) -> list[str]:
    return [load.url for load in facts.insecure]


def test_a_clean_page_loads_nothing_over_http(site):
    facts = fetched(site, "/clean.html")
    assert facts.error is None
    assert facts.html
    assert facts.status == 200
    assert facts.insecure == ()
    assert facts.stylesheets == (f"https://{HOST}:{site.port}/static/clean.css",)
    assert facts.notes == ()
    assert not mixed_content(facts)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/http-image.html", [("http://cdn.mixed.lab/logo.png", "img src")]),
        ("/http-script.html", [("http://cdn.mixed.lab/jquery.js", "script src")]),
        ("/http-stylesheet.html", [("http://cdn.mixed.lab/site.css", "link rel=stylesheet")]),
        (
            "/css-url.html",
            [
                ("http://cdn.mixed.lab/bg.png", "<style> url()"),
                ("http://cdn.mixed.lab/box.png", "div style attribute url()"),
            ],
        ),
        (
            "/css-import.html",
            [
                ("http://cdn.mixed.lab/fonts.css", "@import"),
                ("http://cdn.mixed.lab/lab.woff2", "@font-face url()"),
                ("http://cdn.mixed.lab/h1.png", "url()"),
            ],
        ),
        ("/http-iframe.html", [("http://video.mixed.lab/embed/1", "iframe src")]),
        ("/form-http.html", [("http://www.mixed.lab/login", "form action")]),
        (
            "/srcset.html",
            [
                ("http://cdn.mixed.lab/hero.webp", "picture source srcset"),
                ("http://cdn.mixed.lab/hero@2x.png", "img srcset"),
            ],
        ),
        (
            "/no-icon.html",
            [
                (
                    "http://www.mixed.lab/favicon.ico",
                    "redirect of /favicon.ico (asked for when the page links no icon)",
                )
            ],
        ),
    ],
)
def test_each_lab_page_reports_its_http_loads(site, path, expected):
    facts = fetched(site, path)
    assert facts.error is None
    assert [(load.url, load.element) for load in facts.insecure] == expected
    assert mixed_content(facts)


def test_stylesheet_loads_say_which_stylesheet_and_line(site):
    facts = fetched(site, "/css-import.html")
    sheet = f"https://{HOST}:{site.port}/static/imports-http.css"
    assert {load.found_in for load in facts.insecure} == {sheet}
    assert [load.line for load in facts.insecure] == [1, 2, 3]
    assert facts.stylesheets == (sheet,)


def test_stylesheets_are_read_once_and_their_problems_noted(site):
    facts = fetched(site, "/sheets.html")
    assert facts.error is None
    assert len(facts.stylesheets) == 1  # the one that loads, read once though linked twice
    assert any("gone.css not read: HTTP 404" in note for note in facts.notes)
    redirected = [load for load in facts.insecure if load.url.endswith("/site.css")]
    assert redirected[0].treatment is Treatment.BLOCKABLE
    assert "redirect of stylesheet" in redirected[0].element


def test_a_redirect_to_http_is_mixed_content(site):
    facts = fetched(site, "/redirect-to-http.html")
    assert facts.error is None
    assert facts.redirect_to_http == f"http://{HOST}/"
    assert mixed_content(facts)
    assert "redirects to http://www.mixed.lab/" in what_was_seen(facts)
    assert "HTTP Redirect" in the_fix(facts)


def test_redirects_within_https_are_followed_to_the_same_address(site):
    facts = fetched(site, "/moved.html")
    assert facts.redirects == (f"https://{HOST}:{site.port}/clean.html",)
    assert facts.final_url == facts.redirects[-1]
    assert facts.insecure == ()


def test_a_redirect_loop_is_one_line_error(site):
    facts = fetched(site, "/redirect-loop.html")
    assert facts.error is not None
    assert facts.error.startswith("redirect loop: ")
    assert "\n" not in facts.error


def test_too_many_redirects_is_an_error(site):
    facts = fetched(site, "/r0")
    assert facts.error == (
        f"more than {MAX_REDIRECTS} redirects, from https://{HOST}:{site.port}/r0 "
        f"to https://{HOST}:{site.port}/r{MAX_REDIRECTS + 1}"
    )


def test_a_redirect_to_another_scheme_is_an_error(site):
    assert "not https" in (fetched(site, "/ftp.html").error or "")


def test_a_huge_page_is_judged_on_its_first_5_mb(site):
    start = time.monotonic()
    facts = fetched(site, "/huge.html")
    assert facts.error is None
    assert facts.truncated
    assert facts.size == MAX_BODY
    assert urls(facts) == ["http://cdn.mixed.lab/banner.png"]
    assert "judged the first 5 MB only" in what_was_seen(facts)
    assert time.monotonic() - start < TIMEOUT * 2


def test_a_page_that_never_finishes_is_an_error_within_the_timeout(site):
    start = time.monotonic()
    facts = fetched(site, "/never-finishes.html", timeout=0.6)
    assert facts.error is not None
    assert facts.error.startswith("the page did not finish within 0.6 s")
    assert time.monotonic() - start < 1.5


def test_an_http_error_status_is_an_error_naming_it(site):
    assert fetched(site, "/missing.html").error == (
        "answered HTTP 404 Not Found; check the path in pages"
    )


def test_content_that_is_not_html_is_not_parsed(site):
    facts = fetched(site, "/plain.txt")
    assert facts.error is None
    assert not facts.html
    assert facts.insecure == ()


def test_markup_without_a_content_type_is_sniffed_as_html(site):
    assert urls(fetched(site, "/no-type.html"))[0] == "http://c.lab/n.png"


def test_another_host_name_is_dialled_by_name(site):
    # https://www.mixed.lab/ on port 443 is not this endpoint's port: it is dialled by name,
    # which resolves nowhere, and the fetch fails with one line.
    facts = fetched(site, "/elsewhere.html")
    assert facts.error is not None
    assert "\n" not in facts.error


# --- hosts that cannot be audited ----------------------------------------------------------


def test_a_refused_connection_is_an_error():
    with servers.ClosedPort() as closed:
        facts = fetch_page(closed.endpoint(HOST), "/", timeout=TIMEOUT)
    assert facts.error == f"connection refused at 127.0.0.1:{closed.port}"


def test_a_hanging_host_is_an_error_within_the_timeout():
    start = time.monotonic()
    with servers.HangingServer() as hanging:
        facts = fetch_page(hanging.endpoint(HOST), "/", timeout=0.5)
    assert facts.error == "no complete answer within 0.5 s"
    assert time.monotonic() - start < 2


def test_plain_http_on_the_https_port_is_a_tls_failure():
    with servers.PlainHttpServer() as plain:
        facts = fetch_page(plain.endpoint(HOST), "/", timeout=TIMEOUT)
    assert facts.error is not None
    assert facts.error.startswith("TLS handshake failed")


def test_an_untrusted_certificate_does_not_stop_the_page_audit(chains):
    rogue = pki.make_root("certgate Rogue Root CA")
    issued = leaf_for("other.lab", rogue)  # wrong name, unknown root: chain-trusted's job
    pages = {"/": webpages.PAGES["/http-image.html"]}
    with servers.TlsServer([issued.cert], issued.key, pages=pages) as server:
        facts = fetch_page(server.endpoint(HOST), "/", timeout=TIMEOUT)
    assert facts.error is None
    assert urls(facts) == ["http://cdn.mixed.lab/logo.png"]


class Recording(servers.TlsServer):
    """Records the TLS server name and the request head of each connection."""

    def __init__(self, chain: list[x509.Certificate], key: pki.PrivateKey) -> None:
        super().__init__(chain, key)
        self.names: list[str | None] = []
        self.heads: list[bytes] = []
        self._context.sni_callback = lambda _sock, name, _ctx: self.names.append(name)

    def handle(self, conn: socket.socket) -> None:
        with self._context.wrap_socket(conn, server_side=True) as tls:
            self.heads.append(tls.recv(4096))
            tls.sendall(servers._response(webpages.CLEAN, head_only=False))


def test_the_host_name_is_sent_as_sni_and_host_header(chains):
    issued = leaf_for(HOST, chains.uca)
    server = Recording([issued.cert, chains.uca.cert], issued.key)
    with server:
        fetch_page(server.endpoint(HOST), "/clean.html?x=1", timeout=TIMEOUT)
    assert server.names[0] == HOST
    request = server.heads[0].decode("latin-1")
    assert request.startswith("GET /clean.html?x=1 HTTP/1.1\r\n")
    assert f"Host: {HOST}:{server.port}\r\n" in request


class TrickledHeaders(servers.TlsServer):
    """Sends a header line every 0.1 s, forever: each read succeeds, the answer never ends."""

    def handle(self, conn: socket.socket) -> None:
        with self._context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\n")
            while not self._stopping.wait(0.1):
                tls.sendall(b"X-Lab: still here\r\n")


def test_headers_that_never_end_are_cut_off_at_the_deadline(chains):
    issued = leaf_for(HOST, chains.uca)
    start = time.monotonic()
    with TrickledHeaders([issued.cert, chains.uca.cert], issued.key) as server:
        facts = fetch_page(server.endpoint(HOST), "/", timeout=0.6)
    assert facts.error is not None
    assert "within 0.6 s" in facts.error
    assert time.monotonic() - start < 1.5


def test_a_path_outside_ascii_is_sent_percent_encoded(chains):
    issued = leaf_for(HOST, chains.uca)
    server = Recording([issued.cert, chains.uca.cert], issued.key)
    with server:
        facts = fetch_page(server.endpoint(HOST), "/產品 list.html?q=a%20b", timeout=TIMEOUT)
    assert facts.error is None
    assert server.heads[0].startswith(b"GET /%E7%94%A2%E5%93%81%20list.html?q=a%20b HTTP/1.1\r\n")


# --- gathering, judging, reporting -----------------------------------------------------------


def target(**policy) -> Target:
    return Target("shop", Policy(**policy), host=HOST, pages=("/clean.html",))


def test_the_gatherer_fetches_each_planned_page_once_and_concurrently(site):
    gatherer = PageGatherer(timeout=TIMEOUT)
    for path in ("/clean.html", "/http-image.html", "/never-finishes.html"):
        gatherer.plan(target(), site, path)
    start = time.monotonic()
    gatherer.start()
    assert gatherer.facts(target(), site, "/clean.html").insecure == ()
    assert gatherer.facts(target(), site, "/http-image.html") is gatherer.facts(
        target(), site, "/http-image.html"
    )
    with pytest.raises(ArtifactError, match="did not finish within 2 s"):
        gatherer.judged(target(), site, "/never-finishes.html", None)
    assert time.monotonic() - start < TIMEOUT + 1.5
    gatherer.close()


def test_a_name_without_address_is_could_not_audit():
    gatherer = PageGatherer(timeout=TIMEOUT)
    with pytest.raises(ArtifactError, match="has no address: no such name"):
        gatherer.judged(target(), Endpoint(HOST, "unresolved", 443), "/", "no such name")


def test_page_items_are_named_by_address_and_path():
    ref = ItemRef(target(), Artifact.PAGE, Endpoint(HOST, "203.0.113.10", 443), "/checkout")
    assert ref.id == "shop@203.0.113.10:443/checkout"
    assert ref.subject == "203.0.113.10:443/checkout"
    v6 = ItemRef(target(), Artifact.PAGE, Endpoint(HOST, "2001:db8::1", 8443), "/")
    assert v6.id == "shop@[2001:db8::1]:8443/"


def test_the_check_fails_citing_the_manual_and_grouping_by_treatment(site, pytestconfig):
    check = load_checks(pytestconfig, "test_pages").test_mixed_content
    check(fetched(site, "/clean.html"))
    with pytest.raises(AssertionError) as failed:
        check(fetched(site, "/css-import.html"))
    message = str(failed.value)
    assert "manual 6.3" in message
    assert "loads 3 resource(s) over http" in message
    blocked, upgraded = message.split(" | ")
    assert "2 blocked by browsers" in blocked
    assert "http://cdn.mixed.lab/fonts.css (@import, in https://" in blocked
    assert "1 upgraded to https" in upgraded
    assert "F12" in message


def test_long_lists_are_cut_in_the_message_but_not_in_the_evidence(site):
    loads = tuple(
        InsecureLoad(f"http://c.lab/{i}.png", "img src", Treatment.UPGRADABLE, "x", i)
        for i in range(12)
    )
    facts = PageFacts(site, "/", "https://x/", final_url="https://x/", insecure=loads)
    assert "and 4 more" in what_was_seen(facts)
    assert page_html(facts).count("<tr><td>http://c.lab/") == 12


def test_evidence_escapes_what_comes_from_the_page(site):
    html = page_html(fetched(site, "/escape.html"))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "curl -k --resolve" in html


class CountingPages(dict[str, servers.Page]):
    """Lab pages that count how often each path is asked for."""

    def __init__(self, pages: dict[str, servers.Page]) -> None:
        super().__init__(pages)
        self.asked: dict[str, int] = {}

    def get(self, key, default=None):
        self.asked[key] = self.asked.get(key, 0) + 1
        return super().get(key, default)


def test_a_stylesheet_and_favicon_shared_by_pages_are_fetched_once(chains):
    page = webpages.html('<link rel="stylesheet" href="/shared.css">', icon=False)
    pages = CountingPages(
        {
            "/a.html": page,
            "/b.html": page,
            "/shared.css": servers.Page(b"body{}", 200, (("Content-Type", "text/css"),)),
            "/favicon.ico": webpages.redirect("http://cdn.mixed.lab/favicon.ico"),
        }
    )
    issued = leaf_for(HOST, chains.uca)
    with servers.TlsServer([issued.cert, chains.uca.cert], issued.key, pages=pages) as server:
        gatherer = PageGatherer(timeout=TIMEOUT)
        for path in ("/a.html", "/b.html"):
            gatherer.plan(target(), server.endpoint(HOST), path)
        gatherer.start()
        for path in ("/a.html", "/b.html"):  # both still judged on what was fetched
            facts = gatherer.facts(target(), server.endpoint(HOST), path)
            assert [load.url for load in facts.insecure] == ["http://cdn.mixed.lab/favicon.ico"]
        gatherer.close()
    assert pages.asked["/shared.css"] == 1
    assert pages.asked["/favicon.ico"] == 1
