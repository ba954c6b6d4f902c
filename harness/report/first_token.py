"""The first-token table, next to the sampled shares: a page fragment and terminal lines.

For every arm that has a :class:`~harness.results.logprobs.FirstToken` record
(local models always; API models in exact mode): where the first token's
probability goes (the top alternatives, each category's first tokens, an
empty reply, and for an API the mass it did not return), the exact
probability of each fixed-string reply when exact mode computed them, and
the arm's sampled shares beside them. Exact mode's note (how the verdict was
reached, or why it fell back to sampling) heads the section.

Model text (tokens, replies) is escaped by jinja2's autoescaping; the
fragment is inserted into the page as markup.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup

from harness.define.classifiers import OFF_PROTOCOL
from harness.results.logprobs import FirstToken
from harness.results.records import ArmResult, Outcome
from harness.results.run import RunResults

#: Alternatives shown per arm on the terminal; terminal lines at most (the page has them all).
TERMINAL_TOKENS, TERMINAL_LINES = 5, 12

FRAGMENT = """\
{% if exact %}<p class="exact-note"><b>Exact mode ({{ exact.mode }}).</b> {{ exact.note }}\
{% if exact.forward_passes %} Forward passes for the exact part: {{ exact.forward_passes }}.\
{% endif %}</p>{% endif %}
{% for arm in arms %}
<table class="first-token">
<thead><tr><th colspan="4">{{ arm.name }}: first token ({{ arm.source }}){% if arm.uncovered %}, \
<span class="uncovered">{{ arm.uncovered }} not returned</span>{% endif %}</th></tr>
<tr><th>category</th><th>first-token mass</th><th>exact reply mass</th><th>sampled share</th></tr>\
</thead>
<tbody>
{% for c in arm.categories %}<tr><td>{{ c.name }}</td><td class="num">{{ c.first }}</td>\
<td class="num">{{ c.exact }}</td><td class="num">{{ c.sampled }}</td></tr>
{% endfor %}
</tbody>
</table>
<table class="first-token-top">
<thead><tr><th>top first tokens</th><th>p</th><th>begins</th></tr></thead>
<tbody>
{% for t in arm.top %}<tr><td class="reply">{{ t.token }}</td><td class="num">{{ t.p }}</td>\
<td>{{ t.category }}</td></tr>
{% endfor %}
</tbody>
</table>
{% if arm.replies %}<details class="replies"><summary>exact probability of each fixed-string \
reply ({{ arm.fixed }} in all{% if arm.stray %}; paths not followed at most {{ arm.stray }}\
{% endif %})</summary>
<table><thead><tr><th>reply</th><th>label</th><th>p</th><th>token paths</th>\
<th>through other tokenizations</th></tr></thead><tbody>
{% for r in arm.replies %}<tr><td class="reply">{{ r.text }}</td><td>{{ r.category }}</td>\
<td class="num">{{ r.p }}</td><td class="num">{{ r.paths }}</td><td class="num">{{ r.alternative }}\
</td></tr>
{% endfor %}
</tbody></table></details>{% endif %}
<p class="muted">{{ arm.note }}</p>
{% endfor %}
"""


def _pct(x: float | None) -> str:
    if x is None:
        return ""
    if x != 0 and abs(x) < 0.001:
        return f"{100 * x:.2g}%"
    return f"{100 * x:.1f}%"


def _shown(token: str) -> str:
    """A token as text a reader can see (spaces and newlines made visible)."""
    return repr(token)[1:-1] if token.strip() != token or not token else token


def _arm(arm: ArmResult, outcome: Outcome) -> dict[str, Any] | None:
    table = arm.first_token
    if table is None:
        return None
    estimates = outcome.exact.estimates if outcome.exact is not None else {}
    exact = _exact_by_label(table)
    rows = []
    for name in arm.categories:
        sampled = _pct(arm.shares.get(name)) if arm.compliant else "n/a"
        if f"{arm.arm}.{name}" in estimates:
            sampled = f"{_pct(estimates[f'{arm.arm}.{name}'])} (exact mode)"
        first = table.categories.get(name)
        rows.append(
            {
                "name": name,
                "first": "open" if first is None else _pct(first),
                "exact": _pct(exact.get(name)) if table.replies else "",
                "sampled": sampled,
            }
        )
    off = sum(v for k, v in exact.items() if k in OFF_PROTOCOL)
    rows.append(
        {
            "name": "empty reply" if table.end is not None else "off-protocol",
            "first": _pct(table.end) if table.end is not None else "",
            "exact": _pct(off) if table.replies else "",
            "sampled": _pct(1 - arm.compliance) + " off-protocol" if arm.n else "n/a",
        }
    )
    return {
        "name": arm.arm,
        "source": "whole vocabulary" if table.source == "logits" else "API top_logprobs",
        "uncovered": _pct(table.uncovered) if table.source == "top_logprobs" else "",
        "categories": rows,
        "top": [
            {"token": _shown(t.token), "p": _pct(t.p), "category": t.category or ""}
            for t in table.top
        ],
        "replies": [
            {
                "text": _shown(r.text) or "(empty)",
                "category": r.category,
                "p": _pct(r.p),
                "paths": r.paths,
                "alternative": _pct(r.alternative),
            }
            for r in table.replies
        ],
        "fixed": _pct(table.fixed),
        "stray": _pct(table.stray) if table.stray else "",
        "note": table.note,
    }


def _exact_by_label(table: FirstToken) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in table.replies:
        out[r.category] = out.get(r.category, 0.0) + r.p
    return out


def fragment(outcome: Outcome) -> Markup:
    """The outcome's first-token section as page markup ('' when it has no table or note)."""
    arms = [view for arm in outcome.arms if (view := _arm(arm, outcome)) is not None]
    if not arms and outcome.exact is None:
        return Markup("")
    return Markup(_template().render(arms=arms, exact=outcome.exact))


