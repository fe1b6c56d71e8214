"""What a model that learnt nothing scores: the reference row of every report table and the `chance` of
health.json, computed from the gold labels of the test predictions, never typed in.

The reference is the best constant prediction (one class for every example of a task, as a model that ignores its
input predicts) scored with the cell's own metric on the cell's own test sets:
- accuracy: the majority class, scoring its share p;
- binary F1 of class 1 (PAWS-X's paraphrase): always 1 has precision p₁ and recall 1, so F1 = 2p₁ / (1 + p₁)
  (2/3 on a balanced set); always 0 scores 0;
- macro-F1 over K classes: always k gives class k the F1 2p_k / (1 + p_k) and every other class 0, so the best is
  max_k 2p_k / (1 + p_k) / K (0.1 with four balanced classes).
A cell averages over languages, so the class is chosen once per task, the one whose average over the cell's
languages is highest. Scores come from `metrics.task_scores`, the function that scores the models, so the reference
and the cells cannot disagree on what a metric means.

The language-ID probe's reference is the majority-language share of the test sets it is trained and scored on
(every language of a task's test set; the probe is scored on half of the meanings, whose language shares are
those of the whole set up to the split), averaged over tasks as the probe's cells are; the task probe's is each
task's majority-class share, every language pooled, averaged over tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .metrics import task_scores


@dataclass(frozen=True)
class GoldLabels:
    """The gold labels of each task's test set per language, and each task's number of classes."""

    gold: Mapping[str, Mapping[str, np.ndarray]]  # task -> lang -> gold labels, one per test example
    n_labels: Mapping[str, int]

    def constant(self, task: str, metric: str, langs: Sequence[str]) -> float | None:
        """The best constant prediction's `metric` (a fraction), averaged over those of `langs` the task's test set
        has; None when it has none of them (or the task was not run)."""
        by_lang = self.gold.get(task, {})
        present = [lang for lang in langs if lang in by_lang]
        if not present:
            return None
        k = self.n_labels[task]
        per_class = [np.mean([task_scores(by_lang[lang], np.full(len(by_lang[lang]), c), k)[metric]
                              for lang in present]) for c in range(k)]
        return float(max(per_class))

    def majority_class(self, task: str) -> float | None:
        """The majority class's share of the task's test set, every language pooled (a task probe's chance)."""
        by_lang = self.gold.get(task)
        if not by_lang:
            return None
        return float(np.bincount(np.concatenate(list(by_lang.values())), minlength=self.n_labels[task]).max()
                     / sum(len(labels) for labels in by_lang.values()))

    def majority_language(self) -> float | None:
        """The majority-language share of each task's test set (every language), averaged over tasks."""
        shares = []
        for by_lang in self.gold.values():
            sizes = [len(labels) for labels in by_lang.values()]
            shares.append(max(sizes) / sum(sizes))
        return float(np.mean(shares)) if shares else None


def gold_labels(predictions: Iterable[Mapping], n_labels: Mapping[str, int]) -> GoldLabels:
    """The gold labels of the tasks in `n_labels`, from test predictions (`task`, `lang`, `id`, `label` rows): each id
    counted once, however many variants and seeds predicted it."""
    by_id: dict[str, dict[str, dict[str, int]]] = {}
    for row in predictions:
        if row["task"] in n_labels:
            by_id.setdefault(row["task"], {}).setdefault(row["lang"], {}).setdefault(row["id"], int(row["label"]))
    gold = {task: {lang: np.array([ids[i] for i in sorted(ids)]) for lang, ids in sorted(by_lang.items())}
            for task, by_lang in by_id.items()}
    return GoldLabels(gold, dict(n_labels))


def accuracy_columns(task_metric: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(column, task, metric) of the accuracy the report shows beside each binary-F1 task (F1 of one class rewards
    always predicting it; accuracy does not); not part of the Average."""
    return [(f"{task}_accuracy", task, "accuracy") for task, metric in task_metric.items() if metric == "f1"]


def reference_cells(labels: GoldLabels, task_metric: Mapping[str, str],
                    langs: Sequence[str]) -> dict[str, float | None]:
    """The best constant prediction's score in each performance column (tasks, accuracy beside F1, `average`) over
    `langs`, in percent; the average is over the tasks with test labels, as the measured one is over tasks run."""
    cells = {task: labels.constant(task, metric, langs) for task, metric in task_metric.items()}
    run = [v for v in cells.values() if v is not None]
    cells.update({column: labels.constant(task, metric, langs)
                  for column, task, metric in accuracy_columns(task_metric)})
    cells["average"] = float(np.mean(run)) if run else None
    return {c: None if v is None else 100.0 * v for c, v in cells.items()}


def table4_reference(labels: GoldLabels, task_metric: Mapping[str, str],
                     low_resource: Sequence[str]) -> dict[str, float | None]:
    """Table 4's chance, in percent, where a constant reference means something: the language probe's majority
    language, and the constant predictor's low-resource average; none for cluster purity and CF consistency."""
    majority = labels.majority_language()
    return {"lang_id_acc": None if majority is None else 100.0 * majority, "cluster_purity": None,
            "cf_consistency": None, "low_resource_avg": reference_cells(labels, task_metric, low_resource)["average"]}
