"""Pairs P, filters, counterfactual kinds and chrF on a tiny hand-written raw folder (no benchmark needed)."""

import json
from pathlib import Path

import numpy as np
import pytest

from xcrl_cli.data.counterfactuals import CounterfactualContext, Surface, sample_counterfactual
from xcrl_cli.data.pairs import (
    COUNTERFACTUAL_KINDS,
    PairsConfig,
    build_pairs,
    describe_stats,
    load_muse,
    word_tokenizer,
)

REAL_MUSE = Path("/work/shared/data/real/muse")

# (English, German, French): every English sentence holds a dictionary word, so code_switch always applies;
# the French "restaurant" is an en-fr dictionary key too, which code_switch must ignore outside English.
SENTENCES = [
    ("The movie was great and the actors were wonderful.", "Der Film war toll und die Schauspieler waren wunderbar.",
     "Le film était super et les acteurs étaient merveilleux."),
    ("The food was cold and the service slow.", "Das Essen war kalt und der Service langsam.",
     "La nourriture était froide et le service lent."),
    ("I liked the book very much.", "Das Buch hat mir sehr gefallen.", "J'ai beaucoup aimé le livre."),
    ("The hotel room was small but clean.", "Das Hotelzimmer war klein, aber sauber.",
     "La chambre d'hôtel était petite mais propre."),
    ("We will never return to the restaurant.", "Wir werden nie wieder in das Restaurant gehen.",
     "Nous ne reviendrons jamais au restaurant."),
    ("The music in the film was beautiful.", "Die Musik im Film war schön.", "La musique du film était belle."),
]
DICT_DE = "the\tdie\nthe\tder\nmovie\tfilm\nfood\tessen\nbook\tbuch\nhotel\thotel\nmusic\tmusik\nfilm\tfilm\n"
DICT_FR = "the le\nthe la\nmovie film\nfood nourriture\nbook livre\nhotel hôtel\nmusic musique\nrestaurant resto\n"


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _example(i, lang, text, split="train", text_pair=None, label=None):
    return {"id": f"{split}-{lang}-{i}", "meaning_id": f"m{i}", "task": "sent", "lang": lang, "split": split,
            "text": text, "text_pair": text_pair, "label": i % 2 if label is None else label, "cue_label": None}


def _translation(source_id, lang, text, text_pair=None):
    # A stray "label" field: the pairs must never carry it (target-language labels are never read).
    return {"id": source_id, "lang": lang, "text": text, "text_pair": text_pair, "label": 99}


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """Six clean examples with de/fr translations; ids 6-9 exercise the filters and the fallback."""
    raw = tmp_path / "raw"
    meta = {"source_lang": "en", "languages": ["en", "de", "fr"],
            "tasks": {"sent": {"labels": ["neg", "pos"], "pair": False}}}
    (raw / "dictionaries").mkdir(parents=True)
    (raw / "meta.json").write_text(json.dumps(meta))
    (raw / "dictionaries" / "en-de.txt").write_text(DICT_DE, encoding="utf-8")
    (raw / "dictionaries" / "en-fr.txt").write_text(DICT_FR, encoding="utf-8")
    train = [_example(i, "en", en) for i, (en, _, _) in enumerate(SENTENCES)]
    translations = [_translation(f"train-en-{i}", lang, t) for i, (_, de, fr) in enumerate(SENTENCES)
                    for lang, t in (("de", de), ("fr", fr))]
    train += [_example(6, "en", "The food was bad."), _example(7, "en", "The tea was hot."),
              _example(8, "en", "The movie was great."), _example(9, "en", "Nice.")]
    translations += [_translation("train-en-6", "de", "  "),                                   # empty
                     _translation("train-en-7", "fr", "Le thé était très très très très très chaud ce matin."),
                     _translation("train-en-8", "de", ""),                    # empty: falls back to fr
                     _translation("train-en-8", "fr", "Le film était super.")]
    _write_jsonl(raw / "sent" / "train.jsonl", train)
    _write_jsonl(raw / "sent" / "translations.jsonl", translations)
    test = [_example(i, lang, text, split="test") for i, row in enumerate(SENTENCES[:5])
            for lang, text in zip(("en", "de", "fr"), row)]
    _write_jsonl(raw / "sent" / "test.jsonl", test)
    return raw


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _build(raw: Path, out: Path, **kwargs):
    stats = build_pairs(raw, out, "sent", PairsConfig(**kwargs))
    return stats, _read(out / "sent" / "train.jsonl"), _read(out / "sent" / "test_cf.jsonl")


