"""`xcrl bench`: what the paper's machinery costs on this machine, measured side by side in one run.

Four training steps on the same encoder and the same synthetic batch (random token ids, every sequence `seq_len`
long, so padding plays no part), each forward + backward + AdamW step:
- `full`: the variant under test (default Proposed) on B examples, i.e. 3B sequences with pairs and counterfactuals;
- `encoder`: the bare encoder on the same 3B sequences, a trivial loss on its last hidden states: the floor any
  method that encodes x, x_j and x̃ must pay;
- `erm`: our ERM variant on B sequences;
- `hf`: a plain Hugging Face `AutoModelForSequenceClassification` fine-tuning step on the same B sequences.
The steps are timed in rounds: in each round every kind runs one untimed step (its weights and buffers back in
cache after the others ran) and then `block` timed steps, so drift in the machine's speed hits all kinds alike;
each time is the median over all timed steps. Every model is in training mode (dropout on), as in fine-tuning.
Evaluation throughput is the full model's forward pass on B sequences without gradients. On CUDA, model FLOPs
utilisation is 6 × parameters × tokens/s over the device's peak dense bf16 throughput, for the full model and ERM.

`--encoder-config` builds a randomly initialised encoder from a config alone, so a GPU's throughput can be measured
without network or weights: a name of `ENCODER_CONFIGS` (transformers ships no configs offline) or a config.json.
Then only the full model and ERM are measured (their MFU is the point), one after the other, each freed before the
next is built: four live copies of a 278M-parameter model with their AdamW states need some 20 GB. Nothing is
interleaved then, so there is one round: one untimed step and `block` timed ones per kind.

On a fresh clone `model.encoder`'s `data/encoder` does not exist yet (`xcrl pretrain` writes it): every kind is then
measured on a randomly initialised encoder of the shape `pretrain:` would build (`plan.encoder_config`), and the
bench says so. An encoder named on the command line that cannot be loaded is one error line (`hub.encoder_config`).
"""

from __future__ import annotations

import copy
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..config import ConfigError, ModelConfig, Params, Variant
from ..data.check import PRETRAINED_HERE
from ..model.losses import Segments, needed_segments, total_loss
from ..data.corpora import hub
from ..model.model import XcrlModel, load_encoder
from .inference import autocast, resolve_device

# Published configs (the models' config.json on the Hub), for a random encoder of that size with no download.
ENCODER_CONFIGS = {
    "xlm-roberta-base": {"model_type": "xlm-roberta", "hidden_size": 768, "num_hidden_layers": 12,
                         "num_attention_heads": 12, "intermediate_size": 3072, "vocab_size": 250002,
                         "max_position_embeddings": 514, "type_vocab_size": 1, "pad_token_id": 1,
                         "bos_token_id": 0, "eos_token_id": 2, "layer_norm_eps": 1e-5},
    "bert-base-multilingual-cased": {"model_type": "bert", "hidden_size": 768, "num_hidden_layers": 12,
                                     "num_attention_heads": 12, "intermediate_size": 3072, "vocab_size": 119547,
                                     "max_position_embeddings": 512, "type_vocab_size": 2, "pad_token_id": 0},
}

# Peak dense bf16 tensor-core FLOP/s by device-name fragment (vendor data sheets, without sparsity).
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 70e12, "L4": 121e12}


@dataclass(frozen=True)
class BenchConfig:
    encoder: str
    seq_len: int = 48
    batch_size: int = 32
    rounds: int = 5
    block: int = 5
    device: str = "auto"
    precision: str = "fp32"
    n_labels: int = 3
    n_languages: int = 6
    seed: int = 0
    random_encoder: Any = None  # a transformers config: a randomly initialised encoder instead of loading `encoder`
    mfu_only: bool = False  # only the full model and ERM, one after the other (`--encoder-config`)


def encoder_config(name_or_path: str):
    """A transformers config from `ENCODER_CONFIGS` or a config.json (file or folder); anything else names both."""
    from pathlib import Path

    from transformers import AutoConfig

    if name_or_path in ENCODER_CONFIGS:
        values = dict(ENCODER_CONFIGS[name_or_path])
        return AutoConfig.for_model(values.pop("model_type"), **values)
    path = Path(name_or_path)
    if path.is_dir() and (path / "config.json").is_file() or path.is_file():
        return AutoConfig.from_pretrained(str(path))
    raise ConfigError(f"--encoder-config: {name_or_path!r} is neither a known config ({sorted(ENCODER_CONFIGS)}) nor a "
                     "config.json file or a folder holding one")


