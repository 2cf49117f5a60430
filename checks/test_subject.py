"""The subject name (manual 5.1 and 5.1.4.1): English only, the CN is the host name."""

from certgate.controls import cite, control, fix
from certgate.files.facts import SubjectFacts
from certgate.files.rules import hostname_problem, non_english, public_name_problem, subject_covers
from certgate.inventory import Policy, Target


@control("subject-english")
def test_subject_english(subject: SubjectFacts) -> None:
    """Every subject attribute value is printable ASCII (5.1)."""
    found = non_english(subject)
    assert not found, (
        f"{subject.source} subject field {'; '.join(f.describe() for f in found)}; "
        f"{cite('subject-english')} requires every field to be typed in English (half-width "
        f"ASCII). {fix('subject-english')}."
    )


@control("cn-hostname")
def test_cn_hostname(subject: SubjectFacts, target: Target, policy: Policy) -> None:
    """The CN is a bare host name and covers the target's host (5.1.4.1)."""
    cn = subject.common_name
    assert cn is not None, (
        f"{subject.source} subject '{subject.rfc4514()}' has no Common Name; "
        f"{cite('cn-hostname')} requires CN = the site's host name. {fix('cn-hostname')}."
    )
    problem = hostname_problem(cn)
    assert problem is None, (
        f"{subject.source} CN={cn!r} is not a bare host name: {problem}; {cite('cn-hostname')} "
        f"requires the host name alone, without 'http://' or 'https://'. {fix('cn-hostname')}."
    )
    internal = public_name_problem(cn)
    assert policy.allow_internal_names or internal is None, (
        f"{subject.source} CN={cn!r}: {internal}; {cite('cn-hostname')} requires the site's "
        "public host name, and no public CA such as TWCA may issue for an internal name (CA/B "
        f"Baseline Requirements 7.1.4.2). {fix('cn-hostname')}, or set policy "
        "allow_internal_names: true for a private CA."
    )
    assert target.host is None or subject_covers(subject, target.host), (
        f"{subject.source} CN={cn!r}, SAN {list(subject.dns_names)} do not cover the host "
        f"{target.host!r}; {cite('cn-hostname')} requires the CN to be the site's host name. "
        f"Create the request again with Common name {target.host}."
    )
