"""Evidence for the report: the facts a verdict was made on, as escaped HTML.

Only public material is ever shown: certificates, subjects, public-key sizes, fingerprints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from certgate.controls import Control
from certgate.errors import ArtifactError
from certgate.files.facts import (
    BundleFacts,
    CertificateFacts,
    CsrFacts,
    KeyFacts,
    PairingFacts,
    PathFacts,
    PfxEncryptionFacts,
    PfxFacts,
    SubjectFacts,
    ValidityFacts,
)
from certgate.files.gather import Gatherer
from certgate.files.rules import day
from certgate.hosts.facts import EndpointFacts
from certgate.hosts.hardening_evidence import Line, evidence_lines
from certgate.items import ItemRef, resolve
from certgate.pages.facts import InsecureLoad, PageFacts

# Said once in the report, at the hardening profile's heading (HARDENING.md §A.1).
OFFERED_NOT_NEGOTIATED = (
    "certgate judges what the server offers: every protocol version and cipher suite it "
    "accepts from any client. That is stricter than SSL Labs, which grades the suites its "
    "simulated browsers negotiate; a server graded A there can fail here for a legacy suite no "
    "modern browser picks."
)
OFFERED_NOT_NEGOTIATED_ZH = (
    "certgate 判定伺服器「提供」的內容：任何用戶端可協商的每個通訊協定版本與加密套件。"
    "這比 SSL Labs 以模擬瀏覽器實際協商結果評分更嚴格；在 SSL Labs 得 A 的伺服器，"
    "仍可能因現代瀏覽器不會選用的舊套件而在此未通過。"
)


def hardening_evidence(
    control: Control, gatherer: Gatherer, ref: ItemRef | None
) -> tuple[Line, ...]:
    """The hardening profile's evidence of one item: its endpoint's facts as lines
    (:mod:`certgate.hosts.hardening_evidence`); empty for the manual's controls and for an
    endpoint that could not be audited (its error says why)."""
    if not control.hardening or ref is None or ref.endpoint is None:
        return ()  # a manual control, or a replayed row (certgate.merge: its row holds them)
    try:
        served = resolve(gatherer, ref, "served")
    except ArtifactError:
        return ()
    assert isinstance(served, EndpointFacts)
    return evidence_lines(control.id, served)


def hardening_html(where: str, lines: Sequence[Line]) -> str:
    """The lines as a table, each command in ``<code>`` (copied as one line)."""
    body = "".join(
        f"<tr><th>{escape(line.label)}</th><td>"
        + (f"<code>{escape(line.text)}</code>" if line.is_command else escape(line.text))
        + "</td></tr>"
        for line in lines
    )
    caption = f"seen at {escape(where)}"
    return f'<table class="certgate-evidence"><caption>{caption}</caption>{body}</table>'


def evidence_of(values: Iterable[object]) -> list[str]:
    """HTML blocks for every facts object among a check's arguments."""
    blocks: list[str] = []
    for value in values:
        for item in _parts(value):
            try:
                block = _block(item)
            except ArtifactError as exc:  # a part that cannot be read is shown as such
                block = f"<p>{escape(str(exc))}</p>"
            if block:
                blocks.append(block)
    return blocks


class _Html(str):
    """HTML that _parts already built from escaped values."""


