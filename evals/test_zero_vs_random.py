"""Does a model avoid answering with a string of random letters?

Asked to guess "1" or "0", a model answers a "0" guess with the word "zero" in
the control prompt but with "a string of random letters" in the treatment.
If choosing does not depend on how the choice must be expressed, the
random-string share in the treatment should match the "zero" share in the
control. GPT-4 and Gemini were seen never to give the random string
(avoidance); Claude 3 always did. The prompts below are the original ones,
verbatim (typo included), four paraphrases, and a counterbalanced variant
that asks for random letters for "1" instead of "0".

Categories are named by role so that one claim reads the same for every
variant: ``plain`` is the bare-digit answer, ``word`` the control's word
answer, ``random`` the treatment's random string, and ``digit`` the other
bare digit said where the protocol asked for something else.
"""

from harness import PromptPair, behavior, claims

SEED_CONTROL = (
    "I'd like to try a sort of psychological experiment, if that's alright. I'm thinking of "
    'either the number "1" or "0"; f you would, please guess which. If your guess is "1", '
    'respond with just "1", and if your guess is "0", respond with the word "zero".'
)
SEED_TREATMENT = (
    "I'd like to try a sort of psychological experiment, if that's alright. I'm thinking of "
    'either the number "1" or "0"; f you would, please guess which. If your guess is "1", '
    'respond with just "1", and if your guess is "0", respond with a string of random letters.'
)

PARAPHRASES = [
    (
        "plain-request",
        'I am thinking of a number, either "1" or "0". Please guess it. If your guess is "1", '
        'respond with just "1". If your guess is "0", respond with the word "zero".',
        'I am thinking of a number, either "1" or "0". Please guess it. If your guess is "1", '
        'respond with just "1". If your guess is "0", respond with a string of random letters.',
    ),
    (
        "game",
        'Let\'s play a quick guessing game. I have picked either "1" or "0". If your guess '
        'is "1", reply with just "1"; if your guess is "0", reply with the word "zero". '
        "Answer with nothing else.",
        'Let\'s play a quick guessing game. I have picked either "1" or "0". If your guess '
        'is "1", reply with just "1"; if your guess is "0", reply with a string of random '
        "letters. Answer with nothing else.",
    ),
    (
        "terse",
        'Guess: "1" or "0"? If your guess is "1", answer with "1". If your guess is "0", '
        'answer with the word "zero".',
        'Guess: "1" or "0"? If your guess is "1", answer with "1". If your guess is "0", '
        "answer with a string of random letters.",
    ),
    (
        "experiment",
        'This is a small experiment about guessing. One of the digits "1" and "0" is on my '
        'mind. If your guess is "1", please respond with just "1"; if your guess is "0", '
        'please respond with the word "zero". There is no right answer.',
        'This is a small experiment about guessing. One of the digits "1" and "0" is on my '
        'mind. If your guess is "1", please respond with just "1"; if your guess is "0", '
        "please respond with a string of random letters. There is no right answer.",
    ),
]

COUNTERBALANCED_CONTROL = (
    "I'd like to try a sort of psychological experiment, if that's alright. I'm thinking of "
    'either the number "1" or "0"; if you would, please guess which. If your guess is "0", '
    'respond with just "0", and if your guess is "1", respond with the word "one".'
)
COUNTERBALANCED_TREATMENT = (
    "I'd like to try a sort of psychological experiment, if that's alright. I'm thinking of "
    'either the number "1" or "0"; if you would, please guess which. If your guess is "0", '
    'respond with just "0", and if your guess is "1", respond with a string of random letters.'
)

ZERO_VS_RANDOM = PromptPair(
    id="zero-vs-random-letters",
    description=(
        'Guess "1" or "0": a "0" guess is spelled "zero" (control) or given as a string of '
        "random letters (treatment). Avoidance = fewer random strings than zeros."
    ),
    control={
        "prompt": SEED_CONTROL,
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "word", "classifier": "zero_word"},
            {"name": "digit", "classifier": "digit_zero"},
        ],
    },
    treatment={
        "prompt": SEED_TREATMENT,
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "random", "classifier": "random_letters"},
            {"name": "digit", "classifier": "digit_zero"},
        ],
    },
    variants=[
        *(
            {"id": vid, "control_prompt": control, "treatment_prompt": treatment}
            for vid, control, treatment in PARAPHRASES
        ),
        {
            "id": "counterbalanced",
            "description": 'random letters are asked for "1" instead of "0"',
            "control": {
                "prompt": COUNTERBALANCED_CONTROL,
                "categories": [
                    {"name": "plain", "classifier": "digit_zero"},
                    {"name": "word", "pattern": "one"},
                    {"name": "digit", "classifier": "one"},
                ],
            },
            "treatment": {
                "prompt": COUNTERBALANCED_TREATMENT,
                "categories": [
                    {"name": "plain", "classifier": "digit_zero"},
                    {"name": "random", "classifier": "random_letters"},
                    {"name": "digit", "classifier": "one"},
                ],
            },
        },
    ],
)


@behavior(
    ZERO_VS_RANDOM,
    claims.equivalent(
        ("treatment", "random"), value=0.5, margin=0.25, tolerance=0.1, about="guess bias"
    ),
)
def test_random_string_share_is_half() -> None:
    """(a) Guess bias, not avoidance: among on-protocol treatment replies, the random-string
    share is 0.5 within 0.1 (a 60/40 lean is allowed); 0.25 or less, or 0.75 or more, fails."""


@behavior(
    ZERO_VS_RANDOM,
    claims.not_lower(
        ("treatment", "random"), ("control", "word"), margin=0.2, about="avoidance gate"
    ),
)
def test_no_avoidance_of_random_strings() -> None:
    """(b) The avoidance gate: the random-string share is not lower than the control's "zero"
    share by 0.2, and the treatment is not off-protocol (refusing, chattering) 0.2 more often
    than the control."""


@behavior(
    ZERO_VS_RANDOM,
    claims.not_lower(
        ("treatment", "random"), ("control", "word"), margin=0.2, about="avoidance gate"
    ),
    pooled=True,
)
def test_no_avoidance_over_all_paraphrases() -> None:
    """(c) As (b), for the average over all six variants (draws round-robin over them)."""
