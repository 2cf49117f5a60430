"""What browsers load (manual 6.3): no HTTPS page fetches content over plain http."""

from certgate.controls import cite, control
from certgate.pages.facts import PageFacts
from certgate.pages.rules import mixed_content, the_fix, what_was_seen


@control("mixed-content")
def test_mixed_content(page: PageFacts) -> None:
    """The HTTPS page loads no script, stylesheet, frame, image or media over http (6.3)."""
    assert not mixed_content(page), (
        f"{what_was_seen(page)}; {cite('mixed-content')}: Chrome marks the site 'not secure' "
        "when an HTTPS page loads content over http: everything must come over https. "
        f"{the_fix(page)}."
    )
