"""The first-token table on the page and the terminal (``harness.report.first_token``)."""

from __future__ import annotations

import datetime as dt

import pytest

from harness import PromptPair, RunSettings, Sampler, claims, evaluate
from harness.report.first_token import fragment, line, terminal_lines
from harness.report.html import render
from harness.report.terminal import summary_lines
from harness.results.logprobs import ExactNote, FirstToken, ReplyShare, TokenShare
from harness.results.records import Outcome
from harness.results.run import RunResults

PAIR = PromptPair(
    id="zero-vs-random-letters",
    description="seed",
    control={
        "prompt": 'If your guess is "1", respond with just "1", and if your guess is "0", '
        'respond with the word "zero".',
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "word", "classifier": "zero_word"},
        ],
    },
    treatment={
        "prompt": 'If your guess is "1", respond with just "1", and if your guess is "0", '
        "respond with a string of random letters.",
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "random", "classifier": "random_letters"},
        ],
    },
)
CLAIM = claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2)

LOCAL_TABLE = FirstToken(
    source="logits",
    temperature=1.0,
    top=[
        TokenShare(token="1", p=0.5, category="plain"),
        TokenShare(token="zero", p=0.3, category="word"),
        TokenShare(token="<script>", p=0.1),
        TokenShare(token=" ", p=0.05),
    ],
    categories={"plain": 0.5, "word": 0.32},
    end=0.0001,
    covered=1.0,
    uncovered=0.0,
    replies=[
        ReplyShare(text="1", category="plain", p=0.45, paths=1),
        ReplyShare(text="zero", category="word", p=0.29, paths=8, alternative=1e-7),
        ReplyShare(text="", category="empty", p=0.0001, paths=3),
    ],
    fixed=0.7401,
    stray=2e-5,
    forward_passes=6,
    note="whole vocabulary, after the chat template, at the draws' temperature",
)
API_TABLE = FirstToken(
    source="top_logprobs",
    temperature=1.0,
    top=[TokenShare(token="1", p=0.6, category="plain"), TokenShare(token="x", p=0.27)],
    categories={"plain": 0.6},
    covered=0.87,
    uncovered=0.13,
    note="the API's top 2 alternatives as it returned them",
)


@pytest.fixture(scope="module")
def outcome() -> Outcome:
    settings = RunSettings(models=("sim/indifferent",), max_draws=32)
    sampler = Sampler(settings.generation, settings.seed)
    model = "sim/indifferent"
    found = evaluate(PAIR, "original", CLAIM, model, sampler, settings, claim_alpha=0.05)
    tables = {"control": LOCAL_TABLE, "treatment": API_TABLE}
    arms = [a.model_copy(update={"first_token": tables[a.arm]}) for a in found.arms]
    note = ExactNote(
        mode="mixed",
        note="fixed-string replies exact; 12 non-fixed replies sampled",
        forward_passes=12,
        draws=30,
        kept=12,
        estimates={"control.word": 0.45},
    )
    return found.model_copy(update={"arms": arms, "exact": note, "test": "t.py::test_x[original]"})


def _results(outcome: Outcome) -> RunResults:
    now = dt.datetime.now(dt.UTC)
    return RunResults(
        run_id="20240101-000000",
        started=now,
        finished=now,
        harness_version="0.1.0+test",
        settings=RunSettings(models=("sim/indifferent",)),
        family_size=1,
        outcomes=[outcome],
    )


def test_the_fragment_shows_the_table_next_to_the_sampled_shares(outcome: Outcome) -> None:
    html = str(fragment(outcome))
    assert "Exact mode (mixed)." in html
    assert "Forward passes for the exact part: 12." in html
    assert "first token (whole vocabulary)" in html
    assert 'first token (API top_logprobs), <span class="uncovered">13.0% not returned' in html
    assert '<td>word</td><td class="num">32.0%</td><td class="num">29.0%</td>' in html
    assert "45.0% (exact mode)" in html  # control.word's estimate, beside its first-token mass
    assert "&lt;script&gt;" in html and "<script>" not in html  # model text is escaped
    assert "(empty)" in html and "paths not followed at most 0.002%" in html


def test_the_page_includes_it_once_per_outcome(outcome: Outcome) -> None:
    page = render(_results(outcome))
    assert page.count('class="first-token"') == 2
    assert page.count("Exact mode (mixed).") == 1


def test_an_outcome_without_tables_adds_nothing(outcome: Outcome) -> None:
    bare = outcome.model_copy(
        update={"arms": [a.model_copy(update={"first_token": None}) for a in outcome.arms]}
    )
    assert str(fragment(bare.model_copy(update={"exact": None}))) == ""


def test_terminal_says_how_exact_mode_decided_and_where_it_fell_back(outcome: Outcome) -> None:
    fell_back = outcome.model_copy(
        update={"exact": ExactNote(mode="sampling", note="exact mode fell back to sampling: x")}
    )
    results = _results(outcome).model_copy(update={"outcomes": [outcome, fell_back, fell_back]})
    lines = terminal_lines(results)
    assert lines[0] == "exact mode: 1 exact plus sampled non-fixed replies, 2 sampled"
    assert lines[1] == "  exact mode fell back to sampling: x (2 tests)"


def test_terminal_line_per_prompt(outcome: Outcome) -> None:
    lines = terminal_lines(_results(outcome))[1:]
    assert len(lines) == 2
    control, treatment = sorted(lines)
    where = "first token sim/indifferent zero-vs-random-letters[original]"
    assert treatment.startswith(f"{where} treatment: 1 60.0%, x 27")
    assert "uncovered 13.0%" in treatment
    assert "fixed-string replies 74.0% exact" in control
    assert "'1' 45.0%" in control
    assert " " not in line(LOCAL_TABLE).split(", ")[3].split(" ")[0]  # a space token shown as \\x20
    assert lines[0] in summary_lines(_results(outcome))
