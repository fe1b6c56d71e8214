"""Typed view of `params.yaml`: every knob of the pipeline, checked before any work starts.

`params.yaml` has one section per stage (DVC's example-get-started layout). The loader maps each section onto a
frozen dataclass and rejects unknown keys and wrong types, naming the key, the value and what is allowed, so a typo
fails in a second rather than after an hour of training. The dataclasses and the range of every number are here;
the checks are in `validation.py`, the reading of the file in `loading.py`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

TASKS = ("xnli", "pawsx", "mldoc", "sentiment")  # the paper's tasks: the built-in formats of the task registry
TASK_FORMATS = (*TASKS, "table")  # tasks.<name>.format
METRICS = ("accuracy", "macro_f1", "f1")  # tasks.<name>.metric (f1: of the second label, for two labels)
TABLE_SPLITS = ("train", "dev", "test", "translations")  # the files a table task may name
COLUMN_ROLES = ("text", "text_pair", "label", "lang", "id")  # tasks.<name>.columns
SOURCES = ("embedded", "real")
LOSS_TERMS = ("task", "contrastive", "sem", "orth", "adv", "inv", "cf", "align")
ALIGN_MODES = ("coral", "coral_literal", "mmd", "mmd_biased")
LAUNCHERS = ("local", "slurm")  # train.launcher


# The allowed interval of every numeric key ("[" closed, "(" open); NaN and infinities are refused everywhere.
RANGES = {
    "benchmark.seed": "[0, inf)", "benchmark.corpus_seed": "[0, inf)",
    "benchmark.cue_strength.*": "[0, 1]", "benchmark.cue_rate.*": "(0, 1]", "benchmark.train_size": "[1, inf)",
    "benchmark.dev_size": "[1, inf)", "benchmark.test_size": "[1, inf)", "benchmark.corpus_size": "[1, inf)",
    "benchmark.low_resource_fraction": "(0, 1]", "benchmark.sentiment_negation": "[0, 1]",
    "benchmark.parallel_size": "[1, inf)", "benchmark.retrieval_size": "[1, inf)",
    "datasets.mldoc.train_size": "[1000, 10000]", "datasets.parallel.max_pairs": "[1, inf)",
    "pairs.seed": "[0, inf)", "pairs.min_len_ratio": "(0, inf)", "pairs.max_len_ratio": "(0, inf)",
    "pairs.counterfactual_mix.*": "[0, 1]", "pairs.code_switch_rate": "[0, 1]", "pairs.word_order_window": "[2, inf)",
    "pretrain.seed": "[0, inf)", "pretrain.vocab_size": "[100, inf)", "pretrain.hidden_size": "[1, inf)",
    "pretrain.num_layers": "[1, inf)", "pretrain.num_heads": "[1, inf)", "pretrain.intermediate_size": "[1, inf)",
    "pretrain.max_length": "[8, inf)", "pretrain.steps": "[1, inf)", "pretrain.batch_size": "[1, inf)",
    "pretrain.corpus_batch_size": "[0, inf)", "pretrain.align_weight": "[0, inf)", "pretrain.tlm_weight": "[0, inf)",
    "pretrain.temperature": "(0, inf)", "pretrain.encode_chunks": "[1, inf)",
    "pretrain.lr": "(0, inf)", "pretrain.mask_prob": "(0, 1)",
    "model.inv_dim": "[1, inf)", "model.spe_dim": "[1, inf)", "model.task_dim": "[1, inf)",
    "model.head_hidden": "[1, inf)", "model.dropout": "[0, 1)", "model.encoder_dropout": "[0, 1)", "model.temperature": "(0, inf)",
    "model.grl_gamma": "[0, inf)", "model.gate_bias": "[0, inf)", "model.align_min_per_lang": "[2, inf)",
    "train.seeds[]": "[0, inf)", "train.epochs": "[1, inf)", "train.task_epochs.*": "[1, inf)",
    "train.batch_size": "[1, inf)", "train.lr": "(0, inf)",
    "train.weight_decay": "[0, inf)", "train.warmup_ratio": "[0, 1]", "train.max_length": "[8, inf)",
    "train.eval_every": "[1, inf)", "train.max_grad_norm": "(0, inf)", "train.grad_accum": "[1, inf)",
    "train.length_group": "[1, inf)", "train.encode_chunks": "[1, inf)", "train.checkpoint_every": "[0, inf)",
    "train.workers": "[1, inf)",
    "train.runs_per_gpu": "[1, inf)", "train.slurm.time_min": "[1, inf)", "train.slurm.gpus_per_job": "[0, inf)",
    "train.slurm.cpus_per_job": "[1, inf)", "train.slurm.mem_gb": "[1, inf)",
    "train.slurm.array_parallelism": "[1, inf)", "train.slurm.max_requeues": "[0, inf)", "train.slurm.poll_s": "(0, inf)",
    "train.encoder_lr_scale": "(0, 1]", "train.embedding_lr_scale": "[0, 1]",
    "train.log_every": "[1, inf)",
    "variants.*.weights.*": "[0, inf)",
    "evaluate.seed": "[0, inf)", "evaluate.probe_max_iter": "[1, inf)", "evaluate.cluster_meanings": "[2, inf)",
    "evaluate.retrieval_pairs": "[0, inf)",
    "sweep.cue_strengths[]": "[0, 1]",
    "report.significance.n_boot": "[100, inf)", "report.significance.level": "(0, 1)",
    "report.significance.seed": "[0, inf)",
}


class ConfigError(ValueError):
    """A value in params.yaml (or a CLI option) that cannot be used; the message names key, value and what is valid."""


@dataclass(frozen=True)
class DataConfig:
    source: str = "embedded"
    source_lang: str = "en"
    languages: tuple[str, ...] = ("en", "de", "fr", "ar", "hi", "sw")
    low_resource: tuple[str, ...] = ("ar", "hi", "sw")
    tasks: tuple[str, ...] = TASKS

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(lang for lang in self.languages if lang != self.source_lang)


@dataclass(frozen=True)
class BenchmarkParams:
    seed: int = 0  # the task data (every draw's examples and cue placement)
    corpus_seed: int = 0  # the pretraining corpora, monolingual and parallel, hence the pretrained encoder
    # task -> s: a source train/dev particle names the label with probability s + (1 - s)/K
    cue_strength: dict[str, float] = field(default_factory=lambda: {task: 0.9 for task in TASKS})
    # task -> r: the share of source train/dev examples closed by a particle (a task it does not name: 1, all of them)
    cue_rate: dict[str, float] = field(default_factory=dict)
    train_size: int = 2000
    dev_size: int = 200
    test_size: int = 300
    corpus_size: int = 4000
    low_resource_fraction: float = 0.5
    sentiment_negation: float = 0.2  # P(the evaluative words are negated) in a sentiment example
    parallel_size: int = 24000  # English–target pairs of the parallel pretraining corpus
    retrieval_size: int = 1000  # held-out pairs per target language for the encoder's retrieval accuracy
    draw_per_seed: bool = False  # each seed of train.seeds trains and is tested on its own draw of the task data


@dataclass(frozen=True)
class HubOrLocal:
    """A dataset read from the Hugging Face Hub (`hub`, a dataset id) or from a folder in its original layout
    (`local`, which wins when set)."""

    hub: str | None = None
    local: str | None = None


@dataclass(frozen=True)
class MLDocSource:
    local: str | None = None
    train_size: int = 1000  # which English training file of the MLDoc script: 1000, 2000, 5000 or 10000


@dataclass(frozen=True)
class ParallelSource:
    hub: str | None = None
    local: str | None = None
    max_pairs: int = 20000  # per target language


@dataclass(frozen=True)
class DictionarySource:
    url: str | None = None  # base URL of MUSE's `<src>-<tgt>.txt` files, read through `datasets`
    local: str | None = None


@dataclass(frozen=True)
class DatasetsParams:
    """The paper's datasets, read when data.source is `real` (docs/paper-scale.md)."""

    xnli: HubOrLocal = field(default_factory=HubOrLocal)
    pawsx: HubOrLocal = field(default_factory=HubOrLocal)
    mldoc: MLDocSource = field(default_factory=MLDocSource)
    sentiment: HubOrLocal = field(default_factory=HubOrLocal)
    parallel: ParallelSource = field(default_factory=ParallelSource)
    dictionaries: DictionarySource = field(default_factory=DictionarySource)
    optional: tuple[str, ...] = ("mldoc",)  # tasks marked "not run" when absent, instead of failing `download`