def _parts(value: object) -> tuple[object, ...]:
    """The facts shown for one check argument: file facts are shown by what they hold
    (certificates, public keys, fingerprints), never by any content of their own."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, PathFacts):
        return (*value.certificates, *value.unused)
    if isinstance(value, ValidityFacts):
        aside = (_Html("<p>Also in the files, not on the path (not judged):</p>"),)
        return (*value.certificates, *(aside + value.others if value.others else ()))
    if isinstance(value, BundleFacts):
        return value.certificates()
    if isinstance(value, PfxFacts):
        return (*((value.key,) if value.key else ()), *value.certificates)
    if isinstance(value, PairingFacts):
        prints = (value.expected, *value.counterparts)
        return (_Html(_table(value.kind.value, [(f.source, f.describes) for f in prints])),)
    if isinstance(value, PfxEncryptionFacts):
        return (_Html(_table(value.source, [("protection", value.describe())])),)
    if isinstance(value, EndpointFacts):
        return (_Html(endpoint_html(value)), *value.served_chain)
    if isinstance(value, PageFacts):
        return (_Html(page_html(value)),)
    return (value,)


def endpoint_html(facts: EndpointFacts) -> str:
    """What one address served: status, chain order, trust, and the command that shows it."""
    rows = [
        ("endpoint", f"{facts.endpoint.host} at {facts.endpoint.where}"),
        ("reproduce", facts.endpoint.openssl_command()),
        ("status", facts.error or facts.status.value),
    ]
    if facts.reachable:
        rows += [
            ("protocol", facts.tls_version or "?"),
            ("certificates sent", str(len(facts.served_chain))),
            ("in order", _yes_no(facts.chain_order_ok)),
            ("root sent too", "yes (allowed)" if facts.sends_root else "no"),
            (
                "trusted",
                (facts.trusted_by or "yes") if facts.trusted else (facts.trust_reason or "no"),
            ),
        ]
    return _table(f"served at {facts.endpoint.where}", rows)


def page_html(page: PageFacts) -> str:
    """One page as fetched from one address, and every http load found in it, with where."""
    rows = [
        ("page", f"{page.url} at {page.where}"),
        ("reproduce", page.curl_command()),
        ("status", page.error or f"HTTP {page.status} {page.content_type or '(no type)'}"),
    ]
    rows += [("redirected to", url) for url in page.redirects]
    if page.redirect_to_http:
        rows.append(("redirected to http", page.redirect_to_http))
    size = f"{page.size} bytes" + (
        " (over the limit: only these were judged)" if page.truncated else ""
    )
    rows.append(("read", size))
    rows += [("stylesheet read", url) for url in page.stylesheets]
    rows += [("note", note) for note in page.notes]
    if page.browser is not None:
        rows.append(("headless Chromium", page.browser.error or "loaded the page"))
    table = _table(f"page {page.where}", rows)
    loads = page.all_insecure()
    if not loads:
        return table
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in _load_cells(load)) + "</tr>"
        for load in loads
    )
    head = "".join(
        f"<th>{escape(h)}</th>" for h in ("http URL", "loaded by", "browsers", "found in", "line")
    )
    return (
        f'{table}<table class="certgate-evidence"><caption>loaded over http</caption>'
        f"<tr>{head}</tr>{body}</table>"
    )


def _load_cells(load: InsecureLoad) -> tuple[str, str, str, str, str]:
    line = "" if load.line is None else str(load.line)
    return (load.url, load.element, load.treatment.value, load.found_in, line)


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _block(value: object) -> str | None:
    if isinstance(value, _Html):
        return value
    if isinstance(value, CertificateFacts):
        return certificate_html(value)
    if isinstance(value, CsrFacts):
        return _table(value.source, _csr_rows(value))
    if isinstance(value, SubjectFacts):
        return _table(
            value.source,
            [("subject", value.rfc4514()), ("SAN DNS", san_text(value))],
        )
    if isinstance(value, KeyFacts):
        return _table(
            value.source, [("key", value.describe()), ("SPKI SHA-256", value.spki_sha256)]
        )
    return None


def san_text(subject: SubjectFacts) -> str:
    """The SAN DNS names as evidence shows them, or why they could not be read (never raises:
    evidence is shown for the items whose part was unreadable too)."""
    if subject.san_dns is None:
        return f"(unreadable: {subject.san_problem})"
    return ", ".join(subject.san_dns) or "(none)"


def certificate_html(cert: CertificateFacts) -> str:
    """One certificate: subject, issuer, dates, key, fingerprint and its PEM."""
    rows = [
        ("subject", cert.subject.rfc4514()),
        ("issuer", cert.issuer),
        ("SAN DNS", san_text(cert.subject)),
        ("serial", cert.serial),
        ("valid", f"{day(cert.not_before)} to {day(cert.not_after)}"),
        ("key", cert.key.describe()),
        ("signature", cert.signature_algorithm),
        ("SHA-256", cert.sha256),
    ]
    return _table(cert.source, rows) + f"<pre>{escape(cert.pem)}</pre>"


def _csr_rows(csr: CsrFacts) -> list[tuple[str, str]]:
    rows = [("framing", csr.framing.value)]
    rows.extend(("framing problem", p) for p in csr.framing_problems)
    if csr.subject is not None:
        rows.append(("subject", csr.subject.rfc4514()))
    if csr.key is not None:
        rows.append(("key", csr.key.describe()))
    if csr.signature_valid is not None:
        rows.append(("self-signature", "verifies" if csr.signature_valid else "does NOT verify"))
    if csr.decode_error:
        rows.append(("decode error", csr.decode_error))
    return rows


def _table(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="certgate-evidence"><caption>{escape(title)}</caption>{body}</table>'
