"""`xcrl preset NAME --plan`: what a preset will train, encode, write and cost, before a GPU is booked.

Runs: one per variant × task × seed of the train stages, plus the spurious-cue sweep's cue strengths × its tasks ×
its variants × seeds. Sequence passes: a run encodes, per training example and epoch, the example plus the segments
its variant's terms need (`losses.needed_segments`: the pair, with its own source side when the task takes pairs from
the parallel corpus, and the counterfactual). Disk, from the `train` params that set it: every run writes its weights
selected on the source dev set in `train.save_precision`, and with `train.oracle_weights` the target-dev oracle's as
a second file when that selection chose another step (planned as always, the worst case); a run's checkpoint (every
`train.checkpoint_every` steps, none at 0) holds the model, AdamW's two moments and the best weights of each stored
selection in fp32, and a new one is written beside the last before it replaces it; finished runs keep theirs until
the train stage ends with `train.keep_finished_checkpoints`, else lose it at once. GPU-hours: sequence passes over a
throughput, `xcrl bench`'s measured sequences/s when given, else an assumption printed as such.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError, Params
from ..data.sources import read_task, untranslated
from ..model.losses import needed_segments
from .workers import longest_first

# English training rows of the paper's datasets (their published train splits) and their label counts; MLDoc's
# size is the training file `datasets.mldoc.train_size` names.
PAPER_TRAIN_SIZES = {"xnli": 392_702, "pawsx": 49_401, "sentiment": 1_839}
PAPER_LABELS = {"xnli": 3, "pawsx": 2, "mldoc": 4, "sentiment": 3}
SAVE_BYTES = {"fp32": 4, "bf16": 2}  # train.save_precision -> bytes per parameter of a run's weight files
CHECKPOINT_BYTES = 4  # checkpoints keep fp32 (bf16 autocast keeps fp32 master weights and AdamW state)
OPTIMISER_COPIES = 3  # a checkpoint's model + AdamW's exp_avg and exp_avg_sq, beside the selections' best weights
# One H100-class GPU, xlm-roberta-base, 128 tokens, bf16: an assumption, used only without a measured figure.
ASSUMED_SEQUENCES_PER_S = 1500.0


@dataclass
class Group:
    """Runs that train alike: one train stage's (variant, task) with its seeds, at one cue strength in the sweep's."""

    stage: str
    variant: str
    task: str
    runs: int
    examples: int
    epochs: int
    segments: int  # sequences encoded per training example
    parameters: int
    cue: float | None = None  # the sweep's benchmark; None: the main pipeline's

    @property
    def sequence_passes(self) -> int:
        return self.runs * self.examples * self.epochs * self.segments


@dataclass(frozen=True)
class Storage:
    """What the `train` params make a run write."""

    save_precision: str
    oracle_weights: bool
    keep_finished_checkpoints: bool
    checkpoint_every: int

    @property
    def weight_files(self) -> int:
        """model.safetensors, and model_target_dev.safetensors when the oracle is stored (and chose another step)."""
        return 2 if self.oracle_weights else 1

    @property
    def weight_bytes(self) -> int:
        """Bytes per parameter of a run's weight files."""
        return SAVE_BYTES[self.save_precision] * self.weight_files

    @property
    def checkpoint_bytes(self) -> int:
        """Bytes per parameter of one run's checkpoint; 0 without checkpoints."""
        return CHECKPOINT_BYTES * (OPTIMISER_COPIES + self.weight_files) if self.checkpoint_every else 0


@dataclass
class Plan:
    groups: list[Group]
    encoder_parameters: int
    throughput: float  # training sequences per second
    throughput_source: str
    storage: Storage

    @property
    def runs(self) -> int:
        return sum(g.runs for g in self.groups)

    @property
    def sequence_passes(self) -> int:
        return sum(g.sequence_passes for g in self.groups)

    @property
    def weights_bytes(self) -> int:
        return sum(g.runs * g.parameters for g in self.groups) * self.storage.weight_bytes

    @property
    def checkpoint_bytes(self) -> int:
        """The most checkpoint bytes on disk at once: the training run's checkpoint and the next one written beside
        it, plus with `keep_finished_checkpoints` every other run of the largest train stage's."""
        largest = max((g.parameters for g in self.groups), default=0)
        if self.storage.keep_finished_checkpoints:
            per_stage = {}
            for g in self.groups:
                per_stage[g.stage] = per_stage.get(g.stage, 0) + g.runs * g.parameters
            return (max(per_stage.values(), default=0) + largest) * self.storage.checkpoint_bytes
        return 2 * largest * self.storage.checkpoint_bytes

    @property
    def encoder_bytes(self) -> int:
        return self.encoder_parameters * CHECKPOINT_BYTES  # the snapshot is saved as the hub ships it, fp32

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.checkpoint_bytes + self.encoder_bytes

    @property
    def gpu_hours(self) -> float:
        return self.sequence_passes / self.throughput / 3600

    def wall_hours(self, gpus: int, runs_per_gpu: int) -> float:
        """Hours from the first run to the last on `gpus` GPUs × `runs_per_gpu`, as the run pool schedules them: the
        train stages one after another, each stage's runs taken longest first by the next free worker. Runs sharing
        a GPU share its throughput (a gain from sharing is not counted: measure it with `xcrl bench`)."""
        seconds = 0.0
        for stage in dict.fromkeys(g.stage for g in self.groups):
            runs = [g.sequence_passes / g.runs for g in self.groups if g.stage == stage for _ in range(g.runs)]
            seconds += makespan([runs[i] for i in longest_first(runs)], gpus * runs_per_gpu) \
                * runs_per_gpu / self.throughput
        return seconds / 3600


