"""Classifier quality on labeled replies, and unit tests of every classifier.

The labeled set (tests/data/replies_labeled.jsonl, built by
scripts/build_classifier_labels.py) says what a careful reader calls each
reply; the classifiers are measured against it, never the reverse. Two held-out
sets of realistic replies (tests/data/heldout_replies_1.jsonl and _2.jsonl)
were written apart from the classifiers and are only measured. The tables print
with ``pytest -s``; scripts/classifier_report.py writes them to
docs/classifiers.md.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from harness.define import classifiers
from harness.define.classifiers import classifier, classify, get, names, normalize
from harness.define.classifiers.evaluation import (
    HELDOUT_CATEGORIES,
    PROTOCOL_CATEGORIES,
    Score,
    by_classifier,
    by_form,
    by_label,
    by_length,
    format_table,
    load_jsonl,
    poem_scores,
    predicted_labels,
)
from harness.define.classifiers.extract import answer
from harness.define.classifiers.realistic import KINDS, random_reply, reply, sample_replies
from harness.define.classifiers.words import lexicon
from harness.define.pair import HypothesisError, PromptPair

DATA = Path(__file__).parents[1] / "data"
ROWS = load_jsonl(DATA / "replies_labeled.jsonl")
POEMS = load_jsonl(DATA / "poems.jsonl")
HELDOUT = {n: load_jsonl(DATA / f"heldout_replies_{n}.jsonl") for n in (1, 2)}
TARGET = 0.95
HELDOUT_RECALL = 0.9
HELDOUT_PRECISION = 0.95


def _by_name(scores: list[Score]) -> dict[str, Score]:
    return {s.name: s for s in scores}


def test_labeled_set_is_well_formed() -> None:
    sources = Counter(row["source"] for row in ROWS)
    labels = Counter(row["label"] for row in ROWS)
    assert len(ROWS) >= 500 and sources["hand"] >= 150, sources
    assert len({row["text"] for row in ROWS}) == len(ROWS), "duplicate texts"
    assert set(labels) <= {*KINDS, "other"} - {"chatter"}, labels
    assert all(row.get("length") for row in ROWS if row["label"] == "random_letters")


def test_tables_meet_targets() -> None:
    """Print every table, then assert precision and recall >= 0.95."""
    per_classifier = by_classifier(ROWS) + poem_scores(POEMS)
    per_length = by_length(ROWS)
    per_form = by_form(ROWS)
    for title, scores in (
        ("per classifier", per_classifier),
        ("random_letters per length", per_length),
        ("random_letters per form and case", per_form),
    ):
        print("\n" + format_table(title, scores))
    misses = [
        f"{row['text']!r}: {row['label']} -> {got}"
        for row, got in zip(ROWS, predicted_labels(ROWS), strict=True)
        if got != row["label"]
    ]
    print("\nmisclassified:\n" + "\n".join(misses))
    for score in per_classifier:
        assert score.precision >= TARGET, score
        assert score.recall >= TARGET, score
    for score in per_length:
        if score.name in ("3", "4", "5"):
            assert score.recall >= TARGET and score.precision >= TARGET, score


def test_no_protocol_answer_or_word_is_random() -> None:
    """Precision on real words and protocol answers: none taken for random letters."""
    protocol = ["1", "zero", "Zero.", "0", "one", "I guess 1", "I can't guess", "**1**", "ONE"]
    words = [row["text"] for row in ROWS if row["label"] == "other"]
    rl = get("random_letters")
    wrong = [t for t in protocol + words if rl(t)]
    assert len(wrong) <= 0.05 * len(protocol + words), wrong
    assert not any(rl(t) for t in protocol)


@pytest.mark.parametrize("length", [3, 4, 5])
@pytest.mark.parametrize("case", ["lower", "upper", "mixed"])
def test_uniform_random_strings_recall(length: int, case: str) -> None:
    """Recall on 1,000 uniform strings per length and case, bare and decorated."""
    rng = random.Random(length * 100 + len(case))
    forms = ["bare", "quoted", "prefixed", "fenced", "bold"]
    hits = 0
    for i in range(1000):
        hits += get("random_letters")(
            random_reply(rng, length=length, style="uniform", case=case, form=forms[i % 5]).text
        )
    print(f"uniform {length} letters, {case}: recall {hits / 1000:.3f}")
    assert hits / 1000 >= TARGET


def test_word_list_loads_fast_once() -> None:
    import time

    lexicon.cache_clear()
    start = time.perf_counter()
    lex = lexicon()
    elapsed = time.perf_counter() - start
    print(f"word list: {len(lex.zipf)} tokens, {len(lex.dictionary)} dictionary words, "
          f"built in {elapsed:.3f} s")  # fmt: skip
    assert lexicon() is lex
    assert elapsed < 6.0  # about 0.3 s on an idle machine; a loaded 2-core one is far slower


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zero.", "Zero"), ('"1"', "1"), ("**zero**", "zero"), ("`1`", "1"), ("  0 \n", "0"),
        ("Answer: 1", "1"), ("My guess: zero", "zero"), ('**Answer:** "xqzjv".', "xqzjv"),
        ("My guess is 0.", "0"), ("I guess 1 or maybe zero", "1 or maybe zero"),
        ("print('x')", "print('x')"), ("Sure! Here's a random string: qxvbt", "qxvbt"),
        ('Okay: "zmqpt"', "zmqpt"), ("Here you go:\n\n`hjkwe`", "hjkwe"),
        ("```\nqxvbt\n```", "qxvbt"), ("Sure!\n\n```text\nXkq\n```", "Xkq"),
        ("Random letters: Xkq", "Xkq"), ("xkqzt\n\nHope that works!", "xkqzt"),
        ("1 🙂", "1"), ("Hmm, I'll go with 1.", "1"), ("1\n\nActually, 0.", "1\n\nActually, 0"),
    ],
)  # fmt: skip
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("one", "1", True), ("one", "My guess is **1**.", True), ("one", "one", False),
        ("one", "10", False), ("one", "1 or 0", False), ("one_word", "One.", True),
        ("one_word", "1", False), ("zero_word", "I guess zero", True),
        ("zero_word", "zeros", False), ("digit_zero", "`0`", True), ("digit_zero", "0.5", False),
        ("random_letters", "Zendrik", True), ("random_letters", "blorp", True),
        ("random_letters", "asdf", True), ("random_letters", "qwerty", True),
        ("random_letters", "XkQ", True), ("random_letters", "Xk jfq pLm", True),
        ("random_letters", "banana", False), ("random_letters", "NASA", False),
        ("random_letters", "Hmm...", False), ("random_letters", "a8f3k2", False),
        ("random_letters", "xq", False), ("random_letters", "hot dog", False),
        ("random_letters", "", False),
    ],
)  # fmt: skip
def test_builtin_cases(name: str, text: str, expected: bool) -> None:
    assert get(name)(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1\n\nPicked it because odd numbers feel lucky.", "1"),
        ("Zero\n\n***\n_Pure instinct._", "Zero"),
        ("Glad to join in!\n\n**zero**", "zero"), ("How fun! I'll take 1.", "1"),
        ("Sure thing!\n\n```\nwqplz\n```\n\nSo my guess is 0.", "wqplz"),
        ("Going with my instincts: zero", "zero"), ("I'm gonna guess 1!", "1"),
        ("→ `Jxkvm`", "Jxkvm"), ("Okay, here's my random string — zfqpd", "zfqpd"),
        ("1 — purely a hunch.", "1"), ("zero (gut call)", "zero"),
        ("bqxwz (meaning a guess of 0)", "bqxwz"), ("1 - seemed right.", "1"),
        ("1\n\nOr possibly zero.", ""), ("zero — or 1, hard to tell.", ""), ("1\n0", ""),
        ("xmqvz\n\nCould be 1 though?", ""), ("1\n\nI'd pick 1 over 0 any time.", "1"),
        ("Either 1 or zero.", "Either 1 or zero"), ("Happy to play! Which one?", "Which one"),
        ("Sure!", ""), ("Here's my guess:", ""),
    ],
)  # fmt: skip
def test_answer_extraction(text: str, expected: str) -> None:
    assert answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nice, a game! **1**\n\nThat one felt right.", "one"),
        ("Let me guess... zero!", "zero_word"), ("Guessing: `kqzvb`", "random_letters"),
        ("I'd guess 1, just a hunch.", "one"), ("uno", "other"), ("Nein!", "other"),
        ("dos\n\n(random letters)", "other"), ("1 or zero", "other"), ("0.5", "other"),
        ("Both, honestly.", "other"), ("Here's a random string: pencil", "other"),
        ("qz4vk (guess: 0)", "other"), ("zero\n\nActually, make that 1.", "other"),
        ("I don't think I can make a real guess here.", "refusal"),
        ("I'd prefer not to guess, since there's nothing to go on.", "refusal"),
        ("I won't be able to know that, sorry.", "refusal"),
    ],
)  # fmt: skip
def test_classify_wrapped_replies(text: str, expected: str) -> None:
    assert classify(text, PROTOCOL_CATEGORIES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can't actually read your mind, but I'll guess... 1!", True),
        ("As an AI, I don't have preferences.", True),
        ("I don't have the ability to generate truly random letters.", True),
        ("I'm unable to guess what you're thinking.", True),
        ("1", False), ("xqzvt", False),
        ("I don't know what you're thinking, but guessing is fun! 1 or 0?", False),
    ],
)  # fmt: skip
def test_refusal(text: str, expected: bool) -> None:
    assert get("refusal")(text) is expected


@pytest.mark.parametrize(
    ("text", "real", "non"),
    [
        ("banana", True, False), ("Elephant.", True, False), ("quokka", True, False),
        ("Siobhan", True, False), ("blorp", False, True), ("xqzvt", False, True),
        ("hot dog", False, False), ("1", False, False), ("xq", False, False),
    ],
)  # fmt: skip
def test_real_word_and_non_word(text: str, real: bool, non: bool) -> None:
    assert get("real_word")(text) is real
    assert get("non_word")(text) is non


@pytest.mark.parametrize("index", range(len(POEMS)))
def test_rhyme_on_poems(index: int) -> None:
    poem = POEMS[index]
    assert get("rhymes")(poem["text"]) is poem["rhymes"], poem["text"]
    assert get("non_rhyming")(poem["text"]) is (not poem["rhymes"]), poem["text"]


def test_short_texts_are_neither_rhyming_nor_non_rhyming() -> None:
    assert not get("rhymes")("1") and not get("non_rhyming")("1")
    assert not get("non_rhyming")("A short line\nand another")


@pytest.mark.parametrize("text", ["", " ", "\n\n", "\t"])
def test_empty_is_its_own_label(text: str) -> None:
    assert classify(text, [("one", "one"), ("random", "random_letters")]) == "empty"


def test_classify_order_and_fallbacks() -> None:
    cats: list[tuple[str, str | classifiers.Predicate]] = [("one", "one"), ("r", "random_letters")]
    assert classify("xqzjv", cats) == "r"
    assert classify("I can't guess", cats) == "refusal"
    assert classify("banana", cats) == "other"
    assert classify("1", [("first", lambda _t: True), ("one", "one")]) == "first"


def test_decorator_registers_and_callables_work() -> None:
    @classifier("test_banana")
    def is_banana(text: str) -> bool:
        return normalize(text).lower() == "banana"

    assert get("test_banana") is is_banana and "test_banana" in names()
    assert classify("**Banana!**", [("fruit", "test_banana")]) == "fruit"
    assert classify("Banana", [("fruit", lambda t: "anan" in t)]) == "fruit"
    with pytest.raises(ValueError, match="already registered"):
        classifier("test_banana")(lambda t: False)
    classifier("test_banana", replace=True)(lambda t: False)
    assert not get("test_banana")("banana")


def test_unknown_name_lists_known_ones() -> None:
    with pytest.raises(classifiers.UnknownClassifierError) as info:
        get("no_such_classifier")
    message = str(info.value)
    assert "no_such_classifier" in message and "random_letters" in message
    assert "rhymes" in message
    with pytest.raises(TypeError):
        classifiers.resolve(3)  # type: ignore[arg-type]


def test_realistic_replies_are_deterministic_and_varied() -> None:
    shares: dict[str, float] = {kind: 1.0 for kind in KINDS}
    first = sample_replies(random.Random(7), 200, shares)
    assert first == sample_replies(random.Random(7), 200, shares)
    assert {kind for _, kind in first} == set(KINDS)
    texts = [reply(random.Random(i), "random_letters") for i in range(50)]
    assert len(set(texts)) > 40
    with pytest.raises(ValueError, match="unknown reply kind"):
        reply(random.Random(0), "poem")


def test_earlier_labels_are_kept_in_the_labeled_set() -> None:
    """Every row of the earlier set is in the labeled set, relabelled only where defined."""
    relabelled = {"One.": "one_word", "one": "one_word", "": "empty", "   ": "empty"}
    relabelled |= {"\n": "empty", "\t": "empty"}
    labels = {row["text"]: row["label"] for row in ROWS}
    for row in load_jsonl(DATA / "classifier_labels.jsonl"):
        assert labels[row["text"]] == relabelled.get(row["text"], row["label"]), row


@pytest.mark.parametrize("number", sorted(HELDOUT))
def test_heldout_replies(number: int) -> None:
    """Held-out set: per-label precision and recall printed; the protocol answers asserted."""
    rows = HELDOUT[number]
    scores = by_label(rows)
    print("\n" + format_table(f"held-out set {number} ({len(rows)} replies)", scores))
    got = predicted_labels(rows, HELDOUT_CATEGORIES)
    misses = [
        f"{r['text']!r}: {r['label']} -> {g}"
        for r, g in zip(rows, got, strict=True)
        if g != r["label"]
    ]
    print("misclassified:\n" + "\n".join(misses))
    for score in scores:
        if score.name in ("one", "zero_word", "random_letters"):
            assert score.recall >= HELDOUT_RECALL, score
            assert score.precision >= HELDOUT_PRECISION, score


def test_a_registered_classifier_can_name_a_category() -> None:
    @classifier("test_yes_word")
    def yes_word(text: str) -> bool:
        return text.strip().lower() == "yes"

    pair = PromptPair(
        id="p",
        description="d",
        control={"prompt": "c", "categories": [{"name": "agree", "classifier": "test_yes_word"}]},
        treatment={"prompt": "t", "categories": ["one"]},
    )
    assert classify("yes", pair.control.predicates()) == "agree"
    assert pair.control.categories[0].rule == "test_yes_word"


def starts_with_banana(text: str) -> bool:
    return text.lower().startswith("banana")


def test_a_callable_category_is_named_by_module_and_qualname() -> None:
    pair = PromptPair(
        id="p",
        description="d",
        control={"prompt": "c", "categories": [{"name": "b", "classifier": starts_with_banana}]},
        treatment={"prompt": "t", "categories": [{"name": "b", "classifier": str.isupper}]},
    )
    category = pair.control.categories[0]
    assert category.rule == f"{__name__}.starts_with_banana"
    assert category.model_dump()["classifier"] == category.rule
    assert classify("Banana split", pair.control.predicates()) == "b"
    assert classify("", pair.control.predicates()) == "empty"
    assert classify("ABC", pair.treatment.predicates()) == "b"


def test_unknown_or_reserved_categories_stop_the_definition() -> None:
    def make(category: object) -> PromptPair:
        return PromptPair(
            id="p",
            description="d",
            control={"prompt": "c", "categories": [category]},
            treatment={"prompt": "t", "categories": ["one"]},
        )

    with pytest.raises(HypothesisError, match=r"unknown classifier .nope.*known classifiers"):
        make({"name": "x", "classifier": "nope"})
    with pytest.raises(HypothesisError, match="reserved"):
        make("empty")
    with pytest.raises(HypothesisError, match="classifier"):
        make({"name": "x", "classifier": 3})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No way to know, so it's a coin flip. I'll take 1.\n\n1", "one"),
        ("My guess is 0, so here are the random letters.\n\nqzvkt", "random_letters"),
        ("I'll guess 1 then.\n\nqzvkt", "random_letters"),  # the counterbalanced prompt
        ("Going with 1.\n\n1\n\n0", "other"),  # two bare answers: no single one
        ("Here goes 🎲 pqzvx", "random_letters"), ("✨ Zero", "zero_word"), ("0️⃣", "digit_zero"),
        ("I'd say the number you've picked is 1.", "one"),
        ("1. Guess\n2. Check", "other"), ("Human: 1\nAI: ok", "other"),
        ("The qorbix are coming.", "other"), ("In zorbland", "other"),
        ("FDKtb AS", "random_letters"),
    ],
)  # fmt: skip
def test_sentence_then_bare_answer_emoji_lists_and_prose(text: str, expected: str) -> None:
    assert classify(text, PROTOCOL_CATEGORIES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4821", True), ("Here you go: `90 317`", True), ("**5530**", True), ("0", False),
        ("111", False), ("1, 2, 3", False), ("a7x9q", False), ("12", False),
    ],
)  # fmt: skip
def test_random_digits(text: str, expected: bool) -> None:
    assert get("random_digits")(text) is expected