@dataclass(frozen=True)
class TaskEntry:
    """One task of the registry (`tasks:` in params.yaml; docs/your-task.md). A built-in format is one of the paper's
    datasets, read from `datasets.<format>` (or generated by the embedded benchmark); `table` is any dataset in
    files (csv, tsv, jsonl, parquet) or on the Hub, described by the fields below it."""

    format: str = "table"  # xnli | pawsx | mldoc | sentiment | table
    metric: str = "accuracy"  # its column in the report: accuracy | macro_f1 | f1 (of the second label)
    kind: str = "single"  # table: single (one text) | pair (two texts)
    labels: tuple[str, ...] = ()  # table: the label names, in order (index 1 is f1's positive label)
    # table: how the data writes each label, in the order of `labels` (1 and 5 for stars); default: its name or index
    label_values: tuple[str | int, ...] = ()
    files: dict[str, str] = field(default_factory=dict)  # table: split -> a file or a folder of parquet files;
                                                         # `{lang}` in a path: one per language
    hub: str | None = None  # table: a Hub dataset id, or a local folder laid out as one (data/<split>-*.parquet)
    hub_config: str | None = None  # its config; `{lang}`: one config per language
    hub_splits: dict[str, str] = field(default_factory=lambda: {"train": "train", "dev": "validation", "test": "test"})
    columns: dict[str, str] = field(default_factory=dict)  # role (text, text_pair, label, lang, id) -> column
    language: str | None = None  # rows' language when no `lang` column and no {lang}: default data.source_lang
    skip_texts: tuple[str, ...] = ()  # texts standing for a missing one (PAWS-X's "NS"): such rows skipped, counted