@dataclass(frozen=True)
class BenchEncoder:
    """The encoder a bench times: loaded from `name`, or randomly initialised from `config` when it is set."""

    name: str  # as the report line names it
    config: Any = None  # a transformers config
    note: str | None = None  # why a random encoder stands in for the one params.yaml names


def choose_encoder(p: Params, encoder: str | None, config_name: str | None) -> BenchEncoder:
    """`--encoder-config`'s random encoder; else, on a fresh clone (`model.encoder` is the absent `data/encoder` and
    no `--encoder` was given), a random one of the shape `pretrain:` builds; else the encoder named, checked to load
    (one error line when it cannot)."""
    if config_name is not None:
        return BenchEncoder(f"random {config_name}", encoder_config(config_name))
    if encoder is None and p.model.encoder == PRETRAINED_HERE and not Path(PRETRAINED_HERE).is_dir():
        from .plan import encoder_config as planned

        config = planned(p)
        shape = "pretrain: params" if p.pretrain.init == "scratch" else p.pretrain.init
        return BenchEncoder(f"random {shape}", config,
                            f"{PRETRAINED_HERE} is absent (`dvc repro pretrain` writes it): timing a randomly "
                            f"initialised encoder built from the pretrain: params ({p.pretrain.init}, "
                            f"{config.num_hidden_layers} layers, hidden {config.hidden_size})")
    name = encoder or p.model.encoder
    hub.encoder_config(name)
    return BenchEncoder(name)


def _encoder(cfg: BenchConfig) -> torch.nn.Module:
    if cfg.random_encoder is None:
        return load_encoder(cfg.encoder)
    from transformers import AutoModel

    return AutoModel.from_config(cfg.random_encoder, add_pooling_layer=False)


@dataclass
class BenchResult:
    device: str
    seconds: dict[str, float]  # median step time per kind
    steps: int  # timed steps per kind
    ratios: dict[str, float]
    train_examples_per_s: float
    train_sequences_per_s: float  # the full model's training step: what `xcrl preset --plan` divides by
    eval_examples_per_s: float
    parameters: int
    mfu: float | None  # the full model's step
    mfu_erm: float | None


def _batch(cfg: BenchConfig, vocab: int, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(cfg.seed)
    ids = torch.randint(5, vocab, (n, cfg.seq_len), generator=gen)
    return ids.to(device), torch.ones_like(ids)


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable[[], torch.Tensor]) -> None:
    loss = loss_fn()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


@dataclass
class _Inputs:
    """The synthetic batch every kind reads: x, then x_j and x̃ when the variant's terms need them."""

    ids: torch.Tensor  # (n_seq, seq_len)
    mask: torch.Tensor
    labels: torch.Tensor  # (B,)
    seg: Segments
    erm_seg: Segments

    @property
    def n_seq(self) -> int:
        return self.ids.shape[0]


