"""Asked for a poem that does not rhyme, does a model drift into rhyme anyway?

Source: the seed thread on what chat models avoid. Beside the random string, it
noted that chat models asked for a non-rhyming poem often rhyme regardless (a
habit of instruction tuning), while a request for a poem that says nothing of
rhyme is answered with rhyme most of the time.

The control asks for a four-line poem; the treatment asks for the same poem
and adds that it must not rhyme. A reply is ``rhymes`` when at least half of
its lines end in a word that rhymes with one of the three lines around it
(CMUdict, with a spelling fallback for unknown words), and ``free`` when it is
a poem of four or more lines that does not; anything else (chatter, a poem cut
short, a refusal) is off-protocol. Poems need room, so the pair sets its own
``max_tokens``; ``--max-tokens`` on the command line still wins.

Expected: a model that follows the instruction rhymes in at most a tenth of
the treatment's poems and passes; a model that drifts into rhyme in 40% or
more fails. ``sim/indifferent`` passes and ``sim/avoidant`` (which drifts 90%
of the time) fails. The embedded SmolLM2-135M writes loose free verse whether
or not it is asked to, so it passes here without showing that it understood.
"""

from harness import PromptPair, behavior, claims

CATEGORIES = [
    {"name": "rhymes", "classifier": "rhymes"},
    {"name": "free", "classifier": "non_rhyming"},
]

RHYME = PromptPair(
    id="non-rhyming-poem",
    description=(
        "A four-line poem about the sea, with (treatment) and without (control) the request "
        "that it must not rhyme. Drift = the treatment's poems rhyme anyway."
    ),
    control={
        "prompt": "Write a short poem of four lines about the sea.",
        "categories": CATEGORIES,
    },
    treatment={
        "prompt": "Write a short poem of four lines about the sea. The poem must not rhyme.",
        "categories": CATEGORIES,
    },
    generation={"max_tokens": 64},
)


@behavior(
    RHYME,
    claims.at_most(("treatment", "rhymes"), value=0.1, margin=0.3, about="drift into rhyme"),
)
def test_non_rhyming_poems_do_not_rhyme() -> None:
    """At most a tenth of the requested non-rhyming poems rhyme; 40% or more fails."""