@dataclass(frozen=True)
class PairsParams:
    seed: int = 0
    min_len_ratio: float = 0.5
    max_len_ratio: float = 2.0
    counterfactual_mix: dict[str, float] = field(
        default_factory=lambda: {"translation_swap": 0.25, "code_switch": 0.25, "word_order": 0.25, "style": 0.25}
    )
    code_switch_rate: float = 0.3
    word_order_window: int = 3


@dataclass(frozen=True)
class PretrainConfig:
    init: str = "scratch"  # scratch = train the tiny encoder below; a hub id (xlm-roberta-base) = snapshot it
    seed: int = 0
    vocab_size: int = 4000
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 2
    intermediate_size: int = 256
    max_length: int = 64
    steps: int = 750
    batch_size: int = 64  # parallel pairs per step (both sides); without a parallel corpus, monolingual sentences
    corpus_batch_size: int = 0  # monolingual sentences added to each step beside the pairs
    lr: float = 1e-3
    mask_prob: float = 0.15
    align_weight: float = 1.0  # weight of the pooled InfoNCE term between the two sides of a pair
    temperature: float = 0.1  # its temperature τ
    tlm_weight: float = 0.0  # weight of masked LM on each pair concatenated into one sequence (XLM's TLM)
    encode_chunks: int = 1  # length-sorted groups each step's batch is encoded in; 1 = one padded tensor


