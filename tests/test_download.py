"""`xcrl download --source real` through the CLI: what it writes, and what it does when a dataset is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, real_dir, write_mldoc

from xcrl_cli.cli import main

pytestmark = pytest.mark.real_data


def _params(tmp_path, mldoc_folder) -> str:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(source="real", languages=["en", "de", "fr", "hi", "sw"], low_resource=["hi", "sw"])
    params["datasets"].update(
        mldoc={"local": str(mldoc_folder), "train_size": 1000},
        parallel={"hub": None, "local": str(real_dir("parallel") / "tatoeba_laser_v1"), "max_pairs": 50},
        dictionaries={"url": None, "local": str(real_dir("muse"))},
    )
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return str(path)


def test_mldoc_from_a_local_folder_with_corpus_pairs_and_dictionaries(tmp_path):
    out = tmp_path / "raw"
    result = CliRunner().invoke(main, ["download", "--params", _params(tmp_path, write_mldoc(tmp_path / "mldoc")),
                                       "--task", "mldoc", "--out", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "meta.json").read_text())
    assert meta["tasks"]["mldoc"]["rows"] == {"train": 2, "dev": 1, "test": 3}
    assert meta["tasks"]["mldoc"]["skipped"] == {"empty text": 1}
    assert meta["parallel"] == {"de": 50, "fr": 50, "hi": 50, "sw": 50}
    assert sorted(meta["dictionaries"]) == ["de", "fr", "hi"]  # MUSE has no Swahili
    assert {p.name for p in (out / "corpus").iterdir()} == {"en.txt", "de.txt", "fr.txt", "hi.txt", "sw.txt"}
    assert "Germany's minister said prices fell." in (out / "corpus" / "en.txt").read_text()  # one line per text
    assert "mldoc: train 2, dev 1, test 3" in result.output
    # Without --metrics the counts still land, beside the output, and say where.
    counts = json.loads((tmp_path / "raw.download.json").read_text())
    assert counts["mldoc"]["splits"]["train"]["en"]["kept"] == 2 and f"counts written to {out}.download.json" in \
        result.output.replace("\n", "")


@pytest.mark.reliability
def test_a_named_task_whose_dataset_is_absent_fails_and_leaves_the_old_folder(tmp_path):
    out = tmp_path / "raw"
    out.mkdir()
    (out / "keep.txt").write_text("previous run")
    result = CliRunner().invoke(main, ["download", "--params", _params(tmp_path, tmp_path / "nowhere"),
                                       "--task", "mldoc", "--out", str(out)])
    assert result.exit_code == 2
    assert "nowhere not found" in result.output and "NIST" in result.output and "datasets.mldoc.local" in result.output
    assert [p.name for p in tmp_path.joinpath("raw").iterdir()] == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".raw")]


def _languages(tmp_path, languages: list[str], parallel=None) -> str:
    path = _params(tmp_path, write_mldoc(tmp_path / "mldoc"))
    params = yaml.safe_load(Path(path).read_text())
    params["data"].update(languages=languages, low_resource=[])
    if parallel is not None:
        params["datasets"]["parallel"]["local"] = str(parallel)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return path


@pytest.mark.reliability
def test_a_task_left_with_no_target_language_fails_naming_the_key(tmp_path):
    result = CliRunner().invoke(main, ["download", "--params", _languages(tmp_path, ["en", "ko", "th"]),
                                       "--task", "mldoc", "--out", str(tmp_path / "raw")])

    assert result.exit_code == 2
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert "data.languages ['en', 'ko', 'th']: mldoc (local " in line and "none of the target languages" in line
    assert not (tmp_path / "raw").exists()


@pytest.mark.reliability
def test_a_parallel_corpus_without_a_needed_language_fails_naming_the_key_and_the_files(tmp_path):
    folder = tmp_path / "tatoeba"
    folder.mkdir()
    for path in (real_dir("parallel") / "tatoeba_laser_v1").glob("tatoeba.ara-eng.*"):  # Arabic only
        (folder / path.name).write_bytes(path.read_bytes())

    result = CliRunner().invoke(main, ["download", "--params", _languages(tmp_path, ["en", "de", "ar"], folder),
                                       "--task", "mldoc", "--out", str(tmp_path / "raw")])

    assert result.exit_code == 2  # MLDoc's German test set needs German pairs; it has no Arabic test set
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert f"datasets.parallel (local {folder}): no English pair for ['de'], which ['mldoc'] need" in line
    assert "tatoeba.<xxx>-eng.<xxx> and tatoeba.<xxx>-eng.eng" in line
    assert not (tmp_path / "raw").exists()
