"""Bad inputs: every one stops the run with one line naming what is wrong, no traceback.

The corpus (``bad_inputs.toml`` beside this file) holds command-line options,
``[tool.harness]`` tables, model arguments and hypothesis definitions, each
with the line it must produce. Each case runs pytest in-process (pytester) in
a fresh project; the case passes when the run exits with the case's code (a
usage error, 4, unless it says otherwise: never 0, so nothing bad is silently
accepted), prints the line, and prints no traceback. Every case is printed with
the line it produced (``-s`` or ``-rP`` shows them)::

    .venv/bin/pytest tests/plugin/test_bad_input.py -s
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import evals_project

CORPUS = Path(__file__).with_name("bad_inputs.toml")
A_FILE = "notes.txt"  # a file in every project, for options that want a folder

HYPOTHESIS = '''
from harness import PromptPair, behavior, claims

CONTROL = 'Guess "1" or "0". If your guess is "1", respond with just "1"; if "0", the word "zero".'
TREATMENT = (
    'Guess "1" or "0". If your guess is "1", respond with just "1"; if "0", '
    "a string of random letters."
)

PAIR = PromptPair(
    id="h",
    description="the random-string share against the zero share",
    control={
        "prompt": CONTROL,
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "word", "classifier": "zero_word"},
        ],
    },
    treatment={
        "prompt": TREATMENT,
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "random", "classifier": "random_letters"},
        ],
    },
    variants=[],
)


@behavior(PAIR, claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2))
def test_h() -> None:
    """The random-string share is not lower than the "zero" share by 0.2."""
'''


@dataclass
class Case:
    """One bad input and the line it must produce."""

    id: str
    line: str
    args: list[str] = field(default_factory=list)
    pyproject: str | None = None
    replace: list[list[str]] = field(default_factory=list)
    code: int = int(pytest.ExitCode.USAGE_ERROR)


def corpus() -> list[Case]:
    data = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    return [Case(**raw) for raw in data["case"]]


CASES = corpus()


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


def _project(pytester: pytest.Pytester, case: Case) -> Path:
    root = pytester.path
    (root / A_FILE).write_text("not a folder\n")
    if case.replace:
        module = HYPOTHESIS
        for old, new in case.replace:
            assert old in module, f"{case.id}: {old!r} is not in the hypothesis template"
            module = module.replace(old, new)
        (root / "evals").mkdir()
        (root / "evals" / "test_h.py").write_text(module)
        (root / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
        if case.pyproject is not None:
            (root / "pyproject.toml").write_text(case.pyproject)
    else:
        evals_project(root, case.pyproject.replace("{file}", A_FILE) if case.pyproject else None)
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_stops_the_run_with_its_one_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    monkeypatch.delenv("NOKEY_API_KEY", raising=False)
    monkeypatch.setenv("NOKEY_BASE_URL", "http://127.0.0.1:9/v1")
    root = _project(pytester, case)
    args = [a.replace("{file}", A_FILE) for a in case.args]
    select = ["-k", "test_h or (original and share_is_half)"]
    model = [] if "--model" in args else ["--model", "sim/indifferent"]
    result = pytester.runpytest_inprocess(
        "evals/", "-p", "no:cacheprovider", *select, *model, *args
    )
    out = "\n".join([*result.outlines, *result.errlines])
    line = case.line.replace("{root}", str(root)).replace("{file}", A_FILE)
    shown = next((text.strip() for text in out.splitlines() if line in text), None)
    print(f"{case.id}: {shown or '(line not found)'}")
    assert result.ret == case.code, f"exit {result.ret}, wanted {case.code}\n{out}"
    assert shown is not None, f"{line!r} not in the output\n{out}"
    assert "Traceback" not in out, out
    assert "[bold]" not in out and "[blue]" not in out, out


def test_a_single_model_string_is_one_model(pytester: pytest.Pytester) -> None:
    """Not an error: ``models = "sim/avoidant"`` is a list of that one model."""
    evals_project(pytester.path, '[tool.harness]\nmodels = "sim/avoidant"\ncache = false\n')
    result = pytester.runpytest_inprocess(
        "evals/", "-p", "no:cacheprovider", "-k", "original and share_is_half", "-v"
    )
    out = "\n".join(result.outlines)
    assert "[original-sim/avoidant]" in out, out
    assert "sim/a]" not in out
