"""policy.mixed_content_browser: headless Chromium sees what scripts insert after load.

Needs Debian's ``chromium`` package (.ci/run installs it). Without it these tests skip on a
developer's machine, but fail under CI=true: the browser mode must be proven there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from certgate.errors import ArtifactError
from certgate.hosts.facts import Endpoint
from certgate.inventory import InventoryError, Policy, Target, load_inventory
from certgate.lab import pki, servers, webpages
from certgate.lab.demo import Chains
from certgate.pages import browser
from certgate.pages.facts import Treatment
from certgate.pages.fetch import PageGatherer

HOST = webpages.HOST
TIMEOUT = 5.0


@pytest.fixture(scope="module")
def site(chains: Chains) -> Iterator[Endpoint]:
    issued = pki.make_leaf(pki.name(CN=HOST), chains.uca, key=pki.pooled_key(), dns_names=[HOST])
    server = servers.TlsServer([issued.cert, chains.uca.cert], issued.key, pages=webpages.PAGES)
    with server:
        yield server.endpoint(HOST)


@pytest.fixture
def needs_chromium() -> None:
    if browser.chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must apt-get install chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")


@pytest.mark.usefixtures("needs_chromium")
def test_the_browser_reports_an_image_a_script_inserts_after_load(site):
    start = time.monotonic()
    facts = browser.browse(site, f"https://{HOST}:{site.port}/script-inserts.html", timeout=TIMEOUT)
    assert facts.error is None
    assert [(load.url, load.treatment) for load in facts.insecure] == [
        ("http://cdn.mixed.lab/late.png", Treatment.UPGRADABLE)
    ]
    assert facts.insecure[0].element == "image requested while the page ran"
    assert time.monotonic() - start < 15


@pytest.mark.usefixtures("needs_chromium")
def test_the_gatherer_adds_the_browser_report_to_the_static_one(site):
    gatherer = PageGatherer(timeout=TIMEOUT)
    static = Target("shop", Policy(), host=HOST, pages=("/script-inserts.html",))
    browsed = Target("shop-js", Policy(mixed_content_browser=True), host=HOST)
    for target in (static, browsed):
        gatherer.plan(target, site, "/script-inserts.html")
        gatherer.plan(target, site, "/http-script.html")
    gatherer.start()
    assert gatherer.facts(static, site, "/script-inserts.html").all_insecure() == ()
    seen = gatherer.judged(browsed, site, "/script-inserts.html", None).all_insecure()
    assert [load.url for load in seen] == ["http://cdn.mixed.lab/late.png"]
    both = gatherer.judged(browsed, site, "/http-script.html", None)
    assert [load.url for load in both.all_insecure()] == ["http://cdn.mixed.lab/jquery.js"]
    assert both.browser is not None
    assert both.browser.insecure[0].treatment is Treatment.BLOCKABLE  # the browser blocked it
    gatherer.close()


def test_without_chromium_the_browser_mode_is_an_error_never_a_pass(site, monkeypatch):
    monkeypatch.setenv("CERTGATE_CHROMIUM", "/nonexistent/chromium")
    facts = browser.browse(site, f"https://{HOST}:{site.port}/clean.html", timeout=TIMEOUT)
    assert facts.error is not None
    assert "apt-get install chromium" in facts.error
    gatherer = PageGatherer(timeout=TIMEOUT)
    target = Target("shop", Policy(mixed_content_browser=True), host=HOST)
    with pytest.raises(ArtifactError, match="headless Chromium: Chromium is not installed"):
        gatherer.judged(target, site, "/clean.html", None)
    gatherer.close()


def test_a_browser_that_will_not_start_is_a_one_line_error(site, tmp_path, monkeypatch):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CERTGATE_CHROMIUM", str(fake))
    facts = browser.browse(site, f"https://{HOST}:{site.port}/clean.html", timeout=1.0)
    assert facts.error == "Chromium exited unexpectedly"


def test_the_policy_key_is_validated(tmp_path: Path):
    file = tmp_path / "targets.yaml"
    file.write_text("policy: {mixed_content_browser: yes please}\ntargets: [{name: a, host: b}]")
    with pytest.raises(InventoryError) as bad:
        load_inventory(file)
    assert bad.value.problems == (
        f"{file}: policy: key 'mixed_content_browser': expected true or false, got a string",
    )
    file.write_text("targets: [{name: a, host: a.lab, policy: {mixed_content_browser: true}}]")
    assert load_inventory(file).targets[0].policy.mixed_content_browser
    assert not Policy().mixed_content_browser
