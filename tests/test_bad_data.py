"""Bad real-format files through `xcrl download --source real`: each case is either one error line (exit code 2)
naming the file and line, or handled and counted in download.json with no other row lost. docs/reliability.md's "Bad data"
table lists the same cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, real_dir

from xcrl_cli.cli import main

BOM = "\ufeff".encode()
UMSAB = {"english": {"train": 3, "val": 2, "test": 2}, "german": {"val": 2, "test": 2}}
PAWSX = {"en": ("train", "dev_2k", "test_2k"), "de": ("translated_train", "dev_2k", "test_2k")}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _fixture(root: Path) -> dict:
    """Tiny UMSAB, MARC, PAWS-X, Tatoeba and MUSE folders (English and German), and params reading them."""
    for folder, splits in UMSAB.items():
        for split, n in splits.items():
            _write(root / "umsab" / folder / f"{split}_text.txt", "".join(f"{folder} {split} tweet {i} \n"
                                                                          for i in range(n)))
            _write(root / "umsab" / folder / f"{split}_labels.txt", "".join(f"{i % 3}\n" for i in range(n)))
    for lang, splits in {"en": ("train", "dev", "test"), "de": ("dev", "test")}.items():
        for split in splits:
            _write(root / "marc" / f"dataset_{lang}_{split}.json", "".join(
                json.dumps({"review_id": f"{lang}{split}{i}", "stars": str(i + 1), "review_body": f"review {i}"}) + "\n"
                for i in range(2)))
    for lang, names in PAWSX.items():
        for name in names:
            _write(root / "x-final" / lang / f"{name}.tsv", "id\tsentence1\tsentence2\tlabel\n" + "".join(
                f"{i}\t{lang} {name} first {i}.\t{lang} second {i}.\t{i % 2}\n" for i in range(1, 4)))
    for side in ("deu", "eng"):
        _write(root / "tatoeba" / f"tatoeba.deu-eng.{side}", "".join(f"{side} sentence {i}\n" for i in range(4)))
    _write(root / "muse" / "en-de.txt", "the der\ncat Katze\ndog Hund\n")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(source="embedded", languages=["en", "de"], low_resource=[])
    params["datasets"] = {
        "pawsx": {"hub": None, "local": str(root)}, "sentiment": {"hub": None, "local": str(root / "umsab")},
        "parallel": {"hub": None, "local": str(root / "tatoeba"), "max_pairs": 100},
        "dictionaries": {"url": None, "local": str(root / "muse")}, "optional": [],
    }
    return params


def _counts(report: dict) -> dict:
    return {name: info["splits"] for name, info in report.items()}


def _expected() -> dict:
    """download.json's rows of the clean fixture, read off how it is built: every row kept."""
    def cell(n):
        return {"read": n, "kept": n, "skipped": {}}

    names = {"train": "train", "val": "dev", "test": "test"}
    sentiment: dict = {}
    for folder, splits in UMSAB.items():
        for split, n in splits.items():
            sentiment.setdefault(names[split], {})["en" if folder == "english" else "de"] = cell(n)
    pawsx = {"train": {"en": cell(3)}, "translations": {"de": cell(3)},
             "dev": {"de": cell(3), "en": cell(3)}, "test": {"de": cell(3), "en": cell(3)}}
    return {"dictionaries": {"pairs": {"de": cell(3)}}, "parallel": {"pairs": {"de": cell(4)}}, "pawsx": pawsx,
            "sentiment": sentiment}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _prepend_bom(path: Path) -> None:
    path.write_bytes(BOM + path.read_bytes())


def _marc_with_bad_json(root: Path, params: dict) -> None:
    params["datasets"]["sentiment"]["local"] = str(root / "marc")
    _edit(root / "marc" / "dataset_de_test.json", '{"review_id": "detest1"', '{"review_id" "detest1"')


def _crlf(root: Path, params: dict) -> None:
    for name in ("test_text.txt", "test_labels.txt"):
        path = root / "umsab" / "german" / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


