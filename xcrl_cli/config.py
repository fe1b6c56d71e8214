"""Typed view of `params.yaml`: every knob of the pipeline, checked before any work starts.

`params.yaml` has one section per stage (DVC's example-get-started layout). The loader maps each section onto a
frozen dataclass and rejects unknown keys and wrong types, naming the key, the value and what is allowed, so a typo
fails in a second rather than after an hour of training.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _YamlLoader(yaml.SafeLoader):
    """YAML 1.2 floats: PyYAML reads `2e-05` (what `dvc exp run -S` writes for 0.00002) as a string."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def load_yaml(text: str):
    return yaml.load(text, Loader=_YamlLoader)


TASKS = ("xnli", "pawsx", "mldoc", "sentiment")
SOURCES = ("embedded", "real")
LOSS_TERMS = ("task", "contrastive", "sem", "orth", "adv", "inv", "cf", "align")
ALIGN_MODES = ("coral", "coral_literal", "mmd", "mmd_biased")


# The allowed interval of every numeric key ("[" closed, "(" open); NaN and infinities are refused everywhere.
RANGES = {
    "benchmark.seed": "[0, inf)", "benchmark.cue_strength": "[0, 1]", "benchmark.train_size": "[1, inf)",
    "benchmark.dev_size": "[1, inf)", "benchmark.test_size": "[1, inf)", "benchmark.corpus_size": "[1, inf)",
    "benchmark.low_resource_fraction": "(0, 1]", "benchmark.sentiment_negation": "[0, 1]",
    "benchmark.parallel_size": "[1, inf)", "benchmark.retrieval_size": "[1, inf)",
    "datasets.mldoc.train_size": "[1000, 10000]", "datasets.parallel.max_pairs": "[1, inf)",
    "pairs.seed": "[0, inf)", "pairs.min_len_ratio": "(0, inf)", "pairs.max_len_ratio": "(0, inf)",
    "pairs.counterfactual_mix.*": "[0, 1]", "pairs.code_switch_rate": "[0, 1]", "pairs.word_order_window": "[2, inf)",
    "pretrain.seed": "[0, inf)", "pretrain.vocab_size": "[100, inf)", "pretrain.hidden_size": "[1, inf)",
    "pretrain.num_layers": "[1, inf)", "pretrain.num_heads": "[1, inf)", "pretrain.intermediate_size": "[1, inf)",
    "pretrain.max_length": "[8, inf)", "pretrain.steps": "[1, inf)", "pretrain.batch_size": "[1, inf)",
    "pretrain.corpus_batch_size": "[0, inf)", "pretrain.align_weight": "[0, inf)", "pretrain.temperature": "(0, inf)",
    "pretrain.lr": "(0, inf)", "pretrain.mask_prob": "(0, 1)",
    "model.inv_dim": "[1, inf)", "model.spe_dim": "[1, inf)", "model.task_dim": "[1, inf)",
    "model.head_hidden": "[1, inf)", "model.dropout": "[0, 1)", "model.temperature": "(0, inf)",
    "model.grl_gamma": "[0, inf)", "model.gate_bias": "[0, inf)", "model.align_min_per_lang": "[2, inf)",
    "train.seeds[]": "[0, inf)", "train.epochs": "[1, inf)", "train.batch_size": "[1, inf)", "train.lr": "(0, inf)",
    "train.weight_decay": "[0, inf)", "train.warmup_ratio": "[0, 1]", "train.max_length": "[8, inf)",
    "train.eval_every": "[1, inf)", "train.max_grad_norm": "(0, inf)", "train.grad_accum": "[1, inf)",
    "train.length_group": "[1, inf)", "train.checkpoint_every": "[0, inf)", "train.workers": "[1, inf)",
    "train.log_every": "[1, inf)",
    "variants.*.weights.*": "[0, inf)",
    "evaluate.seed": "[0, inf)", "evaluate.probe_max_iter": "[1, inf)", "evaluate.cluster_meanings": "[2, inf)",
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
    seed: int = 0
    cue_strength: float = 0.9
    train_size: int = 2000
    dev_size: int = 200
    test_size: int = 300
    corpus_size: int = 4000
    low_resource_fraction: float = 0.5
    sentiment_negation: float = 0.2  # P(the evaluative word is negated) in a sentiment example
    parallel_size: int = 24000  # English–target pairs of the parallel pretraining corpus
    retrieval_size: int = 1000  # held-out pairs per target language for the encoder's retrieval accuracy


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
    """The paper's datasets, read when data.source is `real` (README: "The paper's datasets")."""

    xnli: HubOrLocal = field(default_factory=HubOrLocal)
    pawsx: HubOrLocal = field(default_factory=HubOrLocal)
    mldoc: MLDocSource = field(default_factory=MLDocSource)
    sentiment: HubOrLocal = field(default_factory=HubOrLocal)
    parallel: ParallelSource = field(default_factory=ParallelSource)
    dictionaries: DictionarySource = field(default_factory=DictionarySource)
    optional: tuple[str, ...] = ("mldoc",)  # tasks marked "not run" when absent, instead of failing `download`


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
class TrainConfig:
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 2
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
    checkpoint_every: int = 25  # optimiser steps between checkpoints; 0 = none
    workers: int = 1  # runs trained and evaluated side by side on CPU (one process each); GPUs: one at a time
    log_every: int = 1  # optimiser steps between logged scalars: each log waits for the GPU, the steps between do not
    compile: bool = False  # torch.compile the model (GPUs: faster steps after a compile of a minute or two)
    save_precision: str = "fp32"  # fp32 | bf16: the dtype of the run's weight files (checkpoints keep full precision)
    oracle_weights: bool = True  # also store the weights selected on the target dev sets (the oracle's)
    keep_finished_checkpoints: bool = True  # keep a finished run's checkpoint until its whole train stage is done


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


@dataclass(frozen=True)
class SweepParams:
    """The spurious-cue sweep: the embedded benchmark rebuilt at other cue strengths for a few tasks and variants.
    `tasks` and `variants` are one-key maps so that DVC unpacks them into repeated --task/--variant flags."""

    cue_strengths: list[float] = field(default_factory=lambda: [0.0, 0.5, 0.99])
    tasks: dict[str, list[str]] = field(default_factory=lambda: {"task": ["mldoc"]})
    variants: dict[str, list[str]] = field(default_factory=lambda: {"variant": ["erm", "contrastive", "proposed"]})


@dataclass(frozen=True)
class SignificanceParams:
    reference: str = "proposed"  # compared with every other row of Tables 2 and 3
    n_boot: int = 1000
    level: float = 0.95
    seed: int = 0


@dataclass(frozen=True)
class ReportParams:
    significance: SignificanceParams = field(default_factory=SignificanceParams)
    task_metric: dict[str, str] = field(default_factory=dict)
    tables: dict[str, list[str]] = field(default_factory=dict)
    figure3: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    paper_rows: dict[str, list[str]] = field(default_factory=dict)
    table4_space: list[str] = field(default_factory=lambda: ["z_inv", "h"])
    figure3_languages: list[str] = field(default_factory=list)  # Figure 3's targets; empty = every target


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

    def variant(self, name: str) -> Variant:
        if name not in self.variants:
            raise ConfigError(f"unknown variant {name!r}; params.yaml defines: {', '.join(self.variants)}")
        return self.variants[name]


def _check_type(value: Any, hint: Any, key: str) -> Any:
    """Coerce `value` to the annotated type or raise naming the key; ints are accepted where floats are expected."""
    origin = typing.get_origin(hint)
    if isinstance(hint, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        inner = [h for h in typing.get_args(hint) if h is not type(None)]
        if len(inner) != 1:
            raise ConfigError(f"{key}: union types other than `T | None` are not supported in params")
        return _check_type(value, inner[0], key)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{key}: {value!r} is not a finite number")
        return float(value)
    if hint in (int, str, bool):
        if type(value) is not hint:
            raise ConfigError(f"{key}: expected {hint.__name__}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        item = typing.get_args(hint)[0]
        items = [_check_type(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        _, val_t = typing.get_args(hint)
        return {str(k): _check_type(v, val_t, f"{key}.{k}") for k, v in value.items()}
    return value


def _build(cls: type, raw: Any, key: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{key}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(f"{key}: unknown key(s) {unknown}; allowed: {names}")
    kwargs = {name: _check_type(raw[name], hints[name], f"{key}.{name}") for name in names if name in raw}
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"{key}: {err}") from None


def _one_of(key: str, value: str, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}: {value!r} is not one of {list(allowed)}")


def _range_key(key: str) -> str | None:
    """The RANGES entry covering `key` (`variants.erm.weights.task` -> `variants.*.weights.*`), or None."""
    if key in RANGES:
        return key
    generic = re.sub(r"\[\d+\]$", "[]", key)
    parts = generic.split(".")
    for pattern in RANGES:
        pat = pattern.split(".")
        if len(pat) == len(parts) and all(a == "*" or a == b for a, b in zip(pat, parts)):
            return pattern
    return generic if generic in RANGES else None


def _check_range(key: str, value: float) -> None:
    pattern = _range_key(key)
    if pattern is None:
        return
    interval = RANGES[pattern]
    lo, hi = (float(x) for x in interval[1:-1].split(","))
    low_ok = value > lo if interval[0] == "(" else value >= lo
    high_ok = value < hi if interval[-1] == ")" else value <= hi
    if not (low_ok and high_ok):
        raise ConfigError(f"{key}: {value!r} is outside the allowed range {interval}")


def _check_ranges(obj: Any, key: str) -> None:
    """Every numeric leaf of the built params against RANGES."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            _check_ranges(getattr(obj, f.name), f"{key}.{f.name}" if key else f.name)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _check_ranges(v, f"{key}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_ranges(v, f"{key}[{i}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        _check_range(key, obj)


def _check_languages(data: DataConfig) -> None:
    if data.source == "embedded":
        from .lexicon import LANGUAGE_CODES as known
    else:
        from .corpora.schema import LANGUAGE_NAMES as known
    for lang in data.languages:
        _one_of("data.languages", lang, sorted(known))
    if len(set(data.languages)) != len(data.languages):
        raise ConfigError(f"data.languages: {list(data.languages)} lists a language twice")
    if len(set(data.tasks)) != len(data.tasks) or not data.tasks:
        raise ConfigError(f"data.tasks: {list(data.tasks)} must name each task once, at least one")


def _validate(p: Params) -> None:
    _check_ranges(p, "")
    _one_of("data.source", p.data.source, SOURCES)
    _check_languages(p.data)
    for task in p.data.tasks:
        _one_of("data.tasks", task, TASKS)
    for task in p.datasets.optional:
        _one_of("datasets.optional", task, TASKS)
    _one_of("data.source_lang", p.data.source_lang, list(p.data.languages))
    for lang in p.data.low_resource:
        _one_of("data.low_resource", lang, list(p.data.languages))
    _one_of("model.pooling", p.model.pooling, ("cls", "mean"))
    _one_of("model.orth_mode", p.model.orth_mode, ("per_sample", "batch"))
    _one_of("model.align_mode", p.model.align_mode, ALIGN_MODES)
    _one_of("model.gate_init", p.model.gate_init, ("open", "default"))
    _one_of("model.distance", p.model.distance, ("normalized", "squared"))
    _one_of("model.grl_schedule", p.model.grl_schedule, ("dann", "constant"))
    _one_of("train.device", p.train.device, ("auto", "cpu", "cuda"))
    _one_of("train.precision", p.train.precision, ("fp32", "bf16"))
    _one_of("train.save_precision", p.train.save_precision, ("fp32", "bf16"))
    mix_total = sum(p.pairs.counterfactual_mix.values())
    if abs(mix_total - 1.0) > 1e-6:
        raise ConfigError(f"pairs.counterfactual_mix: {p.pairs.counterfactual_mix} sums to {mix_total}, must sum to 1")
    for name, v in p.variants.items():
        _validate_variant(name, v, p.model)
    for table, rows in {**p.report.tables, "figure3": p.report.figure3}.items():
        for row in rows:
            _one_of(f"report.tables.{table}", row, list(p.variants))
    for lang in p.report.figure3_languages:
        _one_of("report.figure3_languages", lang, list(p.data.targets))
    _one_of("report.significance.reference", p.report.significance.reference, list(p.variants))
    _validate_sweep(p.sweep, p)
    if p.pretrain.init == "scratch" and p.train.max_length > p.pretrain.max_length:
        raise ConfigError(f"train.max_length: {p.train.max_length} exceeds pretrain.max_length "
                          f"{p.pretrain.max_length}, the longest sequence the pretrained encoder has positions for")


def _validate_sweep(sweep: SweepParams, p: Params) -> None:
    for key, value, allowed in (("tasks", sweep.tasks, p.data.tasks), ("variants", sweep.variants, list(p.variants))):
        flag = key[:-1]
        if list(value) != [flag]:
            raise ConfigError(f"sweep.{key}: expected a one-key map {{{flag}: [...]}}, got {value!r}")
        for item in value[flag]:
            _one_of(f"sweep.{key}.{flag}", item, list(allowed))
    if p.benchmark.cue_strength in sweep.cue_strengths:
        raise ConfigError(f"sweep.cue_strengths: {p.benchmark.cue_strength} is benchmark.cue_strength, whose runs "
                          "the main pipeline already has; list only other strengths")


def _validate_variant(name: str, v: Variant, model: ModelConfig) -> None:
    key = f"variants.{name}"
    for term in v.weights:
        _one_of(f"{key}.weights", term, LOSS_TERMS)
    if v.weight("task") <= 0:
        raise ConfigError(f"{key}.weights.task: must be > 0 (every variant is trained on source labels)")
    needs_d = [t for t in ("sem", "orth", "adv") if v.weight(t) > 0]
    if needs_d and not v.disentangle:
        raise ConfigError(f"{key}: terms {needs_d} act on z_inv/z_spe/z_task and need disentangle: true")
    dims = {model.inv_dim, model.spe_dim, model.task_dim}
    if v.weight("orth") > 0 and model.orth_mode == "per_sample" and len(dims) > 1:
        raise ConfigError(
            f"{key}.weights.orth: model.orth_mode 'per_sample' needs equal inv_dim/spe_dim/task_dim, "
            f"got {model.inv_dim}/{model.spe_dim}/{model.task_dim}; use orth_mode 'batch' or equal dims"
        )


def parse_params(raw: dict, origin: str = "params.yaml") -> Params:
    """Build and validate `Params` from the parsed YAML mapping."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: expected a mapping of sections, got {type(raw).__name__}")
    sections = {f.name: f.type for f in dataclasses.fields(Params)}
    unknown = sorted(set(raw) - set(sections))
    if unknown:
        raise ConfigError(f"{origin}: unknown section(s) {unknown}; allowed: {list(sections)}")
    hints = typing.get_type_hints(Params)
    built = {}
    for name in sections:
        if name == "variants":
            variants = raw.get("variants") or {}
            if not isinstance(variants, dict) or not variants:
                raise ConfigError(f"{origin}: 'variants' must be a non-empty mapping of variant name -> settings")
            built[name] = {k: _build(Variant, v, f"variants.{k}") for k, v in variants.items()}
        else:
            built[name] = _build(hints[name], raw.get(name), name)
    params = Params(**built)
    _validate(params)
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found; run from the project root or pass --params")
    with path.open(encoding="utf-8") as f:
        try:
            raw = load_yaml(f.read())
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return parse_params(raw, str(path))


def to_dict(obj: Any) -> Any:
    """Plain-data copy of a config (for the resolved config written beside each run)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj
