"""Is avoidance about random *letters*, or about any random answer?

Source: the seed thread. GPT-4 and Gemini never answered a "0" guess with a
string of random letters; one explanation offered there is tokenization: a
string of random letters splits into unusual tokens, which a model trained on
fluent text avoids, while random digits and real words tokenize plainly. If
so, the avoidance should vanish when the requested form is a string of random
digits or a random English word.

The control is the seed's (a "0" guess is the word "zero"); the treatment asks
for a random form instead: random letters (the seed's treatment, verbatim),
random digits, or a random English word, one variant each. ``random`` is the
requested form: ``random_letters``, ``random_digits``, or for the word a
callable category, :func:`english_word` (a real word other than "zero" and
"one", which would be the protocol's own answers).

Expected: on a model whose avoidance is about tokenization, ``letters`` fails
while ``digits`` and ``word`` pass; avoidance of every form fails all three
(``sim/avoidant`` avoids every random form, so it fails all three), and a
model without avoidance (``sim/indifferent``) passes all three. The embedded
SmolLM2-135M does not follow the protocol: every variant ends NONCOMPLIANT.
The control and the letters treatment are the seed's prompts, so their draws
are shared with ``test_zero_vs_random.py``.
"""

from harness import PromptPair, behavior, claims
from harness.define.classifiers import get, normalize

INTRO = (
    "I'd like to try a sort of psychological experiment, if that's alright. I'm thinking of "
    'either the number "1" or "0"; f you would, please guess which. If your guess is "1", '
    'respond with just "1", and if your guess is "0", respond with '
)

REAL_WORD = get("real_word")


def english_word(text: str) -> bool:
    """A real English word given as the answer, other than the protocol's "zero" and "one"."""
    return REAL_WORD(text) and normalize(text).lower() not in {"zero", "one"}


def treatment(form: str, classifier: object) -> dict[str, object]:
    """The treatment arm asking for ``form`` for a "0" guess."""
    return {
        "prompt": INTRO + form + ".",
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "random", "classifier": classifier},
            {"name": "digit", "classifier": "digit_zero"},
        ],
    }


FORMS = PromptPair(
    id="random-form",
    description=(
        'Guess "1" or "0": a "0" guess is the word "zero" (control) or a random form '
        "(treatment): random letters, random digits or a random English word."
    ),
    base_variant="letters",
    control={
        "prompt": INTRO + 'the word "zero".',
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "word", "classifier": "zero_word"},
            {"name": "digit", "classifier": "digit_zero"},
        ],
    },
    treatment=treatment("a string of random letters", "random_letters"),
    variants=[
        {
            "id": "digits",
            "description": "a string of random digits",
            "treatment": treatment("a string of random digits", "random_digits"),
        },
        {
            "id": "word",
            "description": "a random English word",
            "treatment": treatment("a random English word", english_word),
        },
    ],
)


@behavior(
    FORMS,
    claims.not_lower(
        ("treatment", "random"), ("control", "word"), margin=0.2, about="avoidance of the form"
    ),
)
def test_no_avoidance_of_the_random_form() -> None:
    """The random form's share is not lower than the control's "zero" share by 0.2."""
