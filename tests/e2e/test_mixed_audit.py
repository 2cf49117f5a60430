"""End to end: mixed-content in the shipped targets.yaml against the demo lab's www.mixed.lab,
and against a real nginx serving the pages an administrator would."""

from __future__ import annotations

from datetime import timedelta

import pytest

from certgate.lab import demo, pki
from certgate.pages.browser import chromium
from tests.support.audit import Audit, project, run
from tests.support.nginx import Site, running_nginx

LAB = "127.0.10.15:8443"
MIXED = [
    ("/http-image.html", "http://cdn.mixed.lab/logo.png (img src, line 4)"),
    ("/http-script.html", "http://cdn.mixed.lab/jquery.js (script src"),
    ("/http-stylesheet.html", "http://cdn.mixed.lab/site.css (link rel=stylesheet"),
    ("/css-url.html", "http://cdn.mixed.lab/box.png (div style attribute url()"),
    ("/css-import.html", "http://cdn.mixed.lab/fonts.css (@import, in https://"),
    ("/http-iframe.html", "http://video.mixed.lab/embed/1 (iframe src"),
    ("/form-http.html", "http://www.mixed.lab/login (form action"),
    ("/srcset.html", "http://cdn.mixed.lab/hero@2x.png (img srcset"),
    ("/no-icon.html", "http://www.mixed.lab/favicon.ico (redirect of /favicon.ico"),
    ("/redirect-to-http.html", "redirects to http://www.mixed.lab/"),
    ("/huge.html", "(judged the first 5 MB only)"),
]


@pytest.mark.parametrize(("path", "seen"), MIXED)
def test_each_demo_page_with_http_content_fails_citing_6_3(demo_audit: Audit, path, seen):
    row = demo_audit.row("mixed-content", "pages-mixed", f"{LAB}{path}")
    assert row["outcome"] == "failed"
    assert seen in row["message"]
    assert "manual 6.3" in row["message"]
    assert row["nodeid"] == f"checks/test_pages.py::test_mixed_content[pages-mixed@{LAB}{path}]"


def test_clean_demo_pages_pass(demo_audit: Audit):
    rows = demo_audit.rows("mixed-content", "pages-clean")
    assert [(r["subject"], r["outcome"]) for r in rows] == [
        (f"{LAB}/", "passed"),
        (f"{LAB}/script-inserts.html", "passed"),  # without a browser, scripts are not run
    ]


def test_pages_that_cannot_be_fetched_are_errors_with_one_line(demo_audit: Audit):
    rows = {r["subject"]: r for r in demo_audit.rows("mixed-content", "pages-unfetchable")}
    assert {r["outcome"] for r in rows.values()} == {"error"}
    assert "did not finish within" in rows[f"{LAB}/never-finishes.html"]["message"]
    assert "redirect loop" in rows[f"{LAB}/redirect-loop.html"]["message"]
    assert "HTTP 404" in rows[f"{LAB}/missing.html"]["message"]
    assert all("\n" not in r["message"] for r in rows.values())


def test_the_browser_policy_sees_content_scripts_insert(demo_audit: Audit):
    inserted = demo_audit.row("mixed-content", "pages-browser", f"{LAB}/script-inserts.html")
    if chromium() is None:  # never a pass without the browser
        assert inserted["outcome"] == "error"
        assert "Chromium is not installed" in inserted["message"]
        return
    assert inserted["outcome"] == "failed"
    assert "http://cdn.mixed.lab/late.png" in inserted["message"]
    assert "seen by headless Chromium" in inserted["message"]
    clean = demo_audit.row("mixed-content", "pages-browser", f"{LAB}/clean.html")
    assert clean["outcome"] == "passed"


def test_the_report_shows_each_http_load_escaped(demo_audit: Audit):
    html = (demo_audit.reports / "report.html").read_text(encoding="utf-8")
    assert "loaded over http" in html
    assert "curl -k --resolve www.mixed.lab:8443:127.0.10.15" in html


# --- a real web server ----------------------------------------------------------------------

NGINX_HOST, NGINX_ADDRESS, NGINX_PORT = "www.mixed.nginx.lab", "127.0.21.1", 8443
NGINX_PAGES = {
    "/index.html": '<!doctype html><link rel="stylesheet" href="/css/ok.css"><img src="/a.png">',
    "/mixed.html": '<!doctype html><p><img src="http://cdn.nginx.lab/a.png"></p>',
    "/styled.html": '<!doctype html><link rel="stylesheet" href="/css/http.css">',
    "/css/ok.css": "body { background: url(/bg.png) }",
    "/css/http.css": '@import "http://cdn.nginx.lab/more.css";',
}


@pytest.fixture(scope="module")
def nginx_audit(chains: demo.Chains, tmp_path_factory: pytest.TempPathFactory) -> Audit:
    folder = tmp_path_factory.mktemp("nginx-pages")
    start = pki.now() - timedelta(days=1)
    leaf = pki.make_leaf(
        pki.name(CN=NGINX_HOST),
        chains.uca,
        key=pki.pooled_key(),
        dns_names=[NGINX_HOST],
        not_before=start,
        not_after=start + timedelta(days=90),
    )
    site = Site(
        NGINX_HOST, NGINX_ADDRESS, NGINX_PORT, [leaf, chains.uca], leaf.key, pages=NGINX_PAGES
    )
    targets = f"""
targets:
  - name: nginx-pages
    host: {NGINX_HOST}
    port: {NGINX_PORT}
    addresses: [{NGINX_ADDRESS}]
    pages: [/index.html, /mixed.html, /styled.html, /missing.html]
"""
    with running_nginx([site], folder / "nginx"):
        return run(project(folder / "audit", targets), "-k", "mixed-content")


def test_nginx_pages_are_judged_page_by_page(nginx_audit: Audit):
    where = f"{NGINX_ADDRESS}:{NGINX_PORT}"
    outcomes = {r["subject"]: r["outcome"] for r in nginx_audit.rows("mixed-content")}
    assert outcomes == {
        f"{where}/index.html": "passed",
        f"{where}/mixed.html": "failed",
        f"{where}/styled.html": "failed",
        f"{where}/missing.html": "error",
    }
    assert nginx_audit.status == 1
    styled = nginx_audit.row("mixed-content", "nginx-pages", f"{where}/styled.html")
    assert "http://cdn.nginx.lab/more.css (@import, in https://" in styled["message"]
