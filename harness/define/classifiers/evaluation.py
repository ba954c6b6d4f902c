"""Precision and recall of the classifiers on a labeled set of replies.

Used by ``tests/define/test_classifiers.py`` (which prints the tables and
asserts the targets) and by ``scripts/classifier_report.py`` (which writes them
as markdown to ``docs/classifiers.md``). Every reply is labeled the way a
hypothesis labels it, with :func:`~.registry.classify` over the protocol
categories; each label is then scored one-vs-rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .normalize import normalize
from .registry import classify, get

__all__ = [
    "HELDOUT_CATEGORIES",
    "HELDOUT_LABELS",
    "PROTOCOL_CATEGORIES",
    "Score",
    "by_classifier",
    "by_form",
    "by_label",
    "by_length",
    "format_table",
    "load_jsonl",
    "poem_scores",
    "predicted_labels",
    "reply_form",
]

PROTOCOL_CATEGORIES: list[tuple[str, str]] = [
    (name, name) for name in ("one", "one_word", "zero_word", "digit_zero", "random_letters")
]
LABELS = ("one", "one_word", "zero_word", "digit_zero", "random_letters", "refusal", "empty")
#: The held-out sets' categories (the seed pair's, in its order) and the labels they score.
HELDOUT_CATEGORIES: list[tuple[str, str]] = [
    (name, name) for name in ("one", "zero_word", "digit_zero", "random_letters")
]
HELDOUT_LABELS = ("one", "zero_word", "digit_zero", "random_letters", "refusal", "empty", "other")
LENGTH_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("3", 3, 3), ("4", 4, 4), ("5", 5, 5), ("6-8", 6, 8), ("9+", 9, 10**6)
)  # fmt: skip
FORM_ORDER = ("bare", "quoted", "bold", "prefixed", "fenced", "remark")
CASE_ORDER = ("lower", "upper", "title", "mixed")


@dataclass(frozen=True)
class Score:
    """Confusion counts of one classifier on one slice of the labeled set."""

    name: str
    tp: int
    fp: int
    fn: int

    @property
    def n(self) -> int:
        """Replies that truly belong to the class."""
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        """Share of accepted replies that truly belong (1.0 when none accepted)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of true members accepted (1.0 when the slice has none)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _score(name: str, pairs: Iterable[tuple[bool, bool]]) -> Score:
    """Count (predicted, actual) pairs."""
    tp = fp = fn = 0
    for predicted, actual in pairs:
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
    return Score(name, tp, fp, fn)


def predicted_labels(
    rows: Sequence[dict[str, Any]], categories: Sequence[tuple[str, str]] = PROTOCOL_CATEGORIES
) -> list[str]:
    """The label :func:`classify` gives each row over ``categories``."""
    return [classify(row["text"], categories) for row in rows]


def by_label(
    rows: Sequence[dict[str, Any]],
    categories: Sequence[tuple[str, str]] = HELDOUT_CATEGORIES,
    labels: Sequence[str] = HELDOUT_LABELS,
) -> list[Score]:
    """One-vs-rest scores per label when ``rows`` are classified over ``categories``."""
    got = predicted_labels(rows, categories)
    return [
        _score(
            label, ((g == label, row["label"] == label) for g, row in zip(got, rows, strict=True))
        )
        for label in labels
    ]


def _single_token(text: str) -> str | None:
    """The bare answer when it is one run of ASCII letters, else None."""
    answer = normalize(text)
    return answer if answer.isascii() and answer.isalpha() else None


def by_classifier(rows: Sequence[dict[str, Any]]) -> list[Score]:
    """One-vs-rest scores per label, then ``real_word``/``non_word``.

    For the word classifiers the truth is taken from single-token replies:
    labeled "other" means a real word, labeled "random_letters" a non-word.
    """
    got = predicted_labels(rows)
    scores = [
        _score(
            label, ((g == label, row["label"] == label) for g, row in zip(got, rows, strict=True))
        )
        for label in LABELS
    ]
    tokens = [
        r
        for r in rows
        if r["label"] in ("other", "random_letters") and len(_single_token(r["text"]) or "") >= 3
    ]
    for name, truth in (("real_word", "other"), ("non_word", "random_letters")):
        predicate = get(name)
        scores.append(_score(name, ((predicate(r["text"]), r["label"] == truth) for r in tokens)))
    return scores


