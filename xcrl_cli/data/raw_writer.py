"""Writing a raw folder (the layout `raw.py` describes): the embedded benchmark and the real datasets share it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..io import atomic_dir, dumps_jsonl, write_json
from .raw import write_not_run


@dataclass
class RawFolder:
    """Everything a raw folder holds, in memory; the embedded benchmark and the real datasets both produce one."""

    meta: dict
    # task folder (`raw.task_folder`: the task, or a draw of it) -> split -> examples in the common schema
    rows: dict[str, dict[str, list[dict]]]
    translations: dict[str, list[dict]]  # task folder -> translations of its source-language train rows
    corpus: dict[str, list[str]]  # lang -> unlabelled lines for masked-LM pretraining
    dictionaries: dict[str, list[tuple[str, str]]]  # target lang -> (source word, target word)
    parallel: list[dict] = field(default_factory=list)  # {lang, source, target}: pairs for tasks without translations
    # split (train | heldout) -> {id, lang, source, target}: the parallel pretraining corpus and its retrieval set
    corpus_parallel: dict[str, list[dict]] = field(default_factory=dict)
    not_run: dict[str, str] = field(default_factory=dict)  # task -> why its dataset is absent


def _lines(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def write_raw(raw: RawFolder, out: Path) -> None:
    """Write the folder into a temporary one beside `out`, then swap it in: readers never see half a folder."""
    source = raw.meta["source_lang"]
    with atomic_dir(Path(out)) as tmp:
        write_json(tmp / "meta.json", raw.meta)
        for task, splits in raw.rows.items():
            (tmp / task).mkdir(parents=True)
            for split, rows in splits.items():
                (tmp / task / f"{split}.jsonl").write_text(dumps_jsonl(rows), encoding="utf-8")
            (tmp / task / "translations.jsonl").write_text(dumps_jsonl(raw.translations[task]), encoding="utf-8")
        for task, reason in raw.not_run.items():
            write_not_run(tmp / task, reason)
        for lang, lines in raw.corpus.items():
            _lines(tmp / "corpus" / f"{lang}.txt", lines)
        for split, rows in raw.corpus_parallel.items():
            (tmp / "corpus" / "parallel").mkdir(parents=True, exist_ok=True)
            (tmp / "corpus" / "parallel" / f"{split}.jsonl").write_text(dumps_jsonl(rows), encoding="utf-8")
        for lang, pairs in raw.dictionaries.items():
            _lines(tmp / "dictionaries" / f"{source}-{lang}.txt", (f"{s} {t}" for s, t in pairs))
        if raw.parallel:
            (tmp / "parallel.jsonl").write_text(dumps_jsonl(raw.parallel), encoding="utf-8")