@lru_cache(maxsize=1)
def _template() -> Template:
    """The fragment's template, compiled once per process (0.2 s for a run's tests otherwise)."""
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True)
    return env.from_string(FRAGMENT)


def terminal_lines(results: RunResults) -> list[str]:
    """How exact mode decided (when it was asked for), then one line per prompt with a
    first-token table (each model, variant and arm once)."""
    lines = exact_lines(results)
    seen: set[tuple[str, str, str, str]] = set()
    for o in results.outcomes:
        for arm in o.arms:
            table = arm.first_token
            key = (o.model, o.hypothesis, o.variant, arm.arm)
            if table is None or key in seen:
                continue
            seen.add(key)
            where = f"{o.model} {o.hypothesis}[{o.variant}] {arm.arm}"
            lines.append(f"first token {where}: {line(table)}")
    if len(lines) > TERMINAL_LINES:
        more = len(lines) - TERMINAL_LINES
        lines = [*lines[:TERMINAL_LINES], f"first token: {more} more prompts in the report"]
    return lines


def exact_lines(results: RunResults) -> list[str]:
    """``exact mode: 8 exact (no sampling error), 2 exact plus sampled replies, 3 sampled``,
    and each distinct reason a test fell back to sampling, with how many tests it was."""
    notes = [o.exact for o in results.outcomes if o.exact is not None]
    if not notes:
        return []
    counts = {mode: sum(n.mode == mode for n in notes) for mode in ("exact", "mixed", "sampling")}
    words = {
        "exact": "exact (no sampling error)",
        "mixed": "exact plus sampled non-fixed replies",
        "sampling": "sampled",
    }
    out = ["exact mode: " + ", ".join(f"{n} {words[m]}" for m, n in counts.items() if n)]
    reasons: dict[str, int] = {}
    for n in notes:
        if n.mode == "sampling":
            reasons[n.note] = reasons.get(n.note, 0) + 1
    out += [f"  {k} ({v} test{'s' if v > 1 else ''})" for k, v in reasons.items()]
    return out


def line(table: FirstToken) -> str:
    """``I 10.0%, The 3.9%, ... | plain 1.6%, word 0.2% | end 0.0%`` (and the API's uncovered
    mass, and exact mode's fixed-string total)."""
    top = ", ".join(f"{_shown(t.token)} {_pct(t.p)}" for t in table.top[:TERMINAL_TOKENS])
    parts = [top]
    if table.categories:
        parts.append(", ".join(f"{k} {_pct(v)}" for k, v in table.categories.items()))
    if table.end is not None:
        parts.append(f"end {_pct(table.end)}")
    if table.source == "top_logprobs":
        parts.append(f"uncovered {_pct(table.uncovered)}")
    if table.fixed is not None:
        best = ", ".join(f"{r.text!r} {_pct(r.p)}" for r in table.replies[:3])
        parts.append(f"fixed-string replies {_pct(table.fixed)} exact ({best})")
    return " | ".join(parts)
