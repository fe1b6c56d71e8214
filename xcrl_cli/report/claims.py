"""Which of the paper's claims hold here: every claim of Tables 2-4 and the embedded benchmark's cue claim, each a
paired comparison over replicates with its interval (`evaluation/significance.py`), a verdict that says what was
resampled, Holm's adjustment over the whole family of claims, and a forest plot of the differences.

- Tables 2 and 3: the reference beats each other row on the Average (and on the healthy tasks' average, when some
  task fails a health check), from the test predictions.
- Table 4: the reference has a lower language-ID probe accuracy, a higher clustering purity and counterfactual
  consistency (per-replicate values of `representations.csv`, each variant on the space the table shows) and a
  higher low-resource average (from the predictions, as Table 2) than each other row.
- The cue sweep: at the strongest cue the reference's source-test predictions flip less often than each other
  variant's when only the particle is removed (significantly), at a source-test score not significantly lower.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..evaluation.significance import (AVERAGE, OWN_DRAWS, REPLICATES_ONLY, SHARED_TEST, Comparison, compare,
                                       compare_values, holm)
from .cells import pick_space, repr_per_seed

TABLE4_MEASURES = {"lang_id_acc": True, "cluster_purity": False, "cf_consistency": False}  # lower is better?
LOW_RESOURCE = "low_resource_avg"


@dataclass(frozen=True)
class Claim:
    """One claim: where it comes from, its sentence, the comparison(s) behind it and whether lower is better."""

    table: str
    text: str
    comparison: Comparison | None  # None: not run
    lower_is_better: bool = False
    guard: Comparison | None = None  # the sweep's source-test score, which must not be significantly lower
    short: str = ""  # the forest plot's label

    @property
    def label(self) -> str:
        return self.short or self.text


def over(c: Comparison) -> str:
    """What the comparison's interval counted, in words: a verdict is only as strong as that."""
    n = c.n_replicates
    if c.resampled == OWN_DRAWS:
        return f"over {n} replicates: draws, seeds and test examples"
    if c.resampled == SHARED_TEST:
        return "over the test examples only, one seed" if n == 1 else f"over {n} seeds and the test examples"
    return f"over {n} seeds (test examples fixed, not resampled)"


def verdict(c: Comparison | None, lower_is_better: bool = False) -> str:
    """A verdict on 'the reference is better' from its comparison, saying what noise it tested."""
    if c is None:
        return "not run"
    if not c.tested:
        return f"not tested ({c.n_replicates} replicate: nothing measures the spread)"
    better = c.observed < 0 if lower_is_better else c.observed > 0
    if better:
        return f"holds (significant {over(c)})" if c.significant else f"same direction, not significant {over(c)}"
    if c.significant:
        return f"does not hold: reversed, significant {over(c)}"
    return f"does not hold (not significant {over(c)})"


def claim_verdict(claim: Claim) -> str:
    text = verdict(claim.comparison, claim.lower_is_better)
    guard = claim.guard
    if text.startswith("holds") and guard is not None and guard.significant and guard.observed < 0:
        return f"does not hold: fewer flips but a significantly lower source-test score ({over(guard)})"
    return text


def bucket(text: str) -> str:
    if text.startswith("holds"):
        return "holds"
    if text.startswith(("same direction", "not tested")):
        return "undecided"
    return "not_run" if text == "not run" else "does_not_hold"


def performance_claims(comparisons: Mapping[tuple, Comparison], scopes: Mapping[str, str], ref: str,
                       tables: Mapping[str, Sequence[str]], label) -> list[Claim]:
    """Tables 2 and 3: the reference beats each other row, on each scope (column -> words)."""
    out = []
    for table, sentence in (("table2", "{ref} beats {other} ({scope})"),
                            ("table3", "removing a component lowers the {scope}: {ref} beats {other}")):
        for other in tables.get(table, ()):
            if other == ref:
                continue
            for column, scope in scopes.items():
                c = comparisons.get((table, other, column))
                if c is not None or column == AVERAGE:
                    short = f"{label(ref)} − {label(other)} ({'Average' if column == AVERAGE else 'healthy tasks'})"
                    out.append(Claim(table, sentence.format(ref=label(ref), other=label(other), scope=scope), c,
                                     short=short))
    return out