# (case, edit of the fixture, None if handled, else (file the error names, its line or None))
CASES = [
    ("non-UTF-8 byte", lambda r, p: (r / "umsab/english/train_text.txt").write_bytes(b"ok\nCaf\xe9\nok\n"),
     ("english/train_text.txt", 2)),
    ("BOM in a text file", lambda r, p: _prepend_bom(r / "umsab/english/train_text.txt"), None),
    ("BOM in a labels file", lambda r, p: _prepend_bom(r / "umsab/german/test_labels.txt"), None),
    ("BOM in a TSV header", lambda r, p: _prepend_bom(r / "x-final/en/train.tsv"), None),
    ("CRLF line endings", _crlf, None),
    ("trailing empty line", lambda r, p: _edit(r / "umsab/english/test_text.txt", "1 \n", "1 \n\n"), None),
    ("labels file one line short", lambda r, p: _edit(r / "umsab/german/val_labels.txt", "1\n", ""),
     ("german/val_text.txt", 2)),
    ("Tatoeba sides of unequal length",
     lambda r, p: _edit(r / "tatoeba/tatoeba.deu-eng.deu", "deu sentence 3\n", ""), ("tatoeba.deu-eng.eng", 4)),
    ("TSV row with an extra field", lambda r, p: _edit(r / "x-final/de/dev_2k.tsv", "first 2.", "first\t2."),
     ("de/dev_2k.tsv", 3)),
    ("label outside the set", lambda r, p: _edit(r / "umsab/german/test_labels.txt", "1\n", "7\n"),
     ("german/test_labels.txt", 2)),
    ("label with a trailing space", lambda r, p: (_edit(r / "x-final/en/dev_2k.tsv", "\t1\n", "\t1 \n"),
                                                  _edit(r / "umsab/german/val_labels.txt", "1\n", "1\t\n")), None),
    ("missing per-language file", lambda r, p: (r / "umsab/german/test_text.txt").unlink(),
     ("german/test_text.txt", None)),
    ("empty per-language file", lambda r, p: _write(r / "x-final/de/test_2k.tsv", ""), ("de/test_2k.tsv", None)),
    ("missing whole split", lambda r, p: [(r / f"x-final/{lang}/dev_2k.tsv").unlink() for lang in ("en", "de")],
     ("en/dev_2k.tsv", None)),
    ("malformed JSON line", _marc_with_bad_json, ("dataset_de_test.json", 2)),
    ("MUSE line with a third column", lambda r, p: _edit(r / "muse/en-de.txt", "cat Katze", "cat Katze Kater"),
     ("en-de.txt", 2)),
]


def _download(tmp_path: Path, params: dict, tasks: tuple[str, ...] = ("pawsx", "sentiment")):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return CliRunner().invoke(main, ["download", "--source", "real", "--params", str(tmp_path / "params.yaml"),
                                     "--out", str(tmp_path / "raw"), "--metrics", str(tmp_path / "download.json"),
                                     *(arg for task in tasks for arg in ("--task", task))])


def test_the_clean_fixture_is_read_whole(tmp_path):
    result = _download(tmp_path, _fixture(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "download.json").read_text())
    assert _counts(report) == _expected()
    assert report["pawsx"]["absent"] == {} and report["sentiment"]["bom_removed"] == []
    assert "rows read, kept and skipped" in result.stdout