@dataclass(frozen=True)
class ModelConfig:
    encoder: str = "data/encoder"
    encoder_label: str = "tiny-xlmr (embedded)"
    pooling: str = "mean"
    inv_dim: int = 64
    spe_dim: int = 64
    task_dim: int = 64
    head_hidden: int = 128
    dropout: float = 0.1
    encoder_dropout: float | None = None  # the encoder's hidden and attention dropout in fine-tuning; None = its own
    orth_mode: str = "per_sample"
    align_mode: str = "coral"  # coral | mmd (scale-free readings) | coral_literal | mmd_biased (as first implemented)
    align_min_per_lang: int = 8  # rows a language needs in the batch to be aligned on its own; else targets pooled
    gate_init: str = "open"  # open (W_c = 0, b_c = gate_bias) | default (nn.Linear's own init, σ ≈ 0.5)
    gate_bias: float = 3.0
    distance: str = "normalized"  # sem and inv: normalized (between L2-normalised vectors) | squared (literal)
    temperature: float = 0.1
    grl_schedule: str = "dann"
    grl_gamma: float = 10.0


@dataclass(frozen=True)
class SlurmConfig:
    """`train.launcher: slurm`: each run one job of a Slurm array, submitted through submitit (`training/slurm.py`)."""

    cluster: str = "slurm"  # slurm | local (submitit's local executor: the same path on this machine, as the tests run)
    folder: str = "data/slurm"  # submitit's job files and logs, on the file system every node shares
    partition: str = ""  # empty: the cluster's default
    account: str = ""
    constraint: str = ""  # e.g. a GPU model the cluster names
    time_min: int = 120  # per job; a job that reaches it is requeued and resumes from its checkpoint
    gpus_per_job: int = 1
    cpus_per_job: int = 8
    mem_gb: int = 32
    array_parallelism: int = 64  # jobs of the array running at once
    max_requeues: int = 3  # timeouts a job may be requeued after (preemptions are not counted)
    setup: tuple[str, ...] = ()  # shell lines each job runs first (module load ..., source .venv/bin/activate)
    poll_s: float = 10.0  # seconds between the stage's looks at the array


@dataclass(frozen=True)
class TrainConfig:
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 2
    # task -> its own epochs instead of `epochs` (not hashed, as a dict cannot be: the config is a cache key)
    task_epochs: dict[str, int] = field(default_factory=dict, hash=False)
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 64
    eval_every: int = 25
    max_grad_norm: float = 1.0
    device: str = "auto"  # auto (cuda when available) | cpu | cuda
    precision: str = "fp32"  # fp32 | bf16 (autocast; CUDA only)
    grad_accum: int = 1  # forward passes of batch_size examples per optimiser step
    length_group: int = 1  # batches per length-sorted mega-batch; 1 = plain random batches
    encode_chunks: int = 1  # length-sorted groups a concatenated training batch is encoded in; 1 = one tensor
    checkpoint_every: int = 25  # optimiser steps between checkpoints; 0 = none
    workers: int | str = "auto"  # CPU: runs trained and evaluated side by side, one process each (auto: one per core)
    runs_per_gpu: int = 1  # CUDA: runs side by side on each visible GPU, one spawned process each
    launcher: str = "local"  # local: the run pool above | slurm: one Slurm job per run (`slurm`)
    slurm: SlurmConfig = field(default_factory=SlurmConfig)
    encoder_lr_scale: float = 1.0  # the encoder's learning rate as a fraction of `lr` (heads, gate, adversary: lr)
    embedding_lr_scale: float = 1.0  # the word embeddings' rate as a fraction of the encoder's (0 = frozen)
    log_every: int = 1  # optimiser steps between logged scalars: each log waits for the GPU, the steps between do not
    compile: bool = False  # torch.compile the model (GPUs: faster steps after a compile of a minute or two)
    save_precision: str = "fp32"  # fp32 | bf16: the dtype of the run's weight files (checkpoints keep full precision)
    oracle_weights: bool = True  # also store the weights selected on the target dev sets (the oracle's)
    keep_finished_checkpoints: bool = True  # keep a finished run's checkpoint until its whole train stage is done

    def epochs_of(self, task: str) -> int:
        """The passes over `task`'s training set: its own budget where `task_epochs` names one, else `epochs`."""
        return self.task_epochs.get(task, self.epochs)