def table4_claims(reps, predictions, ref: str, others: Sequence[str], task_metric, n_labels, low_resource, cfg,
                  significance, resampled: str) -> list[Claim]:
    """Table 4: each representation measure per replicate (mean over tasks), and the low-resource average from the
    predictions, the reference against each other row."""
    out = []
    for other in others:
        for measure, lower in TABLE4_MEASURES.items():
            spaces = {v: "prediction" if measure == "cf_consistency" else pick_space(reps, "representations.csv", v,
                                                                                    cfg.table4_space)
                      for v in (ref, other)}
            values = {v: repr_per_seed(reps, v, spaces[v], measure) for v in (ref, other)}
            c = None if None in values.values() else compare_values(values[ref], values[other], ref, other, measure,
                                                                    significance.level, resampled)
            word = "lower" if lower else "higher"
            out.append(Claim("table4", f"{cfg.label(ref)} has {word} {measure} than {cfg.label(other)}", c, lower,
                             short=f"{measure} ({word} is the claim): vs {cfg.label(other)}"))
        c = compare(predictions, ref, other, task_metric, n_labels, low_resource, significance.n_boot,
                    significance.seed, significance.level)[AVERAGE] if low_resource else None
        out.append(Claim("table4", f"{cfg.label(ref)} has higher {LOW_RESOURCE} than {cfg.label(other)}",
                         None if c is None else replace(c, column=LOW_RESOURCE),
                         short=f"{LOW_RESOURCE}: vs {cfg.label(other)}"))
    return out


def cue_claims(points: Mapping[str, Mapping[str, Mapping[int, float] | None]], ref: str, others: Sequence[str],
               task: str, cue: float, cfg, level: float, resampled: str) -> list[Claim]:
    """The sweep's claim at its strongest cue: fewer of the reference's source-test predictions flip without the
    particle than another variant's, at no significantly lower source-test score (fewer flips from a model that
    learnt less, e.g. one collapsed to one class, are no evidence). `points` is variant -> measure -> seed -> value."""
    out = []
    for other in others:
        text = (f"{cfg.label(ref)} relies less on the cue than {cfg.label(other)} ({task}, s = {cue:g}: fewer "
                "predictions flip without it, at no lower source-test score)")
        pair = [points.get(v, {}) for v in (ref, other)]
        flips = [p.get("cue_flip_rate") for p in pair]
        source = [p.get("source") for p in pair]
        if None in flips or None in source:
            out.append(Claim("sweep", text, None))
            continue
        column = f"{task}.cue{cue:g}"
        out.append(Claim("sweep", text, compare_values(*flips, ref, other, f"{column}.cue_flip_rate", level, resampled),
                         lower_is_better=True,
                         guard=compare_values(*source, ref, other, f"{column}.source", level, resampled),
                         short=f"cue-flip rate ({task}, s = {cue:g}, lower is the claim): vs {cfg.label(other)}"))
    return out


def adjusted(claims: Sequence[Claim]) -> list[float]:
    """Holm-adjusted p-values over every tested claim of the report (the family); NaN where a claim was not tested."""
    return holm([c.comparison.p_value if c.comparison is not None and c.comparison.tested else math.nan
                 for c in claims])


def difference_text(c: Comparison | None) -> str:
    if c is None:
        return ""
    if not c.tested:
        return f"{c.observed:+.2f}"
    return f"{c.observed:+.2f} [{c.low:+.2f}, {c.high:+.2f}]"


def value_resampling(shared_test: bool) -> str:
    """What a per-replicate measure's interval counts: the draws, or the seeds alone on a shared test set."""
    return REPLICATES_ONLY if shared_test else OWN_DRAWS


def is_shared(comparisons: Sequence[Comparison]) -> bool:
    return any(c.resampled == SHARED_TEST for c in comparisons)