@pytest.mark.reliability
@pytest.mark.parametrize("case, edit, error", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_error_line_or_handled_and_counted(tmp_path, case, edit, error):
    params = _fixture(tmp_path / "data")
    edit(tmp_path / "data", params)
    result = _download(tmp_path, params)
    if error is None:
        assert result.exit_code == 0, result.output
        report = json.loads((tmp_path / "download.json").read_text())
        assert _counts(report) == _expected()  # every row of every file, none lost or added
        boms = [f for info in report.values() for f in info["bom_removed"]]
        assert len(boms) == case.startswith("BOM")
        raw = (tmp_path / "raw").rglob("*.jsonl")
        assert not any("\ufeff" in path.read_text(encoding="utf-8") for path in raw)
    else:
        name, line = error
        assert result.exit_code == 2, result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        assert name in lines[0] and (line is None or f"{name}:{line}" in lines[0]), lines[0]
        assert not (tmp_path / "raw").exists() and not (tmp_path / "download.json").exists()


def test_debug_shows_the_traceback(tmp_path):
    params = _fixture(tmp_path / "data")
    _edit(tmp_path / "data" / "muse" / "en-de.txt", "cat Katze", "cat Katze Kater")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    args = ["download", "--source", "real", "--params", str(tmp_path / "params.yaml"), "--out", str(tmp_path / "r"),
            "--task", "sentiment"]
    for cli_args, env in ((["--debug", *args], {}), (args, {"XCRL_DEBUG": "1"})):
        result = CliRunner().invoke(main, cli_args, env=env)
        assert result.exit_code == 1 and "en-de.txt:2" in str(result.exception)


def test_source_real_checks_languages_against_the_real_datasets(tmp_path):
    params = _fixture(tmp_path / "data")
    params["data"]["languages"] = ["en", "de", "it"]  # no lexicon for Italian, but UMSAB has it
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    train = CliRunner().invoke(main, ["pairs", "--params", str(tmp_path / "params.yaml")])
    assert train.exit_code == 2 and "'it' is not one of" in train.stderr and "source 'embedded'" in train.stderr
    result = _download(tmp_path, params)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "download.json").read_text())
    assert report["pawsx"]["absent"] == {"it": "not in PAWS-X"}
    assert report["sentiment"]["absent"] == {"it": f"not in {tmp_path / 'data' / 'umsab'}"}
    assert "pawsx: it not in PAWS-X" in result.stdout


def test_a_partial_pawsx_copy_reads_the_languages_present(tmp_path):
    params = _fixture(tmp_path / "data")
    params["data"]["languages"] = ["en", "de", "fr"]
    result = _download(tmp_path, params, tasks=("pawsx",))  # x-final/ has no fr/ folder
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "download.json").read_text())
    assert report["pawsx"]["absent"] == {"fr": f"not in {tmp_path / 'data'}"}
    assert report["pawsx"]["splits"] == _expected()["pawsx"]


@pytest.mark.real_data
def test_download_counts_match_the_real_sample_files(tmp_path):
    """Every row of the real UMSAB, PAWS-X, Tatoeba and MUSE samples is counted, read in place."""
    langs = ["en", "de", "fr", "es", "ar", "hi", "sw", "zh"]
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(source="real", languages=langs, low_resource=[])
    params["datasets"] = {
        "pawsx": {"hub": None, "local": str(real_dir("pawsx"))},
        "sentiment": {"hub": None, "local": str(real_dir("sentiment") / "umsab")},
        "parallel": {"hub": None, "local": str(real_dir("parallel") / "tatoeba_laser_v1"), "max_pairs": 100000},
        "dictionaries": {"url": None, "local": str(real_dir("muse"))}, "optional": [],
    }
    result = _download(tmp_path, params)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "download.json").read_text())

    def lines(path: Path) -> int:
        return len([line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()])

    names = {"train": "train", "val": "dev", "test": "test"}
    from xcrl_cli.config.languages import LANGUAGE_NAMES
    from xcrl_cli.data.corpora.schema import ISO639_3

    for lang in ("en", "de", "fr", "es", "ar", "hi"):
        for split, ours in names.items():
            if split != "train" or lang == "en":
                path = real_dir("sentiment") / "umsab" / LANGUAGE_NAMES[lang] / f"{split}_text.txt"
                assert report["sentiment"]["splits"][ours][lang]["read"] == lines(path), path
    pawsx = real_dir("pawsx") / "x-final"
    for lang in ("en", "de", "fr", "es", "zh"):
        for name, split in (("dev_2k", "dev"), ("test_2k", "test"), ("translated_train", "translations")):
            if (pawsx / lang / f"{name}.tsv").is_file() and (lang != "en" or split != "translations"):
                assert report["pawsx"]["splits"][split][lang]["read"] == lines(pawsx / lang / f"{name}.tsv") - 1
    assert report["pawsx"]["splits"]["train"]["en"]["read"] == lines(pawsx / "en" / "train.tsv") - 1
    for lang in ("de", "fr", "es", "ar", "hi", "sw", "zh"):
        code = ISO639_3[lang]
        path = real_dir("parallel") / "tatoeba_laser_v1" / f"tatoeba.{code}-eng.{code}"
        assert report["parallel"]["splits"]["pairs"][lang]["read"] == lines(path)
    for lang in ("de", "fr", "es", "ar", "hi", "zh"):
        assert report["dictionaries"]["splits"]["pairs"][lang]["read"] == lines(real_dir("muse") / f"en-{lang}.txt")
    assert report["dictionaries"]["absent"] == {"sw": f"no en-sw.txt in {real_dir('muse')}"}
    assert {lang: why for lang, why in report["pawsx"]["absent"].items()} == {
        lang: "not in PAWS-X" for lang in ("ar", "hi", "sw")}
    for info in report.values():
        for cells in info["splits"].values():
            for cell in cells.values():
                assert cell["read"] == cell["kept"] + sum(cell["skipped"].values())


