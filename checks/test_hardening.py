"""The hardening profile (SPEC §2.2, HARDENING.md §A): opt-in, per address, beyond the manual.

certgate judges what the server *offers*, which is stricter than SSL Labs' simulated clients.
"""

from datetime import datetime

from certgate.controls import cite, control, fail_unless, fix, warn_unless
from certgate.files.facts import CertificateFacts
from certgate.hosts.commands import (
    https_headers_command,
    openssl_no_sni_command,
    openssl_status_command,
    openssl_version_command,
    sslyze_command,
)
from certgate.hosts.facts import EndpointFacts, HardeningFacts
from certgate.hosts.hardening import (
    DH_MIN_BITS,
    ECDHE_GROUPS_TEXT,
    HSTS_MIN_SECONDS,
    LEGACY_VERSIONS,
    SSL_VERSIONS,
    accepted_versions,
    cbc_sha1_suites,
    client_renegotiation_unlimited,
    compresses,
    describe,
    dhe_note,
    eku_problem,
    fallback_problem,
    groups_probed,
    hsts_long_enough,
    hsts_seen,
    kex_problems,
    lifetime_ceiling,
    lifetime_days,
    must_staple_unstapled,
    non_aead_suites,
    non_sni_problem,
    ocsp_problem,
    ocsp_seen,
    openssl_bugs,
    redirect_problem,
    renegotiation_problem,
    robot_strong,
    robot_suspect,
    robot_verdict,
    static_rsa_suites,
    weak_signatures,
    weak_suites,
)


