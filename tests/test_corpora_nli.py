"""XNLI and PAWS-X loaders: the real samples in ../shared/data/real (read in place), tiny files written here for the
error paths, and in-memory `datasets.Dataset`s standing in for the Hub (nothing is downloaded)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import real_dir

from xcrl_cli.data.corpora import hub, pawsx, xnli
from xcrl_cli.data.corpora.schema import DatasetUnavailable
from xcrl_cli.data.corpora.tsv import read_rows

XNLI_LANGS = ["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]
PAWSX_LANGS = ["de", "en", "es", "fr", "ja", "ko", "zh"]
XNLI_HEADER = ("language\tgold_label\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
               "sentence2_parse\tsentence1\tsentence2\tpromptID\tpairID\tgenre")


def per_split_lang(data) -> Counter:
    return Counter((split, row["lang"]) for split, rows in data.rows.items() for row in rows)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def tiny_xnli(root: Path, dev_rows: list[str] | None = None, en_train: str | None = None) -> Path:
    """An XNLI folder with the original layout: en/de dev and test, and XNLI-MT train in en and de."""
    rows = dev_rows or ["en\tneutral\t\t\t\t\tA man sleeps.\tSomeone rests.\t1\t7\tfiction",
                        "de\tneutral\t\t\t\t\tEin Mann schläft.\tJemand ruht.\t1\t7\tfiction"]
    for split in ("dev", "test"):
        write(root / "XNLI-1.0" / f"xnli.{split}.tsv", "\n".join([XNLI_HEADER, *rows]) + "\n")
    mt = root / "XNLI-MT-1.0" / "multinli"
    write(mt / "multinli.train.en.tsv", en_train or "premise\thypo\tlabel\nA cat.\tAn animal.\tentailment\n"
          "A dog.\tA cat.\tcontradictory\n\tEmpty premise.\tneutral\n")
    write(mt / "multinli.train.de.tsv", "premise\thypo\tlabel\nEine Katze.\tEin Tier.\tentailment\n"
          "Ein Hund.\t\tcontradictory\nLeer.\tLeer.\tneutral\n")
    return root


# --- XNLI, real samples ----------------------------------------------------------------------------------------

@pytest.mark.real_data
def test_xnli_real_rows_per_split_and_language():
    data = xnli.load(real_dir("xnli"), None, [*XNLI_LANGS, "it"], "en")
    assert data.labels == ("entailment", "neutral", "contradiction") and data.pair
    assert data.languages == XNLI_LANGS  # "it" is not an XNLI language
    counts = per_split_lang(data)
    assert counts == Counter({("train", "en"): 4, **{(s, lang): 1 for s in ("dev", "test") for lang in XNLI_LANGS}})
    assert [r["label"] for r in data.rows["train"]] == [1, 0, 0, 0]  # neutral, then entailment x3
    assert {r["label"] for r in data.rows["dev"]} == {1} and {r["label"] for r in data.rows["test"]} == {2}
    assert {r["meaning_id"] for r in data.rows["dev"]} == {"xnli-dev-1"}
    assert {r["meaning_id"] for r in data.rows["test"]} == {"xnli-test-4"}
    en_dev = next(r for r in data.rows["dev"] if r["lang"] == "en")
    assert (en_dev["text"], en_dev["id"]) == ("And he said, Mama, I'm home.", "xnli-dev-1-en")
    assert data.skipped == Counter()


@pytest.mark.real_data
def test_xnli_real_translations_point_at_english_train_rows():
    data = xnli.load(real_dir("xnli"), None, XNLI_LANGS, "en")
    train_ids = [r["id"] for r in data.rows["train"]]
    assert train_ids == [f"xnli-train-{i}-en" for i in range(4)]
    assert Counter(t["lang"] for t in data.translations) == Counter({lang: 4 for lang in XNLI_LANGS if lang != "en"})
    assert {t["id"] for t in data.translations} == set(train_ids)
    de = [t for t in data.translations if t["lang"] == "de"]
    assert de[0]["text"].startswith("Konzeptionell cream abschöpfen") and "label" not in de[0]


@pytest.mark.real_data
def test_xnli_subset_of_languages():
    data = xnli.load(real_dir("xnli"), None, ["en", "fr", "it"], "en")
    assert per_split_lang(data) == Counter({("train", "en"): 4, ("dev", "en"): 1, ("dev", "fr"): 1,
                                            ("test", "en"): 1, ("test", "fr"): 1})
    assert {t["lang"] for t in data.translations} == {"fr"}


@pytest.mark.real_data
def test_xnli_falls_back_to_multinli_without_xnli_mt(tmp_path):
    (tmp_path / "XNLI-1.0").symlink_to(real_dir("xnli") / "XNLI-1.0")
    (tmp_path / "multinli_1.0").symlink_to(real_dir("multinli") / "multinli_1.0")
    data = xnli.load(tmp_path, None, ["en", "de"], "en")
    train = data.rows["train"]
    assert [r["label"] for r in train] == [1, 0, 0, 0] and data.translations == []
    assert train[0]["text"] == "Conceptually cream skimming has two basic dimensions - product and geography."
    assert train[3]["text_pair"] == "This information belongs to them."  # the 11-field row (trailing columns cut)
    assert per_split_lang(data)[("dev", "de")] == 1


def test_xnli_multinli_pairs_without_gold_label_are_skipped(tmp_path):
    header = ("gold_label\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\t"
              "sentence1\tsentence2\tpromptID\tpairID")
    write(tmp_path / "multinli_1.0" / "multinli_1.0_train.txt",
          f"{header}\n-\t\t\t\t\tA.\tB.\t1\t1n\ncontradiction\t\t\t\t\tC.\tD.\t2\t2c")
    tiny_xnli(tmp_path)
    shutil.rmtree(tmp_path / "XNLI-MT-1.0")
    data = xnli.load(tmp_path, None, ["en"], "en")
    assert data.skipped == Counter({"no gold label": 1})
    assert [(r["id"], r["label"]) for r in data.rows["train"]] == [("xnli-train-1-en", 2)]


# --- XNLI, tiny files ------------------------------------------------------------------------------------------

def test_xnli_spelling_empty_text_and_line_alignment(tmp_path):
    data = xnli.load(tiny_xnli(tmp_path), None, ["en", "de"], "en")
    assert [(r["id"], r["label"]) for r in data.rows["train"]] == [("xnli-train-0-en", 0), ("xnli-train-1-en", 2)]
    assert [(t["id"], t["text"]) for t in data.translations] == [("xnli-train-0-en", "Eine Katze.")]
    # English row 2, German row 1; German row 2 translates the skipped English row 2
    assert data.skipped == Counter({"empty text": 2, "its training row is not kept": 1})
    assert {r["meaning_id"] for r in data.rows["dev"]} == {"xnli-dev-7"}


@pytest.mark.reliability
def test_xnli_bad_label_names_file_line_value_and_valid_labels(tmp_path):
    tiny_xnli(tmp_path, dev_rows=["en\tneutral\t\t\t\t\tA.\tB.\t1\t1\tx", "en\tmaybe\t\t\t\t\tA.\tB.\t1\t2\tx"])
    with pytest.raises(ValueError, match=r"xnli\.dev\.tsv:3: label 'maybe'.*entailment.*contradiction"):
        xnli.load(tmp_path, None, ["en"], "en")


@pytest.mark.reliability
def test_xnli_non_utf8_bytes_name_file_and_line(tmp_path):
    tiny_xnli(tmp_path, en_train=b"premise\thypo\tlabel\nA.\tB.\tneutral\nCaf\xe9.\tB.\tneutral\n")
    with pytest.raises(ValueError, match=r"multinli\.train\.en\.tsv:3: byte 0xe9 .*not valid UTF-8"):
        xnli.load(tmp_path, None, ["en"], "en")


@pytest.mark.parametrize("loader, url, key", [
    (xnli, "https://dl.fbaipublicfiles.com/XNLI/XNLI-1.0.zip", "datasets.xnli.local"),
    (pawsx, "https://storage.googleapis.com/paws/pawsx/x-final.tar.gz", "datasets.pawsx.local"),
])
def test_missing_folder_or_file_says_where_to_get_the_data(tmp_path, loader, url, key):
    for local in (tmp_path / "absent", tmp_path):  # no folder; a folder without the files
        with pytest.raises(DatasetUnavailable) as err:
            loader.load(local, None, ["en", "de"], "en")
        assert str(local) in str(err.value) and url in str(err.value) and key in str(err.value)
    with pytest.raises(DatasetUnavailable, match="neither"):
        loader.load(None, None, ["en"], "en")


def test_pawsx_missing_file_is_named(tmp_path):
    write(tmp_path / "x-final" / "en" / "train.tsv", "id\tsentence1\tsentence2\tlabel\n")
    with pytest.raises(DatasetUnavailable, match=r"x-final/en/dev_2k\.tsv.*x-final/en/test_2k\.tsv"):
        pawsx.load(tmp_path, None, ["en"], "en")


# --- PAWS-X, real samples --------------------------------------------------------------------------------------

@pytest.mark.real_data
@pytest.mark.parametrize("folder", ["pawsx", "pawsx/x-final"])
def test_pawsx_real_rows_per_split_and_language(folder):
    data = pawsx.load(real_dir(folder), None, [*PAWSX_LANGS, "it"], "en")
    assert data.labels == ("different", "paraphrase") and data.pair
    assert data.languages == PAWSX_LANGS
    expected = {("train", "en"): 4, ("dev", "de"): 400 - 11, ("test", "de"): 400 - 2}
    expected |= {(s, lang): 4 for s in ("dev", "test") for lang in PAWSX_LANGS if lang != "de"}
    assert per_split_lang(data) == Counter(expected)
    assert data.skipped == Counter({"NS placeholder": 13})
    de_dev = [r for r in data.rows["dev"] if r["lang"] == "de"]
    assert Counter(r["label"] for r in de_dev) == Counter({0: 216, 1: 173})
    assert not any("NS" in (r["text"], r["text_pair"]) for rows in data.rows.values() for r in rows)


@pytest.mark.real_data
def test_pawsx_real_ids_labels_and_translations():
    data = pawsx.load(real_dir("pawsx"), None, PAWSX_LANGS, "en")
    assert [(r["id"], r["label"]) for r in data.rows["train"]] == [
        ("pawsx-train-1-en", 0), ("pawsx-train-2-en", 1), ("pawsx-train-3-en", 0), ("pawsx-train-4-en", 1)]
    test_en = {r["meaning_id"]: r["label"] for r in data.rows["test"] if r["lang"] == "en"}
    assert test_en == {"pawsx-test-10": 1, "pawsx-test-12": 0, "pawsx-test-20": 0, "pawsx-test-26": 1}
    assert {r["label"] for r in data.rows["test"] if r["meaning_id"] == "pawsx-test-12"} == {0}
    assert Counter(t["lang"] for t in data.translations) == Counter({lang: 4 for lang in PAWSX_LANGS if lang != "en"})
    assert {t["id"] for t in data.translations} == {r["id"] for r in data.rows["train"]}


# --- PAWS-X, tiny files ----------------------------------------------------------------------------------------

def tiny_pawsx(root: Path, de_dev: str = "4\tEin Satz.\tNoch einer.\t1") -> Path:
    header = "id\tsentence1\tsentence2\tlabel\n"
    write(root / "en" / "train.tsv", header + "1\tA.\tB.\t0\n2\tC.\tD.\t1\n3\tE.\t\t1")
    write(root / "de" / "translated_train.tsv", header + "1\tA-de.\tB-de.\t0\n2\tNS\tD-de.\t1\n9\tX.\tY.\t0")
    for lang, dev in [("en", "4\tA sentence.\tAnother.\t1"), ("de", de_dev)]:
        write(root / lang / "dev_2k.tsv", header + dev)
        write(root / lang / "test_2k.tsv", header + "5\tT.\tU.\t0")
    return root


def test_pawsx_translations_match_by_id_and_skip_placeholders(tmp_path):
    data = pawsx.load(tiny_pawsx(tmp_path), None, ["en", "de"], "en")
    assert [r["id"] for r in data.rows["train"]] == ["pawsx-train-1-en", "pawsx-train-2-en"]
    assert [(t["id"], t["text"]) for t in data.translations] == [("pawsx-train-1-en", "A-de.")]  # id 9: not in en
    assert data.skipped == Counter({"empty text": 1, "NS placeholder": 1, "its training row is not kept": 1})


@pytest.mark.reliability
def test_pawsx_bad_label_names_file_line_value_and_valid_labels(tmp_path):
    tiny_pawsx(tmp_path, de_dev="4\tEin Satz.\tNoch einer.\t1\n6\tS.\tT.\t2")
    with pytest.raises(ValueError, match=r"de/dev_2k\.tsv:3: label '2'.*0 \(different\), 1 \(paraphrase\)"):
        pawsx.load(tmp_path, None, ["en", "de"], "en")


@pytest.mark.reliability
def test_pawsx_non_utf8_bytes_name_file_and_line(tmp_path):
    tiny_pawsx(tmp_path)
    write(tmp_path / "de" / "dev_2k.tsv", b"id\tsentence1\tsentence2\tlabel\n4\tA.\tB.\t1\n6\tS\xfc\xdf.\tT.\t0")
    with pytest.raises(ValueError, match=r"de/dev_2k\.tsv:3: byte 0xfc"):
        pawsx.load(tmp_path, None, ["en", "de"], "en")


# --- the Hub, in memory ----------------------------------------------------------------------------------------

def fake_hub(monkeypatch, splits: dict) -> list:
    """Serve {(config, split): columns} as in-memory Datasets in place of the Hub; returns the calls made."""
    import datasets

    calls = []
    monkeypatch.setattr(hub, "probe", lambda repo, name, how_to_local: calls.append(("probe", repo, name)))

    def load_split(repo, config, split):
        calls.append((repo, config, split))
        return datasets.Dataset.from_dict(splits[config, split])

    monkeypatch.setattr(hub, "load_split", load_split)
    return calls


def nli(premises: list[str], labels: list[int]) -> dict:
    return {"premise": premises, "hypothesis": [p + " (h)" for p in premises], "label": labels}


def all_languages(premises: dict[str, list[str]], labels: list[int]) -> dict:
    """Columns of facebook/xnli's `all_languages` config: one row per pair, every language's rendering in it."""
    langs = sorted(premises)
    rows = [{lang: premises[lang][i] for lang in langs} for i in range(len(labels))]
    return {"premise": rows,
            "hypothesis": [{"language": langs, "translation": [row[lang] + " (h)" for lang in langs]} for row in rows],
            "label": labels}


def test_xnli_hub_conversion(monkeypatch):
    calls = fake_hub(monkeypatch, {
        ("all_languages", "train"): all_languages({"en": ["e0", "", "e2"], "de": ["d0", "d1", "d2"]}, [0, 1, 2]),
        ("all_languages", "validation"): all_languages({"en": ["ev"], "de": ["dv"]}, [1]),
        ("all_languages", "test"): all_languages({"en": ["et0", "et1"], "de": ["dt0", "dt1"]}, [2, 0]),
    })
    data = xnli.load(None, "facebook/xnli", ["de", "en", "it"], "en")
    assert calls[0] == ("probe", "facebook/xnli", "XNLI")
    assert {config for _, config, _ in calls[1:]} == {"all_languages"}
    assert [(r["id"], r["label"]) for r in data.rows["train"]] == [("xnli-train-0-en", 0), ("xnli-train-2-en", 2)]
    assert [(t["id"], t["lang"], t["text"], t["text_pair"]) for t in data.translations] == [
        ("xnli-train-0-en", "de", "d0", "d0 (h)"), ("xnli-train-2-en", "de", "d2", "d2 (h)")]
    assert [(r["text"], r["meaning_id"]) for r in data.rows["dev"]] == [("dv", "xnli-dev-0"), ("ev", "xnli-dev-0")]
    assert [r["text"] for r in data.rows["test"]] == ["dt0", "dt1", "et0", "et1"]
    assert [r["meaning_id"] for r in data.rows["test"]] == ["xnli-test-0", "xnli-test-1"] * 2
    assert data.skipped == Counter({"empty text": 1, "its training row is not kept": 1})  # d1 translates row 1
    assert data.tally.absent == {"it": "not in XNLI"}


def test_xnli_hub_bad_label_names_repo_config_split_and_row(monkeypatch):
    fake_hub(monkeypatch, {("all_languages", "train"): all_languages({"en": ["a", "b"]}, [0, -1])})
    with pytest.raises(ValueError, match=r"facebook/xnli config 'all_languages' split 'train' row 1: label -1 .*0 "
                                         r"entailment"):
        xnli.load(None, "facebook/xnli", ["en"], "en")


def test_xnli_hub_row_without_a_hypothesis_in_a_language_is_named(monkeypatch):
    columns = all_languages({"en": ["a", "b"], "de": ["c", "d"]}, [0, 1])
    columns["hypothesis"][1] = {"language": ["en", "fr"], "translation": ["b (h)", "d (h)"]}  # no German
    fake_hub(monkeypatch, {("all_languages", "train"): columns})
    with pytest.raises(ValueError, match=r"'all_languages' split 'train': not every row has exactly one 'de'"):
        xnli.load(None, "facebook/xnli", ["en", "de"], "en")


def test_pawsx_hub_conversion(monkeypatch):
    def paws(ids, first, labels):
        return {"id": ids, "sentence1": first, "sentence2": [s + "!" for s in first], "label": labels}

    fake_hub(monkeypatch, {
        ("en", "train"): paws([1, 2, 3], ["a", "b", "c"], [0, 1, 1]),
        ("fr", "train"): paws([3, 1, 8, 2], ["c-fr", "a-fr", "x", "NS"], [1, 0, 0, 1]),
        ("en", "validation"): paws([4], ["v"], [1]), ("fr", "validation"): paws([4], ["NS"], [0]),
        ("en", "test"): paws([10, 11], ["t", "u"], [0, -1]), ("fr", "test"): paws([10], ["t-fr"], [0]),
    })
    data = pawsx.load(None, "google-research-datasets/paws-x", ["en", "fr"], "en")
    assert [(t["id"], t["text"]) for t in data.translations] == [("pawsx-train-3-en", "c-fr"),
                                                                 ("pawsx-train-1-en", "a-fr")]
    assert [(r["id"], r["meaning_id"]) for r in data.rows["dev"]] == [("pawsx-dev-4-en", "pawsx-dev-4")]
    assert [(r["lang"], r["meaning_id"], r["label"]) for r in data.rows["test"]] == [
        ("en", "pawsx-test-10", 0), ("fr", "pawsx-test-10", 0)]
    # -1: the Hub's unknown label; id 8 has no English training row
    assert data.skipped == Counter({"NS placeholder": 2, "missing label (-1)": 1, "its training row is not kept": 1})


# --- the TSV reader --------------------------------------------------------------------------------------------

def test_read_rows_pads_missing_fields_keeps_quotes_and_numbers_lines(tmp_path):
    path = write(tmp_path / "a.tsv", 'a\tb\tc\n"x\ty\r\n\nlast\t"\t"')
    assert list(read_rows(path, ("a", "c"))) == [
        (2, {"a": '"x', "b": "y", "c": ""}), (3, {"a": "", "b": "", "c": ""}), (4, {"a": "last", "b": '"', "c": '"'})]


@pytest.mark.reliability
def test_read_rows_rejects_extra_fields_and_missing_columns(tmp_path):
    path = write(tmp_path / "a.tsv", "a\tb\n1\t2\n1\t2\t3\n")
    with pytest.raises(ValueError, match=r"a\.tsv:3: 3 tab-separated fields, but the header names 2"):
        list(read_rows(path))
    with pytest.raises(ValueError, match=r"a\.tsv:1: header \['a', 'b'\] lacks the column\(s\) \['label'\]"):
        list(read_rows(path, ("a", "label")))