def makespan(durations: list[float], workers: int) -> float:
    """When the last of `durations` ends, each taken in order by the worker that is free first."""
    free = [0.0] * workers
    for d in durations:
        heapq.heapreplace(free, free[0] + d)
    return max(free)


def train_size(p: Params, task: str, embedded: bool) -> int:
    """English training rows: the embedded benchmark's, the published split's, or a table task's, read."""
    if embedded:
        return p.benchmark.train_size
    if p.task(task).format == "table":
        return len(read_task(p, task, optional=False).rows["train"])
    if task == "mldoc":
        return p.datasets.mldoc.train_size
    return PAPER_TRAIN_SIZES[task]


def labels_of(p: Params, task: str, embedded: bool) -> int:
    if embedded:
        return len(_embedded_labels(task))
    entry = p.task(task)
    return len(entry.labels) if entry.format == "table" else PAPER_LABELS[task]


def segments_per_example(p: Params, variant: str, task: str, embedded: bool) -> int:
    """1 (x) + the pair (and its corpus source side when the task ships no translations) + the counterfactual."""
    needed = needed_segments(p.variant(variant))
    anchor = "pair" in needed and not embedded and untranslated(p, task)  # the embedded benchmark translates all
    return 1 + len(needed) + anchor


def encoder_config(p: Params):
    """The config of the encoder the preset trains: the published one `pretrain.init` names, or the tiny encoder
    `pretrain` builds from scratch (its vocabulary at most `pretrain.vocab_size`)."""
    from transformers import XLMRobertaConfig

    from .bench import ENCODER_CONFIGS
    from .bench import encoder_config as published

    if p.pretrain.init in ENCODER_CONFIGS:
        return published(p.pretrain.init)
    if p.pretrain.init == "scratch":
        c = p.pretrain
        return XLMRobertaConfig(vocab_size=c.vocab_size, hidden_size=c.hidden_size, num_hidden_layers=c.num_layers,
                                num_attention_heads=c.num_heads, intermediate_size=c.intermediate_size,
                                max_position_embeddings=c.max_length + 2, type_vocab_size=1)
    raise ConfigError(f"pretrain.init: no config known for {p.pretrain.init!r} to plan with; known: "
                      f"scratch, {', '.join(ENCODER_CONFIGS)}")


def _parameters(p: Params, encoder, variant: str, n_labels: int) -> int:
    """Parameters of the run's model around `encoder` (on the meta device: nothing allocated)."""
    import torch

    from ..model.model import XcrlModel

    with torch.device("meta"):
        model = XcrlModel(encoder, p.model, p.variant(variant), n_labels, len(p.data.languages))
    return sum(t.numel() for t in model.parameters())