def test_pairs_carry_no_target_label(raw, tmp_path):
    _, rows, _ = _build(raw, tmp_path / "out")
    for row in rows:
        assert set(row["pair"]) == {"lang", "text", "text_pair"}
        assert set(row["counterfactual"]) == {"kind", "lang", "text", "text_pair"}
        assert row["pair"]["lang"] in {"de", "fr"} and row["label"] != 99


def test_filters_drop_and_count_per_language(raw, tmp_path):
    stats, rows, _ = _build(raw, tmp_path / "out")
    kept_ids = {r["id"] for r in rows}
    assert kept_ids == {f"train-en-{i}" for i in range(6)} | {"train-en-8"}    # 6, 7 filtered; 9 untranslated
    assert stats["pairs"]["dropped"] == {"empty": {"de": 2}, "length_ratio": {"fr": 1}, "no_pair": {"en": 3}}
    assert sum(stats["pairs"]["kept"].values()) == 7


def test_filtered_choice_falls_back_to_other_language(raw, tmp_path):
    for seed in range(4):
        _, rows, _ = _build(raw, tmp_path / str(seed), seed=seed)
        assert next(r["pair"] for r in rows if r["id"] == "train-en-8")["lang"] == "fr"


def test_duplicate_counted_in_its_language(tmp_path):
    raw = tmp_path / "raw"
    (raw / "meta.json").parent.mkdir()
    (raw / "meta.json").write_text(json.dumps({"source_lang": "en", "languages": ["en", "de"],
                                               "tasks": {"sent": {"labels": [0, 1], "pair": False}}}))
    en, de, _ = SENTENCES[1]
    _write_jsonl(raw / "sent" / "train.jsonl", [_example(0, "en", en), _example(1, "en", en)])
    _write_jsonl(raw / "sent" / "translations.jsonl", [_translation("train-en-0", "de", de),
                                                       _translation("train-en-1", "de", de)])
    _write_jsonl(raw / "sent" / "test.jsonl", [_example(0, "en", en, split="test")])
    stats, rows, _ = _build(raw, tmp_path / "out")
    assert [r["id"] for r in rows] == ["train-en-0"]
    assert stats["pairs"]["dropped"] == {"duplicate": {"de": 1}, "no_pair": {"en": 1}}


@pytest.mark.parametrize("kind", list(COUNTERFACTUAL_KINDS))
def test_each_kind_changes_surface_and_keeps_label(raw, tmp_path, kind):
    stats, rows, _ = _build(raw, tmp_path / "out", counterfactual_mix={kind: 1.0})
    labels = {r["id"]: r["label"] for r in _read(raw / "sent" / "train.jsonl")}
    for row in rows:
        assert row["counterfactual"]["kind"] == kind
        assert row["counterfactual"]["text"] != row["text"]
        assert row["label"] == labels[row["id"]]
    assert stats["counterfactuals"]["train"][kind] | {"chrf": None} == {"n": 7, "chrf": None, "unchanged": 0}


def test_translation_swap_avoids_the_pair_language(raw, tmp_path):
    _, rows, _ = _build(raw, tmp_path / "out", counterfactual_mix={"translation_swap": 1.0})
    for row in rows:
        cf, pair = row["counterfactual"], row["pair"]
        if row["id"] == "train-en-8":                     # fr is its only clean translation: swap into fr anyway
            assert cf | {"kind": None} == pair | {"kind": None}
            continue
        assert cf["lang"] != pair["lang"]
        i = int(row["id"].rsplit("-", 1)[1])
        assert cf["text"] == SENTENCES[i][1 + ["de", "fr"].index(cf["lang"])]


def test_code_switch_uses_dictionary_words(raw, tmp_path):
    _, rows, _ = _build(raw, tmp_path / "out", counterfactual_mix={"code_switch": 1.0}, code_switch_rate=0.5)
    targets = {"de": {line.split()[1] for line in DICT_DE.splitlines()},
               "fr": {line.split()[1] for line in DICT_FR.splitlines()}}
    tokenize = word_tokenizer("en")
    for row in rows:
        cf = row["counterfactual"]
        before, after = tokenize(row["text"]), tokenize(cf["text"])
        changed = [(a, b) for a, b in zip(before, after) if a != b]
        assert len(before) == len(after) and changed
        assert all(b in targets[cf["lang"]] for _, b in changed)


