"""Checking params before any work starts: `parse_params` maps each section onto its dataclass, rejecting unknown
keys and wrong types, then checks every value's range and choices and their consistency, so a typo fails in a
second rather than after an hour of training. Each error names the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from typing import Any

from .languages import LANGUAGE_CODES, LANGUAGE_NAMES
from .params import (
    ALIGN_MODES,
    COLUMN_ROLES,
    LAUNCHERS,
    LOSS_TERMS,
    METRICS,
    RANGES,
    SOURCES,
    TABLE_SPLITS,
    TASK_FORMATS,
    TASKS,
    ConfigError,
    DataConfig,
    ModelConfig,
    Params,
    SweepParams,
    TaskEntry,
    Variant,
)

def _check_type(value: Any, hint: Any, key: str) -> Any:
    """Coerce `value` to the annotated type or raise naming the key; ints are accepted where floats are expected."""
    origin = typing.get_origin(hint)
    if isinstance(hint, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        inner = [h for h in typing.get_args(hint) if h is not type(None)]
        if len(inner) == 1:
            return _check_type(value, inner[0], key)
        if not set(inner) <= {int, str, bool}:
            raise ConfigError(f"{key}: union types other than `T | None` and of int, str, bool are not supported")
        if type(value) not in inner:
            raise ConfigError(f"{key}: expected {' or '.join(h.__name__ for h in inner)}, got {value!r}")
        return value
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
    known = LANGUAGE_CODES if data.source == "embedded" else LANGUAGE_NAMES
    for lang in data.languages:
        if lang not in known:
            raise ConfigError(f"data.languages: {lang!r} is not one of {sorted(known)}, the languages of source "
                              f"{data.source!r} (the embedded benchmark's lexicons, or the real datasets')")
    if len(set(data.languages)) != len(data.languages):
        raise ConfigError(f"data.languages: {list(data.languages)} lists a language twice")
    if len(set(data.tasks)) != len(data.tasks) or not data.tasks:
        raise ConfigError(f"data.tasks: {list(data.tasks)} must name each task once, at least one")


def _validate(p: Params) -> None:
    _check_ranges(p, "")
    _one_of("data.source", p.data.source, SOURCES)
    _check_languages(p.data)
    for name, entry in p.tasks.items():
        _validate_task(name, entry, p.data)
    for task in p.data.tasks:
        _one_of("data.tasks", task, list(p.tasks))
    for task in p.train.task_epochs:
        _one_of("train.task_epochs", task, list(p.tasks))
    for task in p.datasets.optional:
        _one_of("datasets.optional", task, list(p.tasks))
    for section in ("cue_strength", "cue_rate"):
        for task in getattr(p.benchmark, section):
            _one_of(f"benchmark.{section}", task, TASKS)
    generated = [task for task in p.data.tasks if p.tasks[task].format != "table"]  # a table task has no cue
    missing = [task for task in generated if task not in p.benchmark.cue_strength]
    if missing:
        raise ConfigError(f"benchmark.cue_strength: no strength for {missing}; give one per task of data.tasks, "
                          f"e.g. {{{', '.join(f'{t}: 0.7' for t in p.data.tasks)}}}")
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
    if isinstance(p.train.workers, str) and p.train.workers != "auto":
        raise ConfigError(f"train.workers: {p.train.workers!r} is neither 'auto' nor a whole number >= 1")
    _one_of("train.precision", p.train.precision, ("fp32", "bf16"))
    _one_of("train.launcher", p.train.launcher, LAUNCHERS)
    _one_of("train.slurm.cluster", p.train.slurm.cluster, ("slurm", "local"))
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


def _validate_task(name: str, entry: TaskEntry, data: DataConfig) -> None:
    """A registry entry: a built-in format needs nothing more; a table names its labels, its data and its columns."""
    key = f"tasks.{name}"
    _one_of(f"{key}.format", entry.format, TASK_FORMATS)
    _one_of(f"{key}.metric", entry.metric, METRICS)
    if entry.format != "table":
        if entry.format != name:
            raise ConfigError(f"{key}.format: {entry.format!r} is a paper dataset's format; its task must be named "
                              f"{entry.format!r} (its data, tables and paper values are keyed by that name)")
        return
    if data.source == "embedded" and name in data.tasks:
        raise ConfigError(f"{key}: a table task reads its own files, but data.source is 'embedded' (the generated "
                          "benchmark of the paper's four tasks); set data.source: real")
    _one_of(f"{key}.kind", entry.kind, ("single", "pair"))
    if len(entry.labels) < 2 or len(set(entry.labels)) != len(entry.labels):
        raise ConfigError(f"{key}.labels: {list(entry.labels)}; name two labels or more, each once")
    if entry.label_values and len(entry.label_values) != len(entry.labels):
        raise ConfigError(f"{key}.label_values: {list(entry.label_values)} must give one value per label of "
                          f"{list(entry.labels)}")
    if entry.metric == "f1" and len(entry.labels) != 2:
        raise ConfigError(f"{key}.metric: f1 is the F1 of the second of two labels; {name} has {len(entry.labels)}")
    if bool(entry.files) == bool(entry.hub):
        raise ConfigError(f"{key}: name its data either in files (split -> path) or in hub (a dataset id or a "
                          "folder laid out as one), not both, not neither")
    for split in entry.files:
        _one_of(f"{key}.files", split, TABLE_SPLITS)
    for split in entry.hub_splits:
        _one_of(f"{key}.hub_splits", split, TABLE_SPLITS)
    for role in entry.columns:
        _one_of(f"{key}.columns", role, COLUMN_ROLES)
    needed = ["text", "label", *(["text_pair"] if entry.kind == "pair" else [])]
    lacking = [role for role in needed if role not in entry.columns]
    if lacking:
        raise ConfigError(f"{key}.columns: no column for {lacking}; map each role to its column, e.g. "
                          f"{{text: review, label: stars}}")
    if "translations" in (entry.files or entry.hub_splits) and "id" not in entry.columns:
        raise ConfigError(f"{key}.columns: translations need an id column linking each to its training row")
    if entry.language is not None:
        _one_of(f"{key}.language", entry.language, list(data.languages))


def _validate_sweep(sweep: SweepParams, p: Params) -> None:
    generated = [t for t in p.data.tasks if p.tasks[t].format != "table"]  # what the embedded benchmark renders
    for key, value, allowed in (("tasks", sweep.tasks, generated), ("variants", sweep.variants, list(p.variants))):
        flag = key[:-1]
        if list(value) != [flag]:
            raise ConfigError(f"sweep.{key}: expected a one-key map {{{flag}: [...]}}, got {value!r}")
        for item in value[flag]:
            _one_of(f"sweep.{key}.{flag}", item, list(allowed))
    mains = {task: p.benchmark.cue_strength[task] for task in sweep.tasks["task"]}
    if len(set(mains.values())) > 1:
        raise ConfigError(f"sweep.tasks: the main runs are a point of the sweep, so its tasks need one "
                          f"benchmark.cue_strength; got {mains}")
    if set(mains.values()) & set(sweep.cue_strengths):
        raise ConfigError(f"sweep.cue_strengths: {sorted(set(mains.values()))} is the benchmark.cue_strength of "
                          f"{sorted(mains)}, whose runs the main pipeline already has; list only other strengths")


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
        if name == "tasks":
            tasks = raw.get("tasks")
            if tasks is None:
                continue  # the paper's four
            if not isinstance(tasks, dict) or not tasks:
                raise ConfigError(f"{origin}: 'tasks' must be a non-empty mapping of task name -> entry")
            built[name] = {k: _build(TaskEntry, v, f"tasks.{k}") for k, v in tasks.items()}
        elif name == "variants":
            variants = raw.get("variants") or {}
            if not isinstance(variants, dict) or not variants:
                raise ConfigError(f"{origin}: 'variants' must be a non-empty mapping of variant name -> settings")
            built[name] = {k: _build(Variant, v, f"variants.{k}") for k, v in variants.items()}
        else:
            built[name] = _build(hints[name], raw.get(name), name)
    params = Params(**built)
    _validate(params)
    return params
