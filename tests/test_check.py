"""`xcrl check` on local folders: each is read by the loader `download` runs, every file its layout requires opened
and its first lines parsed, and the row lists the files opened. Files beside the layout are ignored; a wrong layout
fails with the loader's own message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import REAL, ROOT, real_dir

from xcrl_cli.cli import main
from xcrl_cli.config import parse_params
from xcrl_cli.data.check import SAMPLE_LINES, run_checks
from xcrl_cli.data.corpora import pawsx
from xcrl_cli.data.corpora.schema import DatasetUnavailable

PAWSX_FILES = {"en": ("train", "dev_2k", "test_2k"), "de": ("translated_train", "dev_2k", "test_2k")}


def _params(datasets: dict, tasks: list[str]) -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"].update(source="real", languages=["en", "de"], low_resource=["de"], tasks=tasks)
    raw["sweep"]["tasks"] = {"task": [tasks[0]]}
    raw["datasets"] = {"dictionaries": {"url": None, "local": None}, "optional": [], **datasets}
    return raw


def _rows(raw: dict) -> dict:
    """check's rows by dataset: `local <folder> (<key>)` -> key."""
    return {row.source.rsplit("(", 1)[-1].rstrip(")"): row for row in run_checks(parse_params(raw))}


def _opened(row, root: Path) -> list[str]:
    return [str(Path(path).relative_to(root)) for path in row.opened]


def tiny_pawsx(root: Path, rows: int = 12) -> Path:
    """An x-final tree in English and German, longer than check's sample."""
    for lang, names in PAWSX_FILES.items():
        for name in names:
            path = root / "x-final" / lang / f"{name}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("id\tsentence1\tsentence2\tlabel\n" + "".join(
                f"{i}\t{lang} first {i}.\t{lang} second {i}.\t{i % 2}\n" for i in range(rows)), encoding="utf-8")
    return root


def test_pawsx_check_opens_each_required_file_and_parses_its_first_lines(tmp_path):
    root = tiny_pawsx(tmp_path / "pawsx")
    (root / "info.json").write_text(json.dumps({"name": "PAWS-X", "files": 6}, indent=2))  # pretty-printed
    (root / "x-final" / "README").write_text("not a TSV\n")
    row = _rows(_params({"pawsx": {"hub": None, "local": str(root)}}, ["pawsx"]))["pawsx"]
    assert row.ok, row.found
    assert _opened(row, root) == ["x-final/en/train.tsv", "x-final/de/translated_train.tsv", "x-final/de/dev_2k.tsv",
                                  "x-final/en/dev_2k.tsv", "x-final/de/test_2k.tsv", "x-final/en/test_2k.tsv"]
    rows = SAMPLE_LINES - 1  # the header is a line
    assert row.found == f"rows parsed: train {rows}, dev {2 * rows}, test {2 * rows}, translations {rows}"


def test_a_sentiment_folder_given_as_pawsx_fails_with_the_loaders_message(tmp_path):
    umsab = tmp_path / "umsab" / "english"
    umsab.mkdir(parents=True)
    for name in ("train", "val", "test"):
        (umsab / f"{name}_text.txt").write_text("a tweet\n")
        (umsab / f"{name}_labels.txt").write_text("0\n")
    local = tmp_path / "umsab"
    with pytest.raises(DatasetUnavailable) as loader:
        pawsx.load(local, None, ["en", "de"], "en")
    raw = _params({"pawsx": {"hub": None, "local": str(local)}}, ["pawsx"])
    row = _rows(raw)["pawsx"]
    assert not row.ok and row.opened == ()
    assert row.found.startswith(f"DatasetUnavailable: {str(loader.value)[:200]}")
    assert row.found.startswith(f"DatasetUnavailable: PAWS-X: {local}/en/train.tsv, ")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["check", "--params", str(tmp_path / "params.yaml")])
    assert result.exit_code == 1 and "FAILED" in result.output and "1 of 2 sources unusable" in result.output


def test_a_malformed_line_within_the_sample_fails_naming_the_file_and_line(tmp_path):
    root = tiny_pawsx(tmp_path / "pawsx")
    path = root / "x-final" / "de" / "test_2k.tsv"
    path.write_text(path.read_text().replace("\t1\n", "\tyes\n", 1))
    row = _rows(_params({"pawsx": {"hub": None, "local": str(root)}}, ["pawsx"]))["pawsx"]
    assert not row.ok and f"{path}:3: label 'yes' is not a PAWS-X label" in row.found


@pytest.mark.real_data
@pytest.mark.parametrize("layout", ["umsab", "marc"])
def test_check_on_the_real_samples_opens_the_data_files_of_every_dataset(tmp_path, layout):
    raw = _params({"xnli": {"hub": None, "local": str(real_dir("xnli"))},
                   "pawsx": {"hub": None, "local": str(real_dir("pawsx"))},
                   "sentiment": {"hub": None, "local": str(real_dir("sentiment") / layout)},
                   "parallel": {"hub": None, "local": str(real_dir("parallel") / "tatoeba_laser_v1"), "max_pairs": 9},
                   "dictionaries": {"url": None, "local": str(real_dir("muse"))}},
                  ["xnli", "pawsx", "sentiment"])
    rows = _rows(raw)
    assert all(row.ok for row in rows.values()), rows
    sentiment = {"umsab": [f"{folder}/{split}_{kind}.txt" for folder, splits in
                           (("english", ("train", "val", "test")), ("german", ("val", "test")))
                           for split in splits for kind in ("text", "labels")],
                 "marc": [f"dataset_{lang}_{split}.json" for lang, splits in
                          (("en", ("train", "dev", "test")), ("de", ("dev", "test"))) for split in splits]}
    expected = {
        "xnli": ("xnli", ["XNLI-MT-1.0/multinli/multinli.train.en.tsv", "XNLI-MT-1.0/multinli/multinli.train.de.tsv",
                          "XNLI-1.0/xnli.dev.tsv", "XNLI-1.0/xnli.test.tsv"]),
        "pawsx": ("pawsx", ["x-final/en/train.tsv", "x-final/de/translated_train.tsv", "x-final/de/dev_2k.tsv",
                            "x-final/en/dev_2k.tsv", "x-final/de/test_2k.tsv", "x-final/en/test_2k.tsv"]),
        "sentiment": (f"sentiment/{layout}", sentiment[layout]),
        "parallel": ("parallel/tatoeba_laser_v1", ["tatoeba.deu-eng.eng", "tatoeba.deu-eng.deu"]),
        "dictionaries": ("muse", ["en-de.txt"]),
    }
    assert {key: _opened(rows[key], REAL / folder) for key, (folder, _) in expected.items()} == \
        {key: files for key, (_, files) in expected.items()}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["check", "--params", str(tmp_path / "params.yaml"), "--files"])
    assert result.exit_code == 0, result.output
    listed = [line.strip() for line in result.output.splitlines() if line.startswith("  ")]
    assert listed == [str(REAL / folder / name) for folder, files in expected.values() for name in files]