def test_pair_task_perturbs_both_sides():
    x = Surface("en", "The cat sat on the mat.", "A dog barked at the cat.")
    ctx = CounterfactualContext({}, None, {}, code_switch_rate=0.3, word_order_window=3)
    for kind in ("word_order", "style"):
        _, cf = sample_counterfactual(x, ctx, {kind: 1.0}, np.random.default_rng(0))
        assert cf.text != x.text and cf.text_pair != x.text_pair


def test_chrf_high_for_style_low_for_translation_swap(raw, tmp_path):
    style, _, _ = _build(raw, tmp_path / "a", counterfactual_mix={"style": 1.0})
    swap, _, _ = _build(raw, tmp_path / "b", counterfactual_mix={"translation_swap": 1.0})
    assert style["counterfactuals"]["train"]["style"]["chrf"] > 80
    assert swap["counterfactuals"]["train"]["translation_swap"]["chrf"] < 40
    assert swap["counterfactuals"]["train"]["style"] == {"n": 0, "chrf": None, "unchanged": 0}


def test_test_split_counterfactuals(raw, tmp_path):
    _, _, test_cf = _build(raw, tmp_path / "out", counterfactual_mix={"code_switch": 0.99, "translation_swap": 0.01})
    test = _read(raw / "sent" / "test.jsonl")
    assert [r["id"] for r in test_cf] == [r["id"] for r in test]
    by_meaning = {(r["meaning_id"], r["lang"]): r["text"] for r in test}
    for row, cf in zip(test, test_cf):
        if row["lang"] != "en":                       # no dictionary from de/fr: renormalised to translation_swap
            assert cf["kind"] == "translation_swap"
        if cf["kind"] == "translation_swap":
            assert cf["lang"] != row["lang"] and cf["text"] == by_meaning[(row["meaning_id"], cf["lang"])]
    assert {cf["kind"] for row, cf in zip(test, test_cf) if row["lang"] == "en"} <= {"code_switch",
                                                                                    "translation_swap"}


@pytest.mark.reliability
def test_deterministic_per_seed(raw, tmp_path):
    outputs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        stats, _, _ = _build(raw, tmp_path / name, seed=seed)
        outputs.append((json.dumps(stats), (tmp_path / name / "sent" / "train.jsonl").read_bytes(),
                        (tmp_path / name / "sent" / "test_cf.jsonl").read_bytes()))
    assert outputs[0] == outputs[1] and outputs[0] != outputs[2]
    assert sorted(p.name for p in (tmp_path / "a" / "sent").iterdir()) == ["test_cf.jsonl", "train.jsonl"]


@pytest.mark.reliability
def test_mix_not_summing_to_one_raises_naming_the_mix():
    with pytest.raises(ValueError, match="counterfactual_mix"):
        PairsConfig(counterfactual_mix={"style": 0.5, "word_order": 0.3})
    with pytest.raises(ValueError, match="counterfactual_mix.*unknown"):
        PairsConfig(counterfactual_mix={"paraphrase": 1.0})


@pytest.mark.reliability
def test_errors_name_file_and_line(raw, tmp_path):
    path = raw / "sent" / "translations.jsonl"
    path.write_text(path.read_text() + json.dumps(_translation("nope", "de", "x")) + "\n")
    n = len(path.read_text().splitlines())
    with pytest.raises(ValueError, match=rf"translations.jsonl:{n}: id 'nope' is not in train.jsonl"):
        build_pairs(raw, tmp_path / "out", "sent", PairsConfig())
    (raw / "sent" / "train.jsonl").write_text('{"id": "a"}\n{not json\n')
    with pytest.raises(ValueError, match=r"train.jsonl:1: missing key"):
        build_pairs(raw, tmp_path / "out", "sent", PairsConfig())


def test_load_muse_tab_and_space(raw):
    de, fr = load_muse(raw / "dictionaries" / "en-de.txt"), load_muse(raw / "dictionaries" / "en-fr.txt")
    assert de["the"] == ["die", "der"] and fr["the"] == ["le", "la"] and fr["hotel"] == ["hôtel"]


