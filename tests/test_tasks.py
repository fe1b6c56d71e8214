"""The task registry (`tasks:` in params.yaml): a task defined in YAML alone, from csv files or a parquet folder laid
out as a Hub dataset, read into the common schema by `download`; the real PAWS-X sample described as a table gives
the rows of PAWS-X's built-in format; a bad entry is one error naming its key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import REAL, ROOT, real_dir, write_reviews

from xcrl_cli.cli import main
from xcrl_cli.config import ConfigError, load_yaml, parse_params
from xcrl_cli.data.sources import read_task
from xcrl_cli.io import DataError


def _raw(tasks: dict, data_tasks: list[str], languages=("en", "de"), **datasets) -> dict:
    raw = load_yaml((ROOT / "params.yaml").read_text())
    raw["data"].update(source="real", languages=list(languages), low_resource=[languages[-1]], tasks=data_tasks)
    raw["tasks"] = {**raw["tasks"], **tasks}
    raw["datasets"].update(dictionaries={"url": None, "local": None}, optional=[], **datasets)
    raw["sweep"]["tasks"] = {"task": []}
    return raw


def test_a_task_from_csv_files_defined_in_yaml_alone_is_downloaded_into_the_common_schema(tmp_path):
    entry = write_reviews(tmp_path / "reviews")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(_raw({"reviews": entry}, ["reviews"])))
    result = CliRunner().invoke(main, ["download", "--params", str(params), "--out", str(tmp_path / "raw")])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "raw" / "meta.json").read_text())
    task = meta["tasks"]["reviews"]
    assert (task["labels"], task["pair"], task["rows"], task["translations"]) == (["bad", "good"], False,
                                                                                 {"train": 4, "dev": 6, "test": 6}, 4)
    test = [json.loads(line) for line in (tmp_path / "raw" / "reviews" / "test.jsonl").read_text().splitlines()]
    assert test[0] == {"id": "reviews-test-test0-0-en", "meaning_id": "reviews-test-test0-0", "task": "reviews",
                       "lang": "en", "split": "test", "text": "a fine phone that works well test", "text_pair": None,
                       "label": 1, "cue_label": None}
    assert [(r["lang"], r["label"]) for r in test] == [("en", 1), ("en", 0), ("en", 1), ("en", 0), ("de", 1),
                                                        ("de", 0)]
    translations = [json.loads(line) for line in
                    (tmp_path / "raw" / "reviews" / "translations.jsonl").read_text().splitlines()]
    assert translations[1] == {"id": "reviews-train-r0-1-en", "lang": "de", "text": "de: the screen broke on day one",
                               "text_pair": None}
    report = json.loads((tmp_path / "raw.download.json").read_text())["reviews"]
    assert report["splits"]["test"]["fr"] == {"read": 1, "kept": 0, "skipped": {"not in data.languages": 1}}


def _hub_layout(folder: Path, csv_root: Path) -> None:
    """The csv splits as parquet files named as a Hub dataset's (data/<split>-00000-of-00001.parquet)."""
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet as pq

    (folder / "data").mkdir(parents=True)
    for split, hub_split in (("train", "train"), ("dev", "validation"), ("test", "test")):
        table = pyarrow.csv.read_csv(csv_root / f"{split}.csv",
                                     convert_options=pyarrow.csv.ConvertOptions(column_types={"stars": pa.string()}))
        pq.write_table(table, folder / "data" / f"{hub_split}-00000-of-00001.parquet")


def test_a_parquet_folder_laid_out_as_a_hub_dataset_gives_the_rows_of_the_csv_files(tmp_path):
    entry = write_reviews(tmp_path / "reviews")
    _hub_layout(tmp_path / "hub", tmp_path / "reviews")
    from_hub = {**entry, "files": {}, "hub": str(tmp_path / "hub")}
    from_csv = {**entry, "files": {k: v for k, v in entry["files"].items() if k != "translations"}}
    p_hub = parse_params(_raw({"reviews": from_hub}, ["reviews"]))
    p_csv = parse_params(_raw({"reviews": from_csv}, ["reviews"]))
    hub, files = read_task(p_hub, "reviews", optional=False), read_task(p_csv, "reviews", optional=False)
    assert hub.rows == files.rows and len(hub.rows["test"]) == 6
    # a folder of parquet files is read whole, its files in name order: train split in two parts
    import pyarrow.parquet as pq

    whole = pq.read_table(tmp_path / "hub" / "data" / "train-00000-of-00001.parquet")
    (tmp_path / "parts").mkdir()
    pq.write_table(whole.slice(0, 3), tmp_path / "parts" / "part-0.parquet")
    pq.write_table(whole.slice(3), tmp_path / "parts" / "part-1.parquet")
    parts = {**from_csv, "files": {**from_csv["files"], "train": str(tmp_path / "parts")}}
    assert read_task(parse_params(_raw({"reviews": parts}, ["reviews"])), "reviews", False).rows == files.rows


