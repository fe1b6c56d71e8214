"""The sentiment, MLDoc, parallel-corpus and MUSE-dictionary loaders: real samples read in place, small files written
here for MLDoc (licensed, never stored) and for the error paths, and in-memory Hub splits (nothing is downloaded)."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import datasets
import pytest
from conftest import real_dir, write_mldoc

from xcrl_cli.data.corpora import dictionaries, hub, mldoc, parallel, sentiment
from xcrl_cli.data.corpora.schema import DatasetUnavailable

UMSAB_LANGS = ["ar", "en", "fr", "de", "hi", "es"]
TARGETS = ["de", "fr", "es", "zh", "ar", "hi", "sw"]


@pytest.fixture
def fake_hub(monkeypatch) -> dict:
    """Hub splits served from memory: fill {(config, split): Dataset}; other configs fail as `datasets` does."""
    served: dict = {}

    def load_split(repo: str, config: str, split: str):
        if (config, split) not in served:
            raise hub.NoSuchConfig(f"{repo!r} has no config {config!r}")
        return served[config, split]

    monkeypatch.setattr(hub, "probe", lambda repo, name, how_to_local: None)
    monkeypatch.setattr(hub, "load_split", load_split)
    return served


def _counts(data) -> dict:
    return {split: Counter(r["lang"] for r in rows) for split, rows in data.rows.items()}


# --- sentiment ---------------------------------------------------------------------------------------------------

@pytest.mark.real_data
def test_umsab_real_counts_and_balanced_labels():
    data = sentiment.load(real_dir("sentiment/umsab"), None, [*UMSAB_LANGS, "zh"], "en")
    counts = _counts(data)
    assert counts["train"] == {"en": 300}
    assert counts["dev"] == dict.fromkeys(UMSAB_LANGS, 150)
    assert counts["test"] == dict.fromkeys(UMSAB_LANGS, 300)
    assert data.languages == sorted(UMSAB_LANGS)  # no Chinese in UMSAB
    assert Counter(r["label"] for r in data.rows["train"]) == {0: 100, 1: 100, 2: 100}
    assert Counter(r["label"] for r in data.rows["dev"] if r["lang"] == "hi") == {0: 50, 1: 50, 2: 50}
    assert not data.translations and not data.skipped
    assert len({r["meaning_id"] for r in data.rows["test"]}) == len(data.rows["test"])


@pytest.mark.real_data
def test_umsab_escapes_decoded_and_text_stripped():
    data = sentiment.load(real_dir("sentiment/umsab"), None, ["en"], "en")
    first = data.rows["train"][0]
    assert first["text"] == ("okay i\u2019m sorry but TAYLOR SWIFT LOOKS NOTHING LIKE JACKIE O SO STOP COMPARING THE "
                             "TWO. c\u2019mon America aren\u2019t you sick of her yet? (sorry)")
    assert first["label"] == 0 and first["id"] == "sentiment-train-0-en"
    assert "Frank Gaffrey, Cliff May, Steve Emerson" in data.rows["train"][2]["text"]  # \u002c is a comma
    assert not any("\\u" in r["text"] for split in data.rows.values() for r in split)


@pytest.mark.real_data
def test_umsab_hub_conversion_matches_local_files(fake_hub):
    folder = real_dir("sentiment/umsab") / "english"
    for name, hub_split in (("train", "train"), ("val", "validation"), ("test", "test")):
        texts = (folder / f"{name}_text.txt").read_text(encoding="utf-8").splitlines()
        labels = [int(v) for v in (folder / f"{name}_labels.txt").read_text().split()]
        fake_hub["english", hub_split] = datasets.Dataset.from_dict({"text": texts, "label": labels})
    local = sentiment.load(folder.parent, None, ["en"], "en")
    remote = sentiment.load(None, "cardiffnlp/tweet_sentiment_multilingual", ["en"], "en")
    assert remote.rows == local.rows


@pytest.mark.real_data
def test_marc_real_rows_all_negative():
    data = sentiment.load(real_dir("sentiment/marc"), None, ["en", "de", "fr", "es", "zh", "ja", "ar"], "en")
    counts = _counts(data)
    assert counts["train"] == {"en": 5}
    assert counts["dev"] == counts["test"] == dict.fromkeys(["en", "de", "fr", "es", "zh", "ja"], 5)
    assert {r["label"] for split in data.rows.values() for r in split} == {0}  # every sample review has 1 star
    assert data.rows["train"][1]["text"] == "the cabinet dot were all detached from backing... got me"
    assert data.rows["train"][1]["id"] == "sentiment-train-en_0690095-en"


def test_sentiment_hub_decodes_skips_empty_and_ignores_languages_without_config(fake_hub):
    rows = {"text": ["I\\u2019m happy ", "", "meh \\ud83d\\ude00", "lone \\ud83d"], "label": [2, 1, 1, 0]}
    for split in ("train", "validation", "test"):
        fake_hub["english", split] = datasets.Dataset.from_dict(rows)
    fake_hub["german", "validation"] = fake_hub["german", "test"] = datasets.Dataset.from_dict(rows)
    data = sentiment.load(None, "cardiffnlp/tweet_sentiment_multilingual", ["en", "de", "zh"], "en")
    assert [r["text"] for r in data.rows["train"]] == ["I\u2019m happy", "meh \U0001F600", "lone \\ud83d"]
    assert [r["label"] for r in data.rows["train"]] == [2, 1, 0]
    assert data.languages == ["de", "en"] and not any(r["lang"] == "de" for r in data.rows["train"])
    assert data.skipped["empty text"] == 5


def _umsab(root: Path, texts: list[str], labels: list[str]) -> Path:
    folder = root / "english"
    folder.mkdir(parents=True)
    for name in ("train", "val", "test"):
        (folder / f"{name}_text.txt").write_text("".join(f"{t}\n" for t in texts), encoding="utf-8")
        (folder / f"{name}_labels.txt").write_text("".join(f"{v}\n" for v in labels))
    return root


def test_umsab_mismatched_line_counts_name_both_files(tmp_path):
    root = _umsab(tmp_path, ["good", "bad", "ok"], ["2", "0"])
    with pytest.raises(ValueError, match=r"train_text.txt has 3 lines but .*train_labels.txt has 2"):
        sentiment.load(root, None, ["en"], "en")


@pytest.mark.reliability
def test_umsab_bad_label_names_file_line_and_valid_labels(tmp_path):
    root = _umsab(tmp_path, ["good", "bad"], ["2", "positive"])
    with pytest.raises(ValueError, match=r"train_labels.txt:2: label 'positive' .*valid: 0 negative, 1 neutral"):
        sentiment.load(root, None, ["en"], "en")


@pytest.mark.reliability
def test_sentiment_non_utf8_names_file_and_line(tmp_path):
    root = _umsab(tmp_path, ["good", "bad"], ["2", "0"])
    (root / "english" / "train_text.txt").write_bytes(b"good\ncaf\xe9\n")
    with pytest.raises(ValueError, match=r"train_text.txt:2: byte 0xe9 .*not valid UTF-8"):
        sentiment.load(root, None, ["en"], "en")


@pytest.mark.reliability
def test_sentiment_empty_tweets_are_counted(tmp_path):
    data = sentiment.load(_umsab(tmp_path, ["good", "  ", "bad"], ["2", "1", "0"]), None, ["en"], "en")
    assert len(data.rows["train"]) == 2 and data.skipped["empty text"] == 3


def test_sentiment_missing_or_unrecognised_folder(tmp_path):
    with pytest.raises(DatasetUnavailable, match=rf"{tmp_path / 'nope'} not found.*cardiffnlp/xlm-t"):
        sentiment.load(tmp_path / "nope", None, ["en"], "en")
    with pytest.raises(DatasetUnavailable, match="neither UMSAB folders .* nor MARC files"):
        sentiment.load(tmp_path, None, ["en"], "en")


@pytest.mark.reliability
def test_marc_bad_stars_names_file_and_line(tmp_path):
    (tmp_path / "dataset_en_train.json").write_text('{"review_id": "r1", "stars": "6", "review_body": "x"}\n')
    with pytest.raises(ValueError, match=r"dataset_en_train.json:1: stars '6' is not a MARC rating"):
        sentiment.load(tmp_path, None, ["en"], "en")


# --- MLDoc -------------------------------------------------------------------------------------------------------

def test_mldoc_decodes_bytes_literals_and_reads_plain_text(tmp_path):
    data = mldoc.load(write_mldoc(tmp_path), None, ["en", "de", "fr"], "en", train_size=1000)
    assert [(r["text"], r["label"]) for r in data.rows["train"]] == [
        ("Germany's minister said\nprices fell.", 0), ('It\'s Café "Zoé" day.', 2)]
    assert data.skipped["empty text"] == 1
    assert [(r["lang"], r["text"]) for r in data.rows["test"]] == [
        ("en", "Bonds rally."), ("de", "Größere Gewinne für Bäcker."), ("de", "b'x' is plain here")]
    assert _counts(data)["dev"] == {"en": 1} and data.languages == ["de", "en"]
    assert data.labels == ("CCAT", "ECAT", "GCAT", "MCAT") and not data.pair and not data.translations


def test_mldoc_missing_folder_or_english_file_says_how_to_build(tmp_path):
    with pytest.raises(DatasetUnavailable, match=rf"{tmp_path / 'mldoc'} not found.*NIST.*facebookresearch/MLDoc"
                                                 r".*datasets\.mldoc\.local"):
        mldoc.load(tmp_path / "mldoc", None, ["en"], "en")
    (write_mldoc(tmp_path / "mldoc") / "english.dev").unlink()
    with pytest.raises(DatasetUnavailable, match=r"english\.dev not found"):
        mldoc.load(tmp_path / "mldoc", None, ["en"], "en")
    with pytest.raises(DatasetUnavailable, match=r"english\.train\.5000, .*english\.dev not found"):
        mldoc.load(tmp_path / "mldoc", None, ["en"], "en", train_size=5000)


def test_mldoc_refuses_a_hub_dataset(tmp_path):
    with pytest.raises(ValueError, match="not on the Hugging Face Hub"):
        mldoc.load(tmp_path, "someone/mldoc", ["en"], "en")


@pytest.mark.parametrize(("line", "message"), [
    ("XCAT\ttext", r"german\.test:2: label 'XCAT' is not an MLDoc label; valid: CCAT, ECAT, GCAT, MCAT"),
    ("CCAT text without a tab", r"german\.test:2: 1 tab-separated fields"),
    ("CCAT\tb'\\xff'", r"german\.test:2: .*bytes literal .*UnicodeDecodeError"),
])
@pytest.mark.reliability
def test_mldoc_malformed_line_names_file_and_line(tmp_path, line, message):
    (write_mldoc(tmp_path) / "german.test").write_text(f"CCAT\tfine\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        mldoc.load(tmp_path, None, ["en", "de"], "en")


@pytest.mark.reliability
def test_mldoc_non_utf8_names_file_and_line(tmp_path):
    (write_mldoc(tmp_path) / "german.test").write_bytes(b"CCAT\tfine\nCCAT\tGr\xf6\xdfe\n")
    with pytest.raises(ValueError, match=r"german\.test:2: byte 0xf6"):
        mldoc.load(tmp_path, None, ["en", "de"], "en")


# --- parallel corpus ---------------------------------------------------------------------------------------------

@pytest.mark.real_data
def test_tatoeba_real_pairs_aligned():
    corpus = parallel.load(real_dir("parallel/tatoeba_laser_v1"), None, "en", [*TARGETS, "ja"], max_pairs=1000)
    assert {lang: len(pairs) for lang, pairs in corpus.items()} == {**dict.fromkeys(TARGETS, 500), "sw": 195}
    assert corpus["de"][0] == ("Mary said she didn't know where Tom was.", "Maria sagte, sie wisse nicht, wo Tom sei.")
    assert corpus["sw"][0] == ("He brought me coffee.", "Alinileta kahawa.")
    assert parallel.load(real_dir("parallel/tatoeba_laser_v1"), None, "en", ["de"], 10)["de"] == corpus["de"][:10]


def test_tatoeba_mismatched_line_counts_name_both_files(tmp_path):
    (tmp_path / "tatoeba.deu-eng.deu").write_text("Hallo.\nTschüss.\n", encoding="utf-8")
    (tmp_path / "tatoeba.deu-eng.eng").write_text("Hello.\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"tatoeba\.deu-eng\.eng has 1 lines but .*tatoeba\.deu-eng\.deu has 2"):
        parallel.load(tmp_path, None, "en", ["de"], 10)


def test_parallel_missing_folder_says_where_to_get_tatoeba(tmp_path):
    with pytest.raises(DatasetUnavailable, match=rf"{tmp_path / 'x'} not found.*LASER/tree/main/data/tatoeba/v1"):
        parallel.load(tmp_path / "x", None, "en", ["de"], 10)


def test_opus_hub_pairs_in_order_with_missing_configs_skipped(fake_hub):
    fake_hub["de-en", "train"] = datasets.Dataset.from_dict({"translation": [
        {"de": "Hallo.", "en": "Hello."}, {"de": "", "en": "Empty."}, {"de": "Ja.", "en": "Yes."},
        {"de": "Nein.", "en": "No."}]})
    fake_hub["en-hi", "train"] = datasets.Dataset.from_dict({"translation": [{"en": "Water.", "hi": "पानी।"}]})
    corpus = parallel.load(None, "Helsinki-NLP/opus-100", "en", ["de", "hi", "sw"], max_pairs=2)
    assert corpus == {"de": [("Hello.", "Hallo."), ("Yes.", "Ja.")], "hi": [("Water.", "पानी।")]}


def test_parallel_unreachable_hub_propagates(monkeypatch):
    def unreachable(repo, name, how_to_local):
        raise DatasetUnavailable(f"{name}: cannot read {repo!r}. {how_to_local}")

    monkeypatch.setattr(hub, "probe", unreachable)
    with pytest.raises(DatasetUnavailable, match="opus-100.*datasets.parallel.local"):
        parallel.load(None, "Helsinki-NLP/opus-100", "en", ["de"], 10)


# --- MUSE dictionaries -------------------------------------------------------------------------------------------

@pytest.mark.real_data
def test_muse_real_space_and_tab_separated_none_for_swahili():
    words = dictionaries.load(real_dir("muse"), None, "en", TARGETS)
    assert {lang: len(pairs) for lang, pairs in words.items()} == dict.fromkeys(["de", "fr", "es", "zh", "ar", "hi"],
                                                                                 5000)
    assert words["de"][:2] == [("the", "die"), ("the", "der")]  # space-separated
    assert words["ar"][1] == ("the", "ال") and words["hi"][0] == ("and", "और")  # TAB-separated


@pytest.mark.reliability
def test_muse_malformed_line_names_file_and_line(tmp_path):
    (tmp_path / "en-de.txt").write_text("the der\nbank Bank Ufer\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"en-de\.txt:2: expected 'source<space or TAB>target'"):
        dictionaries.load(tmp_path, None, "en", ["de"])


def test_muse_missing_folder(tmp_path):
    with pytest.raises(DatasetUnavailable, match=rf"{tmp_path / 'muse'} not found.*facebookresearch/MUSE"):
        dictionaries.load(tmp_path / "muse", None, "en", ["de"])


@pytest.fixture
def muse_server(tmp_path, monkeypatch):
    """A base URL served from localhost, with the `datasets` cache under tmp_path: the URL path runs for real and
    nothing leaves the machine."""
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)  # conftest sets it; a local server is no Hub
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    monkeypatch.setattr(datasets.config, "DOWNLOADED_DATASETS_PATH", tmp_path / "cache" / "downloads")
    served = tmp_path / "served"
    served.mkdir()
    (served / "en-de.txt").write_text("the der\nthe die\n\nbank\tBank\n", encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_muse_url_reads_through_datasets_and_skips_missing_languages(muse_server):
    words = dictionaries.load(None, muse_server, "en", ["de", "sw"])
    assert words == {"de": [("the", "der"), ("the", "die"), ("bank", "Bank")]}


def test_muse_unreachable_url_fails_at_once_naming_it():
    with socket.socket() as sock:  # a port nothing listens on stands in for a cut network
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/dictionaries"
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailable, match=rf"cannot read {url}/en-de\.txt .*datasets\.dictionaries\.local"):
        dictionaries.load(None, url, "en", ["de", "fr"])
    assert time.perf_counter() - start < 5