def synthetic_inputs(cfg: BenchConfig, variant: Variant, vocab: int, device: torch.device) -> _Inputs:
    b = cfg.batch_size
    segments = needed_segments(variant)
    n_seq = b * (1 + len(segments))
    ids, mask = _batch(cfg, vocab, n_seq, device)
    labels = torch.randint(0, cfg.n_labels, (b,), generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    langs = torch.arange(n_seq, device=device) // b % cfg.n_languages
    seg = Segments(labels, langs, b, b * ("pair" in segments), b * ("cf" in segments))
    return _Inputs(ids, mask, labels, seg, Segments(labels, langs[:b], b))


def kind_model(name: str, cfg: BenchConfig, model_cfg: ModelConfig, variant: Variant, erm: Variant, x: _Inputs):
    """The model of one kind of the module docstring and its loss on the batch."""
    b = cfg.batch_size
    if name == "full":
        full = XcrlModel(_encoder(cfg), model_cfg, variant, cfg.n_labels, cfg.n_languages)
        return full, lambda: total_loss(variant, full(x.ids, x.mask, grl_coeff=0.5), x.seg, model_cfg)[0]
    if name == "encoder":
        encoder = _encoder(cfg)
        return encoder, lambda: encoder(input_ids=x.ids, attention_mask=x.mask).last_hidden_state.float().mean()
    if name == "erm":
        ours = XcrlModel(_encoder(cfg), model_cfg, erm, cfg.n_labels, cfg.n_languages)
        return ours, lambda: total_loss(erm, ours(x.ids[:b], x.mask[:b]), x.erm_seg, model_cfg)[0]
    hf = _hf_classifier(cfg)
    return hf, lambda: hf(input_ids=x.ids[:b], attention_mask=x.mask[:b], labels=x.labels).loss


def _jobs(names, cfg: BenchConfig, model_cfg: ModelConfig, variant: Variant, erm: Variant, x: _Inputs,
          device: torch.device) -> tuple[dict[str, Callable[[], None]], int]:
    """One training step per kind (each with its own model and optimizer), and `eval`, the full model's forward
    pass without gradients, when the full model is among them; and the encoder's parameter count."""
    jobs = {}
    for name in names:
        model, loss_fn = kind_model(name, cfg, model_cfg, variant, erm, x)
        model.to(device).train()  # from_pretrained returns eval mode; fine-tuning runs with dropout
        jobs[name] = partial(train_step, model, torch.optim.AdamW(model.parameters(), lr=1e-5), loss_fn)
        if name == "full":
            jobs["eval"] = partial(_forward_only, model, x.ids[:cfg.batch_size], x.mask[:cfg.batch_size])
        if isinstance(model, XcrlModel):
            parameters = sum(p.numel() for p in model.encoder.parameters())
    return jobs, parameters


@torch.no_grad()
def _forward_only(model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> None:
    model.eval()
    model(ids, mask)
    model.train()


def _hf_classifier(cfg: BenchConfig) -> torch.nn.Module:
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging

    logging.set_verbosity_error()  # the fresh classification head is expected
    if cfg.random_encoder is not None:
        config = copy.deepcopy(cfg.random_encoder)
        config.num_labels = cfg.n_labels
        return AutoModelForSequenceClassification.from_config(config)
    return AutoModelForSequenceClassification.from_pretrained(cfg.encoder, num_labels=cfg.n_labels)


def timed(fn: Callable[[], None], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((flops for key, flops in PEAK_BF16_FLOPS.items() if key in name), None)


def _measure(jobs: dict[str, Callable[[], None]], cfg: BenchConfig, rounds: int,
             device: torch.device) -> dict[str, list[float]]:
    """`rounds` rounds; in each, every job runs one untimed step and then `cfg.block` timed ones."""
    times: dict[str, list[float]] = {name: [] for name in jobs}
    with autocast(device, cfg.precision):
        for _ in range(rounds):
            for name, job in jobs.items():
                job()
                times[name] += [timed(job, device) for _ in range(cfg.block)]
    return times


def run_bench(cfg: BenchConfig, model_cfg: ModelConfig, variant: Variant, erm: Variant,
              progress: Callable[[str], None] = lambda message: None) -> BenchResult:
    """Time the steps and the evaluation pass; see the module docstring for what each measures. `progress` hears
    which models are being built and how long each group took."""
    torch.manual_seed(cfg.seed)
    device = resolve_device(cfg.device)
    x = synthetic_inputs(cfg, variant, config_of(cfg).vocab_size, device)
    groups = [["full"], ["erm"]] if cfg.mfu_only else [["full", "encoder", "erm", "hf"]]
    rounds = 1 if cfg.mfu_only else cfg.rounds
    times: dict[str, list[float]] = {}
    for names in groups:
        progress(f"building {', '.join(names)}")
        jobs, parameters = _jobs(names, cfg, model_cfg, variant, erm, x, device)
        start = time.perf_counter()
        times |= _measure(jobs, cfg, rounds, device)
        progress(f"measured {', '.join(names)} in {time.perf_counter() - start:.1f} s")
        del jobs
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    seconds = {name: statistics.median(ts) for name, ts in times.items()}
    tokens_per_s = x.n_seq * cfg.seq_len / seconds["full"]
    peak = peak_flops(device)
    ratios = {} if cfg.mfu_only else {"full / encoder passes": seconds["full"] / seconds["encoder"],
                                            "erm / hf fine-tuning": seconds["erm"] / seconds["hf"]}
    return BenchResult(
        device=device_name(device),
        seconds=seconds,
        steps=rounds * cfg.block,
        ratios=ratios,
        train_examples_per_s=cfg.batch_size / seconds["full"],
        train_sequences_per_s=x.n_seq / seconds["full"],
        eval_examples_per_s=cfg.batch_size / seconds["eval"],
        parameters=parameters,
        mfu=None if peak is None else 6 * parameters * tokens_per_s / peak,
        mfu_erm=None if peak is None else 6 * parameters * cfg.batch_size * cfg.seq_len / seconds["erm"] / peak,
    )


def config_of(cfg: BenchConfig):
    """The encoder's config: the random encoder's, else the named encoder's own."""
    return cfg.random_encoder if cfg.random_encoder is not None else hub.encoder_config(cfg.encoder)