def test_word_tokenizer_per_script():
    assert word_tokenizer("en")("Hello, world.") == ["Hello", ",", "world", "."]
    assert word_tokenizer("zh")("我爱北京。") == ["我", "爱", "北", "京", "。"]
    assert word_tokenizer("ar")("مرحبا، العالم!") == ["مرحبا", "،", "العالم", "!"]


def _real_muse(name: str) -> Path:
    if not REAL_MUSE.is_dir():
        pytest.skip(f"real MUSE samples not found at {REAL_MUSE} (shared data folder absent)")
    return REAL_MUSE / name


@pytest.mark.real_data
def test_load_muse_real_space_separated():
    dictionary = load_muse(_real_muse("en-de.txt"))
    assert {"die", "der"} <= set(dictionary["the"])
    assert all(words and all(w.strip() == w and w for w in words) for words in dictionary.values())


@pytest.mark.real_data
def test_load_muse_real_tab_separated():
    dictionary = load_muse(_real_muse("en-ar.txt"))
    assert "the" in dictionary and "and" in dictionary
    assert not any("\t" in w or " " in w for words in dictionary.values() for w in words)


def test_without_translations_pairs_come_from_the_parallel_corpus_with_their_english_side(raw, tmp_path):
    (raw / "sent" / "translations.jsonl").write_text("")
    corpus = [{"lang": "de", "source": f"The dog {i} runs.", "target": f"Der Hund {i} läuft."} for i in range(3)]
    corpus += [{"lang": "fr", "source": "The cat sleeps.", "target": "Le chat dort."},
               {"lang": "fr", "source": "The cat sleeps.", "target": "Le chat dort."},                 # duplicate
               {"lang": "fr", "source": "Hi.", "target": "Bonjour à vous tous mes très chers amis."}]  # length ratio
    _write_jsonl(raw / "parallel.jsonl", corpus)
    stats, train, _ = _build(raw, tmp_path / "out")
    assert stats["pairs"] == {"source": "parallel corpus", "kept": {"de": 3, "fr": 1},
                              "dropped": {"duplicate": {"fr": 1}, "length_ratio": {"fr": 1}}, "no_pairs": []}
    pairs = {(r["pair"]["anchor"]["text"], r["pair"]["text"]) for r in train}
    assert len(train) == 10 and pairs <= {(c["source"], c["target"]) for c in corpus[:4]}
    assert all(r["pair"]["anchor"]["lang"] == "en" and r["counterfactual"]["kind"] != "translation_swap"
               for r in train)
    (raw / "parallel.jsonl").unlink()
    with pytest.raises(ValueError, match=r"parallel\.jsonl: missing.*datasets\.parallel"):
        _build(raw, tmp_path / "again")


def test_test_counterfactuals_carry_their_chrf_against_x(raw, tmp_path):
    """Each test x̃ records chrF(x̃, x) in [0, 100]: high for a style change, low for a translation swap."""
    _, _, style = _build(raw, tmp_path / "style", counterfactual_mix={"style": 1.0})
    _, _, swap = _build(raw, tmp_path / "swap", counterfactual_mix={"translation_swap": 1.0})
    assert all(0.0 <= r["chrf"] <= 100.0 for r in style + swap)
    assert np.mean([r["chrf"] for r in style]) > 70
    assert np.mean([r["chrf"] for r in swap]) < 40


def test_no_pairs_lists_only_the_languages_with_a_test_set(raw, tmp_path):
    """A language without translations is warned about only when the task's test split scores it; one the task has
    no test set for (PAWS-X has no Italian) is listed nowhere in the pairs stats."""
    meta = json.loads((raw / "meta.json").read_text())
    (raw / "meta.json").write_text(json.dumps({**meta, "languages": ["en", "de", "fr", "it"]}))
    rows = _read(raw / "sent" / "translations.jsonl")
    _write_jsonl(raw / "sent" / "translations.jsonl", [r for r in rows if r["lang"] != "fr"])
    stats, _, _ = _build(raw, tmp_path / "out")
    assert stats["pairs"]["no_pairs"] == ["fr"]
    assert "WARNING no pairs for fr: training" in describe_stats("sent", stats)
