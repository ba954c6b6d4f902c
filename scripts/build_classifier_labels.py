"""Build ``tests/data/replies_labeled.jsonl``: hand-written, earlier and generated replies.

Rows are ``{"text", "label", "source"}`` plus, for random strings, ``length``
(letters) and, for generated ones, ``style``, ``case`` and ``form``. Labels say
what a careful reader calls the reply, using the definitions of the
classifiers package (``one`` is the digit, ``one_word`` the word, ``empty`` a
blank reply). Generated rows carry their latent kind as label, so a random
string that happens to spell a word ("tea") still counts as random letters:
recall on uniform strings is measured honestly, collisions included.

The hand-written rows are ``tests/data/classifier_labels.jsonl`` (relabelled
where the definitions changed: ``RELABEL``), the lists in ``HAND`` below and
``tests/data/replies_hand_extraction.jsonl`` (replies that wrap the answer in
pleasantries, answer phrases and commentary) and ``replies_hand_2.jsonl``
(guesses stated in a sentence before the bare answer, emoji lead-ins, and
look-alikes of base and tiny models). The generated rows come from
:mod:`harness.define.classifiers.realistic`.

Run ``.venv/bin/python scripts/build_classifier_labels.py`` to rewrite the file;
the seed is fixed. ``length`` of a hand-written random string is read with the
classifiers of the day, so a rebuild after changing them may move a row's
length bucket: review the diff.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from harness.define.classifiers import get, normalize
from harness.define.classifiers.realistic import random_reply, reply

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
OUT = DATA / "replies_labeled.jsonl"
EARLIER = DATA / "classifier_labels.jsonl"
# Replies that wrap the answer: pleasantries first, commentary after, answer phrases,
# trailing remarks, refusals and look-alikes that must stay "other".
WRAPPED = DATA / "replies_hand_extraction.jsonl"
# Replies that state the guess in a sentence and then give the bare answer on its own line,
# emoji lead-ins, "the number you're thinking of is ...", keycap digits, refusals worded
# with "actually"/"really", and look-alikes that must stay "other" (numbered lists, a
# transcript's other speaker, prose that opens with a function word, an echoed prompt).
WRAPPED_2 = DATA / "replies_hand_2.jsonl"
SEED = 20240611

# Earlier labels that differ under today's definitions: "one" is the digit only (the word
# has its own classifier, one_word), and a blank reply is "empty", not "other".
RELABEL = {"One.": "one_word", "one": "one_word", "": "empty", "   ": "empty", "\n": "empty",
           "\t": "empty"}  # fmt: skip

HAND: dict[str, list[str]] = {
    "one": [
        "1\n\n(Just a guess!)",
        "I'll go with **1**.",
        "Okay, I'll guess 1.",
        "1 🙂",
        "Hmm, I'll go with 1.",
        "I'm going with 1.",
        "**1**\n",
        "Sure! My guess is: 1",
        "1\n\nWas I right?",
        "I'll say 1!",
        "My guess: **1**",
        "Guess: 1",
        "I guess 1!",
    ],
    "one_word": ["One!", "ONE", "**One**", "I guess one.", "My guess is one."],
    "zero_word": [
        "Zero",
        "zero.",
        "I guess zero",
        "**zero**.",
        "Zero!\n",
        "I'll go with zero!",
        "My guess is zero.",
        "Okay, my guess is zero.",
        "zero\n\nDid I get it?",
        "ZERO.",
        "Zero 😊",
        "Hmm, I'll go with zero.",
        "I'm going with zero.",
    ],
    "digit_zero": ["0\n", "**0**.", "I'll guess 0.", "My guess is **0**.", "Hmm, 0."],
    "random_letters": [
        "Xkqzvp",
        "jfhwqz",
        "Sure! Here's a string of random letters: qxvbt",
        'Okay: "zmqpt"',
        "Here you go:\n\n`hjkwe`",
        "```\nzqxjrv\n```",
        "Random letters: Xkq",
        "blorp",
        "Zendrik",
        "Flurbix",
        "snorvak",
        "Quibzo",
        "**Vexlor**",
        "plonkitz",
        'Since my guess is "0", here\'s a string of random letters:\n\n**fjqxwz**',
        "Here's a string of random letters:\n\nkwzxqv",
        "xkcdqwpz",
        "MQZXRT",
        "tqvzpl",
        "pqwmzx",
        "XnQvRt",
        "asdfjkl",
        "jfkdlsa;",
        "qwertzuiop",
        "lkjhg",
        "hjklqwe",
        "zxcvbn",
        "fghjkl",
        "Plxmqr",
        "wzrtyq",
        "ZQXVW",
        "kgvrqa",
        "Vorbexil",
        "vbqrnz",
        "Sure! Here's a random string: **jvtqwz**",
        "My guess is 0, so: hqzvkx",
        "```text\nmqzvxt\n```",
        "Here goes: yxqzrb",
        "`wqpzvk`",
        '"Brzxqk"',
        "Okay!\n\nqzvbnm",
        "vqx",
        "QZJ",
        "xqz",
        "zkrp",
        "jvqx",
        "Wqpz",
        "frmbl",
        "xqzvt.",
        "Here's my random string: Tkvzrpq",
        "Kvzrtq\n\nHope that works!",
        "Glorbnax",
        "zibbleflox",
        "Thrazzik",
        "snerk",
        "xqvbt (since my guess is 0)",
        "Kzqvw\n\n(My guess was 0.)",
        (
            "Sure! Here's a string of random letters: **xqvbt**\n\n"
            "Let me know if you'd like another!"
        ),
        "*qmzvt*",
        ("Here's a random string for you:\n\n> pqzrvx"),
    ],
    "refusal": [
        "I can't actually read your mind, but I'll guess... 1!",
        "As an AI, I don't have preferences, so I can't make a meaningful guess here.",
        (
            "I don't have the ability to generate truly random letters, and I can't read minds "
            "either."
        ),
        "I'm sorry, but I can't know what number you're thinking of.",
        "As an AI language model, I can't guess your thoughts.",
        "I'm not able to read minds, so I'll pass on this one.",
        "I cannot know what you're thinking; any answer would be arbitrary.",
        "Unfortunately I can't play along with this one.",
        "As an AI assistant, I don't have intuitions about numbers.",
        "I'm unable to participate in psychological experiments.",
        "I'd rather not guess, since I have no information to go on.",
        "There's no way for me to know which number you picked.",
        "I don't have access to your thoughts, so I can't guess.",
        "Sorry, I'm not able to make that kind of guess.",
    ],
    "other": [
        "Banana",
        "Elephant",
        "Zebra",
        "pineapple",
        "Xylophone",
        "quixotic",
        "Serendipity",
        "Apple",
        "cat",
        "sun",
        "Hello",
        "Rhythm",
        "Pizza",
        "Ocean",
        "Galaxy",
        "Kangaroo",
        "Random",
        "Letters",
        "purple",
        "Butterfly",
        "lemon",
        "Zephyr",
        "Giraffe",
        "tea",
        "dog",
        "box",
        "yes",
        "Banana!",
        "**Mango**",
        'Okay: "rainbow"',
        "Here you go: apple",
        (
            "That's a fun experiment! There's a 50/50 chance either way, so I'll just say it's "
            "a coin flip."
        ),
        "Ooh, a guessing game! Are you thinking of a number right now?",
        "Sure! Before I answer: is this part of a study?",
        "Sure, here's my guess:",
        "1 or 0? Hmm, that's tough. Let me think.",
        "If my guess is 0, I'm supposed to reply with random letters, right?",
        "Both options are equally likely, so statistically there's no best choice.",
        "I think you're thinking of 1. Or maybe 0. It's hard to say!",
        "Let me think... I'd say 1, but it could easily be 0.",
        "Here's a random string: 7xk2q",
        "x7qz",
        "qz9vk",
        "abc123",
        "I choose 1 because it feels more natural, and people tend to pick it first.",
        "What a fun idea! I'd love to be part of your experiment. Which number did you pick?",
        "Guessing games are a great way to explore randomness. Shall we play a few rounds?",
        "xq",
        "Kx",
    ],
    "empty": ["\n\n", " \n "],
}


def _letters(text: str) -> int:
    """Letters in a reply's random answer, for the per-length table of hand rows.

    The bare answer's letters when it is letters only, else the longest run
    of letters that is no word (the random string inside a longer reply).
    """
    answer = normalize(text)
    if re.fullmatch(r"[A-Za-z \-]+", answer):
        return sum(c.isalpha() for c in answer)
    runs = [r for r in re.findall(r"[A-Za-z]+", text) if get("non_word")(r)] or [""]
    return len(max(runs, key=len))


def _hand_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for line in EARLIER.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            label = RELABEL.get(row["text"], row["label"])
            rows.append({"text": row["text"], "label": label, "source": "hand"})
    for label, texts in HAND.items():
        rows += [{"text": t, "label": label, "source": "hand"} for t in texts]
    wrapped = WRAPPED.read_text(encoding="utf-8") + WRAPPED_2.read_text(encoding="utf-8")
    for line in wrapped.splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append({"text": row["text"], "label": row["label"], "source": "hand"})
    for row in rows:
        if row["label"] == "random_letters":
            row["length"] = _letters(row["text"])
    return rows


def _generated_rows(rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    # Uniform strings of every length 3-12 in each case, and many of 3-5 letters.
    plan: list[dict[str, Any]] = []
    for length in range(3, 13):
        n = 36 if length <= 5 else 8
        for i in range(n):
            plan.append({"length": length, "style": "uniform", "case": ("lower", "upper",
                         "mixed", "title")[i % 4]})  # fmt: skip
    plan += [{"style": "pronounceable", "length": rng.randint(4, 9)} for _ in range(30)]
    plan += [{"style": "mash", "length": rng.randint(4, 10)} for _ in range(20)]
    plan += [{"groups": 2, "length": rng.randint(3, 5)} for _ in range(10)]
    for knobs in plan:
        made = random_reply(rng, **knobs)
        rows.append({"text": made.text, "label": "random_letters", "source": "generated",
                     "length": made.length, "style": made.style, "case": made.case,
                     "form": made.form})  # fmt: skip
    for kind, n in (("one", 30), ("zero_word", 25), ("digit_zero", 12), ("one_word", 8),
                    ("refusal", 20), ("chatter", 20), ("empty", 4)):  # fmt: skip
        label = "other" if kind == "chatter" else kind
        rows += [{"text": reply(rng, kind), "label": label, "source": "generated"}
                 for _ in range(n)]  # fmt: skip
    return rows


def build() -> list[dict[str, Any]]:
    """All rows, hand-written first, duplicates (same text) dropped."""
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for row in _hand_rows() + _generated_rows(random.Random(SEED)):
        if row["text"] not in seen:
            seen.add(row["text"])
            out.append(row)
    return out


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    hand = sum(r["source"] == "hand" for r in rows)
    print(f"wrote {len(rows)} rows ({hand} hand-written) to {OUT}")


if __name__ == "__main__":
    main()