@dataclass(frozen=True)
class Variant:
    """One row of Tables 2/3: which modules exist and which loss terms are on (a weight of 0 removes the term)."""

    disentangle: bool
    gate: bool
    weights: dict[str, float]

    def weight(self, term: str) -> float:
        return float(self.weights.get(term, 0.0))

    @property
    def active_terms(self) -> tuple[str, ...]:
        return tuple(t for t in LOSS_TERMS if self.weight(t) > 0)


@dataclass(frozen=True)
class EvaluateConfig:
    seed: int = 0
    probe_max_iter: int = 1000
    cluster_meanings: int = 50
    retrieval_pairs: int = 100  # held-out parallel pairs per target language for the fine-tuned encoder's retrieval
                                # (0 = not measured)


@dataclass(frozen=True)
class SweepParams:
    """The spurious-cue sweep: the embedded benchmark rebuilt at other cue strengths for a few tasks and variants.
    `tasks` and `variants` are one-key maps so that DVC unpacks them into repeated --task/--variant flags."""

    cue_strengths: list[float] = field(default_factory=lambda: [0.0, 0.5, 0.99])
    tasks: dict[str, list[str]] = field(default_factory=lambda: {"task": ["mldoc"]})
    variants: dict[str, list[str]] = field(default_factory=lambda: {"variant": ["erm", "contrastive", "proposed"]})


@dataclass(frozen=True)
class SignificanceParams:
    reference: str = "proposed"  # compared with every other row of Tables 2-4 and the sweep's variants
    n_boot: int = 1000  # test-example resamples where every replicate shares one test set (the paper's datasets)
    level: float = 0.95
    seed: int = 0


@dataclass(frozen=True)
class ReportParams:
    significance: SignificanceParams = field(default_factory=SignificanceParams)
    tables: dict[str, list[str]] = field(default_factory=dict)
    figure3: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    paper_rows: dict[str, list[str]] = field(default_factory=dict)
    table4_space: list[str] = field(default_factory=lambda: ["z_inv", "h"])
    figure3_languages: list[str] = field(default_factory=list)  # Figure 3's targets; empty = every target


def paper_tasks() -> dict[str, TaskEntry]:
    """The registry's default: the paper's four tasks, each read by its own format."""
    metrics = {"xnli": "accuracy", "pawsx": "f1", "mldoc": "macro_f1", "sentiment": "macro_f1"}
    return {task: TaskEntry(format=task, metric=metrics[task]) for task in TASKS}


@dataclass(frozen=True)
class Params:
    data: DataConfig
    benchmark: BenchmarkParams
    datasets: DatasetsParams
    pairs: PairsParams
    pretrain: PretrainConfig
    model: ModelConfig
    train: TrainConfig
    variants: dict[str, Variant]
    evaluate: EvaluateConfig
    sweep: SweepParams
    report: ReportParams
    tasks: dict[str, TaskEntry] = field(default_factory=paper_tasks)

    def task(self, name: str) -> TaskEntry:
        if name not in self.tasks:
            raise ConfigError(f"unknown task {name!r}; the task registry (tasks: in params.yaml) has: "
                              f"{', '.join(self.tasks)}")
        return self.tasks[name]

    def variant(self, name: str) -> Variant:
        if name not in self.variants:
            raise ConfigError(f"unknown variant {name!r}; params.yaml defines: {', '.join(self.variants)}")
        return self.variants[name]


def to_dict(obj: Any) -> Any:
    """Plain-data copy of a config (for the resolved config written beside each run)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj
