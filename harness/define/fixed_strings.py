"""Fixed strings: the one answer a category accepts, and the forms it is scored in.

Exact mode (:mod:`harness.run.exact`) computes the probability of an arm's
fixed-string replies exactly. A category is a fixed string when its accepted
bare answer is one literal: a built-in protocol classifier (``one`` -> "1",
``zero_word`` -> "zero", ``digit_zero`` -> "0", ``one_word`` -> "one") or a
``pattern`` that is a plain word. Its replies are scored in a few surface forms
("Zero", "ZERO", "zero.", "zero!", '"zero"', "**zero**"), each labelled by the
arm's own classifiers, so a form a category does not accept is not counted in it.

>>> surface_forms("1")
['1', '1.', '1!', '"1"', '**1**']
"""

from __future__ import annotations

import re

from harness.define.pair import Arm, Category, ResolvedVariant

#: Built-in classifiers whose accepted answer is one literal string.
LITERALS = {"one": "1", "digit_zero": "0", "zero_word": "zero", "one_word": "one"}
_PLAIN_WORD = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*")


def literal(category: Category) -> str | None:
    """The one string a category accepts as its bare answer, if it is a fixed string."""
    if category.pattern is not None:
        return category.pattern if _PLAIN_WORD.fullmatch(category.pattern) else None
    if category.classifier is None:
        return LITERALS.get(category.name)
    return LITERALS.get(category.classifier) if isinstance(category.classifier, str) else None


def surface_forms(word: str) -> list[str]:
    """The forms of a literal answer scored exactly: its cases, bare or with a period, an
    exclamation mark, quotes or bold."""
    out: list[str] = []
    for case in dict.fromkeys([word, word.lower(), word.capitalize(), word.upper()]):
        out += [case, f"{case}.", f"{case}!", f'"{case}"', f"**{case}**"]
    return list(dict.fromkeys(out))


def fixed_texts(variant: ResolvedVariant) -> list[str]:
    """The fixed-string replies scored exactly in every arm of ``variant``: the empty reply and
    the surface forms of both arms' literal answers."""
    words = [literal(c) for name in ("control", "treatment") for c in variant.arm(name).categories]
    out = [""]
    for word in dict.fromkeys(w for w in words if w):
        out += surface_forms(word)
    return list(dict.fromkeys(out))


def first_tokens_of(arm: Arm) -> dict[str, list[str]]:
    """Per fixed-string category, the case forms of its literal (a token begins the category
    when its text, leading spaces dropped, is one of these or a prefix of 2+ characters)."""
    out: dict[str, list[str]] = {}
    for c in arm.categories:
        word = literal(c)
        if word:
            out[c.name] = list(dict.fromkeys([word, word.lower(), word.capitalize(), word.upper()]))
    return out


def begins(token: str, forms: list[str]) -> bool:
    bare = token.lstrip()
    return bool(bare) and any(f == bare or (len(bare) >= 2 and f.startswith(bare)) for f in forms)