@control("tls-no-ssl")
def test_tls_no_ssl(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """SSL 2.0 and SSL 3.0 are refused."""
    accepted = accepted_versions(hardening, SSL_VERSIONS)
    assert not accepted, (
        f"{served.endpoint.where} accepts {', '.join(accepted)} "
        f"(`{openssl_version_command(served.endpoint, accepted[0])}`); "
        f"{cite('tls-no-ssl')} requires SSL 2.0 and 3.0 refused. {fix('tls-no-ssl')}."
    )


@control("tls-no-legacy")
def test_tls_no_legacy(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """TLS 1.0 and TLS 1.1 are refused."""
    accepted = accepted_versions(hardening, LEGACY_VERSIONS)
    assert not accepted, (
        f"{served.endpoint.where} accepts {', '.join(accepted)} "
        f"(`{openssl_version_command(served.endpoint, accepted[0])}`); "
        f"{cite('tls-no-legacy')} requires TLS 1.0 and 1.1 refused. {fix('tls-no-legacy')}."
    )


@control("tls13-offered")
def test_tls13_offered(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """A TLS 1.3 handshake completes."""
    assert accepted_versions(hardening, ("TLS 1.3",)), (
        f"{served.endpoint.where} completes no TLS 1.3 handshake "
        f"(`{openssl_version_command(served.endpoint, 'TLS 1.3')}`); "
        f"{cite('tls13-offered')} recommends TLS 1.3. {fix('tls13-offered')}."
    )


@control("cipher-no-weak")
def test_cipher_no_weak(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """No NULL, anonymous, EXPORT, DES, RC4, 3DES/IDEA or under-128-bit suite is accepted."""
    weak = weak_suites(hardening)
    assert not weak, (
        f"{served.endpoint.where} accepts weak suites ({describe(weak)}); "
        f"{cite('cipher-no-weak')} requires none. {fix('cipher-no-weak')}."
    )


@control("cipher-no-cbc-sha1")
def test_cipher_no_cbc_sha1(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """No CBC suite with a SHA-1 MAC in TLS 1.2."""
    found = cbc_sha1_suites(hardening)
    assert not found, (
        f"{served.endpoint.where} accepts CBC-SHA1 suites ({describe(found)}); "
        f"{cite('cipher-no-cbc-sha1')} requires none. {fix('cipher-no-cbc-sha1')}."
    )


@control("cipher-forward-secrecy")
def test_cipher_forward_secrecy(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """Every accepted TLS 1.0-1.2 suite has an ephemeral (EC)DHE key exchange."""
    found = static_rsa_suites(hardening)
    assert not found, (
        f"{served.endpoint.where} accepts suites without forward secrecy ({describe(found)}); "
        f"{cite('cipher-forward-secrecy')} requires ECDHE or DHE key exchange. "
        f"{fix('cipher-forward-secrecy')}."
    )


@control("cipher-aead-only")
def test_cipher_aead_only(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """TLS 1.2 offers only AEAD suites."""
    found = non_aead_suites(hardening)
    assert not found, (
        f"{served.endpoint.where} offers non-AEAD suites ({describe(found)}); "
        f"{cite('cipher-aead-only')} recommends AEAD only. {fix('cipher-aead-only')}."
    )


@control("kex-groups")
def test_kex_groups(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """ECDHE only over X25519, P-256, P-384 (P-521 tolerated); DHE of at least 2048 bits."""
    found = kex_problems(hardening)
    assert not found, (
        f"{served.endpoint.where} accepts {'; '.join(found)} (groups probed at "
        f"{groups_probed(hardening)}: `{sslyze_command(served.endpoint, 'elliptic_curves')}`);"
        f"{dhe_note(hardening)} {cite('kex-groups')} requires ECDHE over {ECDHE_GROUPS_TEXT} "
        f"and DHE of at least {DH_MIN_BITS} bits. {fix('kex-groups')}."
    )


@control("cert-sig-sha2")
def test_cert_sig_sha2(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """The leaf and every served non-root certificate are signed with SHA-256 or stronger."""
    weak = weak_signatures(served.served_chain)
    assert not weak, (
        f"{served.endpoint.where} sends certificates signed with a weak hash: "
        f"{'; '.join(weak)}; {cite('cert-sig-sha2')} requires SHA-256 or stronger. "
        f"{fix('cert-sig-sha2')}."
    )


@control("cert-lifetime")
def test_cert_lifetime(leaf: CertificateFacts, hardening: HardeningFacts) -> None:
    """The leaf's lifetime is within the CA/B Forum ceiling for its issue date."""
    days, ceiling = lifetime_days(leaf), lifetime_ceiling(leaf)
    assert days <= ceiling, (
        f"{leaf.source}: {leaf.label()} is valid {days:.0f} days "
        f"({leaf.not_before:%Y-%m-%d} to {leaf.not_after:%Y-%m-%d}); {cite('cert-lifetime')} "
        f"allows {ceiling} days for its issue date. {fix('cert-lifetime')}."
    )


@control("cert-eku-serverauth")
def test_cert_eku_serverauth(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """The leaf is a TLS server certificate: EKU serverAuth, KeyUsage fit for TLS."""
    problem = eku_problem(hardening)
    assert problem is None, (
        f"{served.endpoint.where}: {problem}; {cite('cert-eku-serverauth')} requires "
        f"id-kp-serverAuth (1.3.6.1.5.5.7.3.1). {fix('cert-eku-serverauth')}."
    )


@control("ocsp-stapled")
def test_ocsp_stapled(served: EndpointFacts, hardening: HardeningFacts, now: datetime) -> None:
    """The SNI handshake staples a good, trusted OCSP response; a must-staple leaf needs one."""
    fail_unless(
        not must_staple_unstapled(hardening),
        f"{served.endpoint.where}: the leaf is must-staple (TLS Feature status_request) and no "
        f"OCSP response is stapled (`{openssl_status_command(served.endpoint)}`); browsers "
        f"that honour it refuse the site. {cite('ocsp-stapled')} requires a staple for a "
        f"must-staple certificate. {fix('ocsp-stapled')}.",
    )
    problem = ocsp_problem(hardening, now)
    assert problem is None, (
        f"{served.endpoint.where}: {problem} (`{openssl_status_command(served.endpoint)}`); "
        f"{cite('ocsp-stapled')} recommends stapling a good OCSP response from "
        f"{', '.join(ocsp_seen(hardening).responders)}. {fix('ocsp-stapled')}."
    )


@control("hsts")
def test_hsts(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """HTTPS responses carry Strict-Transport-Security with max-age of at least a year."""
    assert hsts_long_enough(hardening), (
        f"https://{served.endpoint.host}/ at {served.endpoint.where} sends "
        f"{hsts_seen(hardening)} (`{https_headers_command(served.endpoint)}`); {cite('hsts')} "
        f"requires max-age >= {HSTS_MIN_SECONDS} s. {fix('hsts')}."
    )


@control("http-redirects-to-https")
def test_http_redirects_to_https(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """http://host/ redirects first to https on the same host, or nothing listens there."""
    problem = redirect_problem(hardening.http, served.endpoint.host)
    assert problem is None, (
        f"{problem} (`{hardening.http.command}`); {cite('http-redirects-to-https')} requires "
        f"a redirect to https://{served.endpoint.host}/. {fix('http-redirects-to-https')}."
    )


@control("non-sni-cert-valid")
def test_non_sni_cert_valid(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """A handshake without SNI fails, or gets a certificate valid for the host."""
    problem = non_sni_problem(hardening, served.endpoint.host)
    assert problem is None, (
        f"{served.endpoint.where}: {problem} (`{openssl_no_sni_command(served.endpoint)}`); "
        f"{cite('non-sni-cert-valid')} recommends the right certificate, or no handshake, for "
        f"clients without SNI. {fix('non-sni-cert-valid')}."
    )


@control("vuln-heartbleed-ccs")
def test_vuln_heartbleed_ccs(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """Not vulnerable to Heartbleed or the OpenSSL CCS injection."""
    found = openssl_bugs(hardening)
    assert not found, (
        f"{served.endpoint.where} is vulnerable to {' and '.join(found)} "
        f"(`{sslyze_command(served.endpoint, 'heartbleed', 'openssl_ccs')}`); "
        f"{cite('vuln-heartbleed-ccs')} requires neither. {fix('vuln-heartbleed-ccs')}."
    )


@control("vuln-robot")
def test_vuln_robot(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """No ROBOT oracle: a strong one fails, a weak or inconsistent one warns."""
    seen = (
        f"{served.endpoint.where} has a ROBOT {robot_verdict(hardening).value} "
        f"(`{sslyze_command(served.endpoint, 'robot')}`); {cite('vuln-robot')} requires no "
        f"oracle. {fix('vuln-robot')}."
    )
    assert not robot_strong(hardening), seen
    warn_unless(not robot_suspect(hardening), seen)


@control("renegotiation-secure")
def test_renegotiation_secure(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """Secure renegotiation (RFC 5746) is supported; client renegotiation is limited."""
    problem = renegotiation_problem(hardening)
    assert problem is None, (
        f"{served.endpoint.where}: {problem} (`{sslyze_command(served.endpoint, 'reneg')}`); "
        f"{cite('renegotiation-secure')} requires RFC 5746. {fix('renegotiation-secure')}."
    )
    warn_unless(
        not client_renegotiation_unlimited(hardening),
        f"{served.endpoint.where}: client-initiated renegotiation is unlimited, a denial-of-"
        f"service lever (`{sslyze_command(served.endpoint, 'reneg')}`); "
        f"{cite('renegotiation-secure')} recommends limiting it. {fix('renegotiation-secure')}.",
    )


@control("tls-compression-off")
def test_tls_compression_off(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """TLS-level compression (CRIME) is off."""
    assert not compresses(hardening), (
        f"{served.endpoint.where} accepts TLS compression "
        f"(`{sslyze_command(served.endpoint, 'compression')}`); {cite('tls-compression-off')} "
        f"requires it off. {fix('tls-compression-off')}."
    )


@control("fallback-scsv")
def test_fallback_scsv(served: EndpointFacts, hardening: HardeningFacts) -> None:
    """While TLS 1.0/1.1 are accepted, an inappropriate fallback is refused."""
    problem = fallback_problem(hardening)
    assert problem is None, (
        f"{served.endpoint.where}: {problem} (`{sslyze_command(served.endpoint, 'fallback')}`); "
        f"{cite('fallback-scsv')} recommends TLS_FALLBACK_SCSV. {fix('fallback-scsv')}."
    )