def _whole_run(params: dict, optional: list[str]) -> dict:
    """Params for a download of every task (no --task, so `datasets.optional` applies) of the fixture."""
    params["data"]["tasks"] = ["pawsx", "sentiment"]
    params["sweep"]["tasks"]["task"] = ["sentiment"]
    params["datasets"]["optional"] = optional
    return params


def test_an_optional_dataset_missing_one_languages_file_drops_that_language_alone(tmp_path):
    """In a dataset of `datasets.optional`, a missing or empty file of one language leaves that language out with a
    warning naming the file, recorded in download.json and meta.json; the task and its other languages stay."""
    params = _whole_run(_fixture(tmp_path / "data"), optional=["pawsx", "sentiment"])
    missing, empty = tmp_path / "data/umsab/german/test_text.txt", tmp_path / "data/x-final/de/test_2k.tsv"
    missing.unlink()
    _write(empty, "")
    result = _download(tmp_path, params, tasks=())
    assert result.exit_code == 0, result.output
    assert f"WARNING sentiment: de not run — {missing} not found" in result.stdout
    assert f"WARNING pawsx: de not run — {empty} empty" in result.stdout
    assert "WARNING sentiment: no target language left; nothing will score its transfer" in result.stdout
    report = json.loads((tmp_path / "download.json").read_text())
    assert report["sentiment"]["languages_not_run"] == {"de": f"{missing} not found"}
    assert report["pawsx"]["languages_not_run"] == {"de": f"{empty} empty"}
    expected = _expected()
    for name in ("pawsx", "sentiment"):  # every other row still read, none of German's
        cells = {split: {lang: c for lang, c in langs.items() if lang != "de"}
                 for split, langs in expected[name].items()}
        assert report[name]["splits"] == {split: langs for split, langs in cells.items() if langs}
    meta = json.loads((tmp_path / "raw" / "meta.json").read_text())
    assert meta["tasks"]["sentiment"]["languages"] == ["en"]
    assert meta["tasks"]["sentiment"]["languages_not_run"] == {"de": f"{missing} not found"}
    params["datasets"]["optional"] = []  # outside datasets.optional the same file is an error
    result = _download(tmp_path, params, tasks=())
    assert result.exit_code == 2 and str(empty) in result.stderr  # pawsx is read first


def test_an_optional_datasets_missing_source_language_file_leaves_the_task_not_run(tmp_path):
    params = _whole_run(_fixture(tmp_path / "data"), optional=["sentiment"])
    (tmp_path / "data/umsab/english/train_labels.txt").unlink()
    result = _download(tmp_path, params, tasks=())
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "download.json").read_text())
    assert "english/train_labels.txt not found" in report["sentiment"]["not_run"]
    assert report["pawsx"]["splits"] == _expected()["pawsx"]
