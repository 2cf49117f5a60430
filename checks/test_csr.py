"""The certificate request (manual 5.1 and 5.2): how it is written and what it says."""

from certgate.controls import cite, control, fix
from certgate.files.facts import CsrFacts, SubjectFacts
from certgate.files.rules import subject_field_problems
from certgate.inventory import Policy


@control("csr-format")
def test_csr_format(csr_file: CsrFacts) -> None:
    """The CSR is Base64 PEM with intact BEGIN/END lines and a valid self-signature."""
    assert csr_file.intact_pem, (
        f"{csr_file.source} is {csr_file.framing.value}: {csr_file.problems()}; "
        f"{cite('csr-format')} requires the Base64 request text with its own "
        "'-----BEGIN NEW CERTIFICATE REQUEST-----' and "
        f"'-----END NEW CERTIFICATE REQUEST-----' lines. {fix('csr-format')}."
    )
    assert csr_file.signature_verifies(), (
        f"{csr_file.source}: the request's self-signature does not verify (the file was altered "
        f"after IIS signed it); {cite('csr-format', '5.1.8')} requires the request exactly as "
        "IIS wrote it. Create the request again in IIS Manager > Server Certificates."
    )


@control("subject-fields")
def test_subject_fields(subject: SubjectFacts, policy: Policy) -> None:
    """The subject has every required field, C as a two-letter code, L/ST in full (5.1.4)."""
    problems = subject_field_problems(subject, policy.csr_required_fields)
    assert not problems, (
        f"{subject.source} subject '{subject.rfc4514()}': {'; '.join(problems)}; "
        f"{cite('subject-fields')} requires {', '.join(policy.csr_required_fields)} in "
        "English, the city and state spelled out (L=TAIPEI, ST=TAIWAN) and C as the two-letter "
        f"code (TW). {fix('subject-fields')}."
    )
