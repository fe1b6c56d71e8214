"""Representation metrics on test sets that are parallel (XNLI, PAWS-X, embedded) and that are not (MLDoc, tweets)."""

from __future__ import annotations

import numpy as np

from xcrl_cli.evaluation.metrics import clustering_purity, language_id_accuracy, task_probe_accuracy


def _parallel(n_meanings: int = 6, langs=("en", "de", "fr")):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(n_meanings, 4)) * 10
    meanings = [f"m{i}" for i in range(n_meanings) for _ in langs]
    lang = np.array([lg for _ in range(n_meanings) for lg in langs])
    x = np.repeat(centres, len(langs), axis=0) + rng.normal(size=(n_meanings * len(langs), 4)) * 0.01
    return x, meanings, lang


def test_purity_is_one_when_translations_coincide():
    x, meanings, langs = _parallel()
    assert clustering_purity(x, meanings, langs, n_meanings=6, seed=0) == 1.0


def test_purity_is_undefined_on_a_test_set_that_is_not_parallel():
    x = np.random.default_rng(0).normal(size=(12, 4))
    meanings = [f"m{i}" for i in range(12)]  # every example its own meaning, as in MLDoc
    langs = np.array(["en", "de", "fr"] * 4)
    assert clustering_purity(x, meanings, langs, n_meanings=6, seed=0) is None


def test_language_id_probe_needs_two_languages_in_its_training_half():
    x, meanings, _ = _parallel()
    assert language_id_accuracy(x, np.array(["en"] * len(meanings)), meanings, seed=0, max_iter=100) is None
    x, meanings, langs = _parallel(n_meanings=1)
    assert language_id_accuracy(x, langs, meanings, seed=0, max_iter=100) is None  # one meaning: no held-out half


def test_task_probe_reads_a_label_the_space_holds_and_not_one_it_lacks():
    rng = np.random.default_rng(1)
    n = 400
    labels = rng.integers(0, 2, size=n)
    meanings = [f"m{i}" for i in range(n)]
    holds = np.c_[labels * 4.0 + rng.normal(size=n), rng.normal(size=(n, 3))]
    lacks = rng.normal(size=(n, 4))
    assert task_probe_accuracy(holds, labels, meanings, seed=0, max_iter=200) > 0.95
    assert abs(task_probe_accuracy(lacks, labels, meanings, seed=0, max_iter=200) - 0.5) < 0.1
    assert task_probe_accuracy(holds, np.zeros(n, dtype=int), meanings, seed=0, max_iter=200) is None