def test_labels_stored_as_whole_floats_read_as_their_integers_and_a_fraction_is_refused(tmp_path):
    """Star counts in a parquet column of doubles (as pandas writes an integer column with gaps): 5.0 is the label
    value 5; 4.5 is no label value, one error naming the file, row and the valid values."""
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet as pq

    entry = write_reviews(tmp_path / "reviews")
    files = {**entry["files"]}
    for split in ("train", "dev", "test"):
        table = pyarrow.csv.read_csv(files[split], convert_options=pyarrow.csv.ConvertOptions(
            column_types={"stars": pa.float64()}))
        files[split] = str(tmp_path / f"{split}.parquet")
        pq.write_table(table, files[split])
    floats = parse_params(_raw({"reviews": {**entry, "files": files}}, ["reviews"]))
    ints = parse_params(_raw({"reviews": entry}, ["reviews"]))
    assert read_task(floats, "reviews", False).rows == read_task(ints, "reviews", False).rows
    table = pq.read_table(files["test"])
    pq.write_table(table.set_column(2, "stars", pa.array([4.5] + table["stars"].to_pylist()[1:])), files["test"])
    with pytest.raises(DataError, match=r"test.parquet row 1: label 4.5 is not one of tasks.reviews's labels; "
                                        r"valid: 1 \(bad\), 5 \(good\)"):
        read_task(floats, "reviews", False)


@pytest.mark.real_data
def test_pawsx_described_as_a_table_gives_the_rows_of_its_built_in_format():
    if not REAL.exists():
        pytest.skip(f"real data samples not found at {REAL}")
    root = real_dir("pawsx") / "x-final"
    languages = ["de", "en", "es", "fr", "zh"]  # a table reads its {lang} files in this order, PAWS-X its own (sorted)
    builtin = parse_params(_raw({}, ["pawsx"], languages, pawsx={"hub": None, "local": str(real_dir("pawsx"))}))
    table = {"format": "table", "kind": "pair", "labels": ["different", "paraphrase"], "label_values": ["0", "1"],
             "metric": "f1", "skip_texts": ["NS"],
             "files": {"train": f"{root}/{{lang}}/train.tsv", "translations": f"{root}/{{lang}}/translated_train.tsv",
                       "dev": f"{root}/{{lang}}/dev_2k.tsv", "test": f"{root}/{{lang}}/test_2k.tsv"},
             "columns": {"text": "sentence1", "text_pair": "sentence2", "label": "label", "id": "id"}}
    described = parse_params(_raw({"pawsx": table}, ["pawsx"], languages))
    ours, theirs = read_task(described, "pawsx", optional=False), read_task(builtin, "pawsx", optional=False)
    assert ours.rows == theirs.rows and ours.translations == theirs.translations
    assert ours.skipped == theirs.skipped and ours.skipped["NS placeholder"] > 0
    assert len(ours.rows["dev"]) > 0 and {r["lang"] for r in ours.rows["test"]} == set(languages)


@pytest.mark.parametrize("change, error", [
    ({"labels": ["only"]}, r"tasks\.reviews\.labels: \['only'\]; name two labels or more"),
    ({"columns": {"text": "body"}}, r"tasks\.reviews\.columns: no column for \['label'\]"),
    ({"hub": "org/reviews"}, r"tasks\.reviews: name its data either in files .* or in hub"),
    ({"format": "xnli"}, r"tasks\.reviews\.format: 'xnli' is a paper dataset's format; its task must be named"),
    ({"metric": "auc"}, r"tasks\.reviews\.metric: 'auc' is not one of"),
    ({"files": {"valid": "x.csv"}}, r"tasks\.reviews\.files: 'valid' is not one of"),
])
def test_a_bad_registry_entry_is_one_error_naming_its_key(tmp_path, change, error):
    entry = {**write_reviews(tmp_path / "reviews"), **change}
    with pytest.raises(ConfigError, match=error):
        parse_params(_raw({"reviews": entry}, ["reviews"]))


def test_a_table_task_needs_real_data_and_data_tasks_names_registry_entries(tmp_path):
    raw = _raw({"reviews": write_reviews(tmp_path / "reviews")}, ["reviews"])
    raw["data"]["source"] = "embedded"
    raw["data"]["languages"] = ["en", "de"]
    with pytest.raises(ConfigError, match=r"tasks\.reviews: a table task reads its own files, but data\.source"):
        parse_params(raw)
    with pytest.raises(ConfigError, match=r"data\.tasks: 'tickets' is not one of"):
        parse_params(_raw({}, ["tickets"]))