def read_throughput(value: str | None) -> tuple[float, str]:
    """Sequences/s: a number, or the JSON `xcrl bench --json` writes; without either, the stated assumption."""
    if value is None:
        return ASSUMED_SEQUENCES_PER_S, f"assumed {ASSUMED_SEQUENCES_PER_S:,.0f} sequences/s (not measured: pass " \
                                        "--throughput N or the JSON of `xcrl bench --json`)"
    try:
        return float(value), f"{_rate(float(value))} sequences/s (given)"
    except ValueError:
        pass
    path = Path(value)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        rate = float(result["train_sequences_per_s"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"--throughput: {value!r} is neither a number nor a JSON of `xcrl bench --json` with "
                          f"train_sequences_per_s ({e})") from None
    return rate, f"{_rate(rate)} sequences/s measured by `xcrl bench` on {result.get('device', '?')} ({path})"


def _rate(rate: float) -> str:
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"


def make_plan(p: Params, throughput: str | None = None) -> Plan:
    import torch
    from transformers import AutoModel

    with torch.device("meta"):
        encoder = AutoModel.from_config(encoder_config(p), add_pooling_layer=False)
    embedded = p.data.source == "embedded"
    labels = {t: labels_of(p, t, embedded) for t in p.data.tasks}
    count = {}

    def parameters(variant: str, task: str, n_labels: int) -> int:
        key = (variant, n_labels)
        if key not in count:
            count[key] = _parameters(p, encoder, variant, n_labels)
        return count[key]

    seeds = len(p.train.seeds)
    groups = [Group("train", v, t, seeds, train_size(p, t, embedded), p.train.epochs_of(t),
                    segments_per_example(p, v, t, embedded), parameters(v, t, labels[t]))
              for v in p.variants for t in p.data.tasks]
    for cue in p.sweep.cue_strengths:
        groups += [Group("sweep_train", v, t, seeds, p.benchmark.train_size, p.train.epochs_of(t),
                         segments_per_example(p, v, t, True), parameters(v, t, len(_embedded_labels(t))), cue)
                   for v in p.sweep.variants["variant"] for t in p.sweep.tasks["task"]]
    rate, source = read_throughput(throughput)
    tc = p.train
    storage = Storage(tc.save_precision, tc.oracle_weights, tc.keep_finished_checkpoints, tc.checkpoint_every)
    return Plan(groups, sum(t.numel() for t in encoder.parameters()), rate, source, storage)


def _embedded_labels(task: str) -> list[str]:
    from ..data.benchmark import TASK_LABELS

    return TASK_LABELS[task]


def _gb(n: int) -> str:
    return f"{n / 1e9:,.1f} GB"


def print_plan(plan: Plan, title: str, runs_per_gpu: int = 1, gpus: tuple[int, ...] = (1, 2, 4, 8)) -> None:
    """The plan as a rich table, one row per (stage, variant, task), and its totals: disk, GPU-hours, and the wall
    time on each number of `gpus`."""
    from rich.console import Console
    from rich.table import Table

    table = Table("stage", "variant", "task", "runs", "examples × epochs × sequences", "sequence passes",
                  "parameters", "weights", title=title)
    for g in plan.groups:
        stage = g.stage if g.cue is None else f"{g.stage} (cue {g.cue})"
        table.add_row(stage, g.variant, g.task, str(g.runs), f"{g.examples:,} × {g.epochs} × {g.segments}",
                      f"{g.sequence_passes:,}", f"{g.parameters:,}",
                      _gb(g.runs * g.parameters * plan.storage.weight_bytes))
    console = Console(width=200, soft_wrap=False)
    console.print(table)
    console.print(
        f"runs: {plan.runs}; sequence passes: {plan.sequence_passes:,} (training forward + backward; evaluation "
        "passes not counted)\n"
        f"disk: {_gb(plan.total_bytes)} =\n" + "\n".join(f"  {line}" for line in disk_lines(plan)) + "\n"
        f"  the DVC cache adds nothing with `dvc config cache.type reflink,hardlink,symlink,copy` (DVC's default copy "
        f"cache adds the weights again: +{_gb(plan.weights_bytes)}); the Hub's download cache is not counted\n"
        f"GPU-hours: {plan.gpu_hours:,.1f} at {plan.throughput_source}\n"
        f"wall time, train stages (the run pool's schedule, {runs_per_gpu} run(s) per GPU, train.runs_per_gpu): "
        + "; ".join(f"{n} GPU{'s' if n > 1 else ''} {plan.wall_hours(n, runs_per_gpu):,.1f} h" for n in gpus))


def disk_lines(plan: Plan) -> list[str]:
    """Each term of the planned disk, then the params that set it."""
    s = plan.storage
    files = "2 files per run: the worst case, the oracle's is written only when it chose another step" \
        if s.oracle_weights else "1 file per run: the oracle's weights are not stored"
    if not s.checkpoint_every:
        held = "none: train.checkpoint_every is 0"
    elif s.keep_finished_checkpoints:
        held = "one per run of the largest train stage until it ends, + the next one being written"
    else:
        held = "the running run's and the next one being written; a finished run's is removed at once"
    selections = "the best weights of both selections" if s.oracle_weights else "the source-dev selection's best weights"
    flag = {True: "true", False: "false"}
    return [
        f"run weights {_gb(plan.weights_bytes)} ({s.save_precision} safetensors, {files})",
        f"    set by train.save_precision: {s.save_precision}, train.oracle_weights: {flag[s.oracle_weights]}",
        f"+ checkpoints {_gb(plan.checkpoint_bytes)} ({held}; each the model, AdamW's 2 moments and {selections}, "
        "in fp32)",
        f"    set by train.keep_finished_checkpoints: {flag[s.keep_finished_checkpoints]}, train.oracle_weights: "
        f"{flag[s.oracle_weights]}, train.checkpoint_every: {s.checkpoint_every}",
        f"+ the encoder snapshot {_gb(plan.encoder_bytes)}",
        "    set by pretrain.init",
    ]
