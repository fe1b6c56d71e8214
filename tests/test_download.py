"""`xcrl download --source real` through the CLI: what it writes, and what it does when a dataset is absent."""

from __future__ import annotations

import json

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
