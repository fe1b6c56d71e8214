"""The evaluation metrics: task scores per language and the representation metrics of Table 4."""

from __future__ import annotations

import numpy as np


def task_scores(y_true: np.ndarray, y_pred: np.ndarray, n_labels: int) -> dict[str, float]:
    """Accuracy, macro-F1 and (for binary tasks, positive class 1 as PAWS-X's paraphrase) F1.

    A class's F1 is 2·TP / (2·TP + FP + FN) = 2·TP / (|gold c| + |predicted c|), and 0 for a class neither in the
    gold labels nor predicted (scikit-learn's `zero_division=0`); macro-F1 averages every class of the task. Counted
    here rather than by scikit-learn, whose argument checks took 0.1 s of an evaluated run's 1.5 s.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = np.arange(n_labels)[:, None]
    hits = ((y_true == classes) & (y_pred == classes)).sum(1)
    sizes = (y_true == classes).sum(1) + (y_pred == classes).sum(1)
    f1 = np.divide(2.0 * hits, sizes, out=np.zeros(n_labels), where=sizes > 0)
    scores = {"accuracy": float(np.mean(y_true == y_pred)), "macro_f1": float(f1.mean())}
    if n_labels == 2:
        scores["f1"] = float(f1[1])
    return scores


def split_by_meaning(meaning_ids: list[str], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of two halves of the examples, split by meaning so no meaning is on both sides."""
    unique = sorted(set(meaning_ids))
    rng = np.random.default_rng(seed)
    first = set(rng.permutation(unique)[: len(unique) // 2].tolist())
    mask = np.array([m in first for m in meaning_ids])
    return mask, ~mask


def _probe_accuracy(x: np.ndarray, target: np.ndarray, meaning_ids: list[str], seed: int,
                    max_iter: int) -> float | None:
    """Accuracy of a standardised logistic-regression probe for `target`, trained on one half of the meanings and
    scored on the other; None when the training half holds fewer than two classes (tiny samples)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    train, test = split_by_meaning(meaning_ids, seed)
    if len(set(target[train])) < 2 or not test.any():
        return None
    scaler = StandardScaler().fit(x[train])
    probe = LogisticRegression(max_iter=max_iter).fit(scaler.transform(x[train]), target[train])
    return float(probe.score(scaler.transform(x[test]), target[test]))


def language_id_accuracy(x: np.ndarray, langs: np.ndarray, meaning_ids: list[str], seed: int,
                         max_iter: int) -> float | None:
    """Accuracy of a language probe (split by meaning, so it cannot match translations it has seen).

    Lower is better on z_inv (chance = 1 / number of languages): the space should not tell languages apart.
    """
    return _probe_accuracy(x, langs, meaning_ids, seed, max_iter)


def task_probe_accuracy(x: np.ndarray, labels: np.ndarray, meaning_ids: list[str], seed: int,
                        max_iter: int) -> float | None:
    """Accuracy of a task-label probe on the same split, over every language: how linearly a space holds the task.

    High on z_task and r, and on z_inv if the invariant part carries the meaning; z_spe should hold little of it.
    """
    return _probe_accuracy(x, labels, meaning_ids, seed, max_iter)


def clustering_purity(x: np.ndarray, meaning_ids: list[str], langs: np.ndarray, n_meanings: int,
                      seed: int) -> float | None:
    """k-means (k = meanings sampled) on the renderings of `n_meanings` meanings in every language; purity against
    the meaning id: Σ_clusters max_meaning |cluster ∩ meaning| / n. High when translations land together.

    Only meanings rendered in at least two languages count: a test set that is not parallel (MLDoc, sentiment) gives
    every example its own meaning, where purity would be 1 by construction. None when fewer than two such meanings.
    """
    from sklearn.cluster import KMeans

    langs_of: dict[str, set] = {}
    for m, lang in zip(meaning_ids, langs):
        langs_of.setdefault(m, set()).add(lang)
    unique = sorted(m for m, ls in langs_of.items() if len(ls) >= 2)
    if len(unique) < 2:
        return None
    rng = np.random.default_rng(seed)
    chosen = set(rng.permutation(unique)[: min(n_meanings, len(unique))].tolist())
    rows = np.array([m in chosen for m in meaning_ids])
    labels = np.array(meaning_ids)[rows]
    k = len(chosen)
    # One k-means++ seeding, sklearn's default: four cost 0.2 s more per evaluated run (a tenth of its evaluation)
    clusters = KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(x[rows])
    hits = sum(np.unique(labels[clusters == c], return_counts=True)[1].max() for c in np.unique(clusters))
    return float(hits / len(labels))


def counterfactual_consistency(pred: np.ndarray, pred_cf: np.ndarray) -> float:
    """Share of examples whose prediction on x̃ equals the prediction on x."""
    return float(np.mean(pred == pred_cf))