def _letters(text: str) -> int:
    """Letters in the bare answer."""
    return sum(c.isalpha() for c in normalize(text))


def by_length(
    rows: Sequence[dict[str, Any]], only: Callable[[dict[str, Any]], bool] | None = None
) -> list[Score]:
    """``random_letters`` scores per answer length (letters in the bare answer)."""
    got = predicted_labels(rows)
    out: list[Score] = []
    for name, lo, hi in LENGTH_BUCKETS:
        pairs = []
        for g, row in zip(got, rows, strict=True):
            if only is not None and not only(row):
                continue
            length = row.get("length") or _letters(row["text"])
            if lo <= length <= hi:
                pairs.append((g == "random_letters", row["label"] == "random_letters"))
        out.append(_score(name, pairs))
    return out


def reply_form(text: str) -> str:
    """How the answer is wrapped: bare, quoted, bold, prefixed, fenced or remark."""
    s = text.strip()
    if "```" in s:
        return "fenced"
    answer = normalize(s)
    if "\n\n" in s and s.startswith(answer):
        return "remark"
    if s.startswith(("**", "*", "_")) and s.rstrip(".!").endswith(("**", "*", "_")):
        return "bold"
    if s[:1] in "\"'`“‘«" and s.rstrip(".!")[-1:] in "\"'`”’»":
        return "quoted"
    return "bare" if s.rstrip(".!?") == answer else "prefixed"


def answer_case(text: str) -> str:
    """Case of the bare answer's letters: lower, upper, title or mixed."""
    letters = "".join(c for c in normalize(text) if c.isalpha())
    if letters.islower():
        return "lower"
    if letters.isupper():
        return "upper"
    return "title" if letters[:1].isupper() and letters[1:].islower() else "mixed"


def by_form(rows: Sequence[dict[str, Any]]) -> list[Score]:
    """``random_letters`` scores per reply form, then per letter case."""
    got = predicted_labels(rows)
    scored = list(zip(got, rows, strict=True))

    def pairs(form: str | None, case: str | None) -> list[tuple[bool, bool]]:
        return [
            (g == "random_letters", r["label"] == "random_letters")
            for g, r in scored
            if (form is None or reply_form(r["text"]) == form)
            and (case is None or (_has_letters(r["text"]) and answer_case(r["text"]) == case))
        ]

    out = [_score(form, pairs(form, None)) for form in FORM_ORDER]
    out += [_score(f"{case} case", pairs(None, case)) for case in CASE_ORDER]
    return out


def _has_letters(text: str) -> bool:
    """True when the bare answer has any letter."""
    return any(c.isalpha() for c in normalize(text))


def poem_scores(poems: Sequence[dict[str, Any]]) -> list[Score]:
    """``rhymes`` and ``non_rhyming`` on poems labeled ``{"text", "rhymes": bool}``."""
    rhymes, non_rhyming = get("rhymes"), get("non_rhyming")
    return [
        _score("rhymes", ((rhymes(p["text"]), bool(p["rhymes"])) for p in poems)),
        _score("non_rhyming", ((non_rhyming(p["text"]), not p["rhymes"]) for p in poems)),
    ]


def format_table(title: str, scores: Sequence[Score], markdown: bool = False) -> str:
    """A precision/recall table as aligned text or markdown."""
    head = ("classifier" if title.startswith("per classifier") else "slice", "n", "tp", "fp",
            "fn", "precision", "recall")  # fmt: skip
    body = [(s.name, str(s.n), str(s.tp), str(s.fp), str(s.fn), f"{s.precision:.3f}",
             f"{s.recall:.3f}") for s in scores]  # fmt: skip
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(head) + " |",
                 "|" + "|".join(" --- " for _ in head) + "|"]  # fmt: skip
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([title, fmt.format(*head), *(fmt.format(*r) for r in body)])
