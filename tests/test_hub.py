"""Hub loading and `xcrl check` through the real `datasets` API, on local folders laid out as Hub repositories: a
parquet repository (configs in its README, as facebook/xnli), a loading-script repository with its parquet export
(as cardiffnlp/tweet_sentiment_multilingual) and one without. Nothing is replaced: only the network is absent."""

from __future__ import annotations

import time
from pathlib import Path

import datasets
import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT

from xcrl_cli.data.check import run_checks
from xcrl_cli.cli import main
from xcrl_cli.config import parse_params
from xcrl_cli.data.corpora import hub, sentiment, xnli
from xcrl_cli.data.corpora.schema import DatasetUnavailable
from xcrl_cli.data.sources import load_real


def _parquet(rows: dict, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(rows).to_parquet(str(path))


def parquet_xnli(root):
    """facebook/xnli's layout: README configs, `<config>/<split>-00000-of-00001.parquet`; `all_languages` holds one
    row per pair with every language (premise: one field per language; hypothesis: parallel `language` and
    `translation` lists), and the per-language configs here list the German rows in another order than the English."""
    configs = []
    for split in ("train", "validation", "test"):
        _parquet({"premise": [{"de": f"de {split} p{i}", "en": f"en {split} p{i}"} for i in (0, 1)],
                  "hypothesis": [{"language": ["de", "en"], "translation": [f"de {split} h{i}", f"en {split} h{i}"]}
                                 for i in (0, 1)],
                  "label": [1, 2]}, root / "all_languages" / f"{split}-00000-of-00001.parquet")
        for lang, order in (("en", (0, 1)), ("de", (1, 0))):
            _parquet({"premise": [f"{lang} {split} p{i}" for i in order],
                      "hypothesis": [f"{lang} {split} h{i}" for i in order], "label": [[1, 2][i] for i in order]},
                     root / lang / f"{split}-00000-of-00001.parquet")
    for config in ("all_languages", "en", "de"):
        configs.append({"config_name": config, "data_files": [{"split": s, "path": f"{config}/{s}-*"}
                                                              for s in ("train", "validation", "test")]})
    (root / "README.md").write_text(f"---\n{yaml.safe_dump({'configs': configs})}---\n")
    return root


def test_xnli_from_the_hub_links_the_renderings_of_a_pair_through_all_languages(tmp_path):
    data = xnli.load(None, str(parquet_xnli(tmp_path / "xnli")), ["en", "de"], "en")
    for split in ("dev", "test"):
        by_meaning = {}
        for row in data.rows[split]:
            by_meaning.setdefault(row["meaning_id"], {})[row["lang"]] = row["text"]
        assert sorted(by_meaning.values(), key=str) == [
            {lang: f"{lang} {'validation' if split == 'dev' else split} p{i}" for lang in ("en", "de")}
            for i in (0, 1)]
    english = {row["id"]: row["text"] for row in data.rows["train"]}
    assert sorted((english[t["id"]], t["text"]) for t in data.translations) == [
        ("en train p0", "de train p0"), ("en train p1", "de train p1")]


def script_tweets(root, export: bool):
    """A loading-script repository, with the parquet export (`<config>/<split>/0000.parquet`) beside it or not."""
    root.mkdir(parents=True)
    (root / f"{root.name}.py").write_text("import datasets\n")
    if export:
        for config in ("english", "german"):
            for split in ("train", "validation", "test"):
                _parquet({"text": [f"{config} {split} tweet", "  "], "label": [2, 0]},
                         root / config / split / "0000.parquet")
    return root


def _params(tmp_path, xnli_repo, sentiment_repo) -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"].update(source="real", languages=["en", "de"], low_resource=["de"], tasks=["xnli", "sentiment"])
    raw["sweep"]["tasks"] = {"task": ["sentiment"]}
    parallel = tmp_path / "tatoeba"
    parallel.mkdir(exist_ok=True)
    (parallel / "tatoeba.deu-eng.eng").write_text("Water.\n")
    (parallel / "tatoeba.deu-eng.deu").write_text("Wasser.\n")
    raw["datasets"].update(xnli={"hub": str(xnli_repo), "local": None},
                           sentiment={"hub": str(sentiment_repo), "local": None},
                           parallel={"hub": None, "local": str(parallel), "max_pairs": 10},
                           dictionaries={"url": None, "local": None})
    return raw


def test_a_script_repository_is_read_from_its_parquet_export(tmp_path):
    repo = script_tweets(tmp_path / "tweets", export=True)
    with pytest.raises(RuntimeError, match=hub.SCRIPT_REFUSED):  # what datasets 5 does with it
        datasets.load_dataset(str(repo), "english", split="test")
    data = sentiment.load(None, str(repo), ["en", "de"], "en")
    assert [r["text"] for r in data.rows["train"]] == ["english train tweet"]
    assert sorted(r["lang"] for r in data.rows["test"]) == ["de", "en"]
    assert data.skipped == {"empty text": 5}  # one blank tweet in each of the 5 splits read
    assert hub.first_row(str(repo), "german", "test") == {"text": "german test tweet", "label": 2}


def test_a_script_only_repository_is_one_dataset_unavailable_line_naming_the_local_key(tmp_path):
    p = parse_params(_params(tmp_path, parquet_xnli(tmp_path / "xnli"), script_tweets(tmp_path / "tw", False)))
    with pytest.raises(DatasetUnavailable) as err:
        load_real(p, ("sentiment",), (), echo=lambda _: None)
    message = str(err.value)
    assert "\n" not in message and "loading script" in message and "refs/convert/parquet" in message
    assert "datasets.sentiment.local" in message


def test_every_hub_source_is_probed_before_any_is_read(tmp_path):
    p = parse_params(_params(tmp_path, parquet_xnli(tmp_path / "xnli"), tmp_path / "missing"))
    said = []
    with pytest.raises(DatasetUnavailable, match=r"sentiment: .*missing.* does not exist.*datasets\.sentiment\.local"):
        load_real(p, ("xnli", "sentiment"), (), echo=said.append)
    assert said == []  # XNLI, first in order and readable, was not read


def test_check_reports_each_source_and_fails_on_a_script_only_repository(tmp_path):
    for export in (True, False):
        raw = _params(tmp_path, parquet_xnli(tmp_path / "xnli"), script_tweets(tmp_path / f"tw{export}", export))
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
        rows = {row.source.split(" ")[0] + " " + row.source.rsplit("/", 1)[-1]: row
                for row in run_checks(parse_params(raw))}
        assert rows["hub xnli"].ok
        assert rows["hub xnli"].found == "1 configs: all_languages/test (premise, hypothesis, label)"
        assert rows["local tatoeba (parallel)"].ok
        assert rows["local tatoeba (parallel)"].found == "pairs parsed: de 1"
        assert [Path(f).name for f in rows["local tatoeba (parallel)"].opened] == ["tatoeba.deu-eng.eng",
                                                                                  "tatoeba.deu-eng.deu"]
        assert rows["encoder encoder"].ok
        tweets = rows[f"hub tw{export}"]
        result = CliRunner().invoke(main, ["check", "--params", str(tmp_path / "params.yaml")])
        if export:
            assert tweets.ok and tweets.found.startswith("2 configs: german/test (text, label)")
            assert result.exit_code == 0, result.output
        else:
            assert not tweets.ok and "loading script" in tweets.found and "datasets.sentiment.local" in tweets.fix
            assert result.exit_code == 1 and "1 of 4 sources unusable" in result.output
            assert "FAILED" in result.output


def test_check_on_the_paper_preset_offline_names_every_hub_source_quickly():
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["check", "--params", str(ROOT / "params.yaml"), "--preset", "paper"])
    assert result.exit_code == 1 and time.perf_counter() - start < 30
    failed = result.output.strip().splitlines()[-1]
    for repo in ("facebook/xnli", "google-research-datasets/paws-x", "cardiffnlp/tweet_sentiment_multilingual",
                 "Helsinki-NLP/opus-100", "encoder xlm-roberta-base"):
        assert repo in failed
