"""The embedded scale's encoder: a tokenizer and a tiny XLM-R trained from scratch.

Masked LM alone on monolingual text gives no cross-lingual signal when the languages share almost no pieces (Arabic
and Hindi share two with English): each language gets its own island of the space and nothing learnt on English
transfers. With a parallel corpus, the encoder is trained as the XLM and LaBSE/LASER family trains one: masked LM on
both sides of each pair, XLM's translation language modelling (TLM: the pair joined into one sequence and masked, so a
masked word can be read off its translation across the separator, as a sentence pair is encoded for XNLI), and a
pooled InfoNCE term that pulls a sentence and its translation together against the rest of the batch. Its health
figure is English→target retrieval on held-out pairs (XTREME's Tatoeba task), which uses no task label.

The result is saved with `save_pretrained`, so `train` loads it by path exactly as it loads `xlm-roberta-base`.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Iterator

from ..config import ConfigError, PretrainConfig
from ..io import atomic_dir, read_jsonl
from ..progress import progress_bar

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..4


def read_corpus(corpus_dir: Path) -> list[str]:
    """All lines of `corpus_dir/*.txt`, in file-name order (one file per language)."""
    files = sorted(corpus_dir.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"{corpus_dir}: no *.txt corpus files; run `xcrl download` first")
    return [line for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_parallel(corpus_dir: Path, split: str) -> list[dict]:
    """The rows `{id, lang, source, target}` of `corpus_dir/parallel/<split>.jsonl` (`train`: the pairs pretraining
    aligns; `heldout`: the pairs it is scored on), or none when the corpus has no parallel part."""
    path = Path(corpus_dir) / "parallel" / f"{split}.jsonl"
    if not path.exists():
        return []
    return read_jsonl(path, ("lang", "source", "target"), "download")


def train_tokenizer(lines: list[str], vocab_size: int, max_length: int):
    """XLM-R's kind of tokenizer — a SentencePiece Unigram model with its word-boundary marker — with RoBERTa's
    templates for single and paired sequences and XLM-R's special-token ids.

    The pieces and their scores are learnt by `sentencepiece` itself on one thread and loaded into a `tokenizers`
    Unigram model: the `sentencepiece` trainer gives the same model every run (for a fixed thread count), while the
    `tokenizers` Unigram trainer does not (three runs on the embedded corpus, three vocabularies), and a run of the
    pipeline must give the same bytes twice. `vocab_size` is an upper bound: a small corpus supports fewer pieces.
    """
    import io

    import sentencepiece as spm
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    chars = {ch for line in lines for ch in unicodedata.normalize("NFKC", line) if not ch.isspace()}
    needed = len(chars) + len(SPECIAL_TOKENS) + 1  # + the word-boundary marker
    if vocab_size < needed:
        raise ConfigError(f"pretrain.vocab_size: {vocab_size} is below the {len(chars)} distinct characters of the "
                          f"corpus plus special tokens; a Unigram vocabulary holds every character, so raise it to at "
                          f"least {needed} (scripts such as Chinese bring thousands)")
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=proto, model_type="unigram", vocab_size=vocab_size,
        hard_vocab_limit=False, character_coverage=1.0, normalization_rule_name="nfkc", shuffle_input_sentence=False,
        num_threads=1, minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_proto=proto.getvalue())
    pieces = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())
              if not (sp.is_control(i) or sp.is_unknown(i))]
    tok = Tokenizer(models.Unigram([(t, 0.0) for t in SPECIAL_TOKENS] + pieces, unk_id=SPECIAL_TOKENS.index("<unk>")))
    tok.add_special_tokens(SPECIAL_TOKENS)
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=max_length,
    )


def _mlm_model(cfg: PretrainConfig, tokenizer):
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        intermediate_size=cfg.intermediate_size,
        max_position_embeddings=cfg.max_length + 2,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
    )
    return XLMRobertaForMaskedLM(config)


def _stream(n: int, size: int, gen) -> Iterator[list[int]]:
    """Endless batches of `size` indices into n items, a fresh permutation each pass."""
    import torch

    while True:
        order = torch.randperm(n, generator=gen).tolist()
        yield from (order[start : start + size] for start in range(0, n, size))


def _step_losses(model, collator, seqs: list[list[int]], n_pairs: int, cfg: PretrainConfig):
    """Masked-LM loss over every sequence of the step and, when the first 2·n_pairs are the two sides of n_pairs
    parallel pairs (sources, then targets), the alignment loss between their mean-pooled last hidden states.

    One forward pass (in `pretrain.encode_chunks` length groups) serves both terms (the pooled states are those of
    the masked input). The LM head runs on the masked positions only: the same loss as XLMRobertaForMaskedLM's,
    without projecting the other ~85 % of the positions onto the vocabulary.
    """
    import torch.nn.functional as F

    from .losses import info_nce
    from .model import hidden_states, length_chunks, pool

    batch = collator([{"input_ids": ids} for ids in seqs])
    mask = batch["attention_mask"]
    chunks = length_chunks(mask.sum(1).numpy(), cfg.encode_chunks) if cfg.encode_chunks > 1 else None
    hidden = hidden_states(model.roberta, batch["input_ids"], mask, chunks)
    masked = batch["labels"] != -100  # (N, T)
    mlm = F.cross_entropy(model.lm_head(hidden[masked]), batch["labels"][masked])
    if not n_pairs:
        return mlm, None
    h = pool(hidden[: 2 * n_pairs], mask[: 2 * n_pairs], "mean")  # (2P, H)
    return mlm, info_nce(h[:n_pairs], h[n_pairs:], cfg.temperature)


def join_pair(first: list[int], second: list[int], max_length: int) -> list[int]:
    """Two encoded sentences (`<s> A </s>`, `<s> B </s>`) as one pair sequence, `<s> A </s></s> B </s>` as the
    tokenizer's pair template, cut to `max_length` with its closing `</s>` kept."""
    joined = first + first[-1:] + second[1:]
    return joined if len(joined) <= max_length else joined[: max_length - 1] + joined[-1:]


def _mean_ends(values: list[float], n: int = 20) -> tuple[float, float]:
    return round(sum(values[:n]) / len(values[:n]), 4), round(sum(values[-n:]) / len(values[-n:]), 4)


def pretrain_encoder(corpus_dir: Path, out_dir: Path, cfg: PretrainConfig) -> dict:
    """Train tokenizer and encoder on `corpus_dir` (see `read_parallel`), save both to `out_dir`; returns the loss
    summary and the held-out retrieval accuracy per target language.

    Each step takes `batch_size` parallel pairs, both sides masked, plus `corpus_batch_size` monolingual sentences,
    and minimises MLM + `align_weight` · InfoNCE(pooled source side, pooled target side) + `tlm_weight` · TLM (masked
    LM on each pair joined into one sequence, in a random order). Without a parallel corpus each step is
    `batch_size` monolingual sentences of masked LM.
    """
    import torch
    from transformers import DataCollatorForLanguageModeling, get_linear_schedule_with_warmup
    from transformers.utils import logging

    logging.disable_progress_bar()  # ours is the only bar
    torch.manual_seed(cfg.seed)
    lines, pairs = read_corpus(corpus_dir), read_parallel(corpus_dir, "train")
    sides = [row[side] for row in pairs for side in ("source", "target")]
    tokenizer = train_tokenizer(lines + sides, cfg.vocab_size, cfg.max_length)
    model = _mlm_model(cfg, tokenizer)

    def encode(texts: list[str]) -> list[list[int]]:
        return tokenizer(texts, truncation=True, max_length=cfg.max_length)["input_ids"] if texts else []

    mono, src, tgt = encode(lines), encode([r["source"] for r in pairs]), encode([r["target"] for r in pairs])
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=cfg.mask_prob)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * cfg.steps), cfg.steps)
    gen = torch.Generator().manual_seed(cfg.seed)
    pair_batches = _stream(len(pairs), cfg.batch_size, gen) if pairs else None
    mono_size = cfg.corpus_batch_size if pairs else cfg.batch_size
    mono_batches = _stream(len(mono), mono_size, gen) if mono_size else None
    mlm_losses: list[float] = []
    align_losses: list[float] = []
    tlm_losses: list[float] = []
    model.train()
    with progress_bar() as bar:
        job = bar.add_task("pretrain", total=cfg.steps)
        for _ in range(cfg.steps):
            chosen = next(pair_batches) if pair_batches else []
            seqs = [src[i] for i in chosen] + [tgt[i] for i in chosen]
            seqs += [mono[i] for i in next(mono_batches)] if mono_batches else []
            mlm, align = _step_losses(model, collator, seqs, len(chosen), cfg)
            loss = mlm if align is None else mlm + cfg.align_weight * align
            if cfg.tlm_weight and chosen:
                target_first = torch.rand(len(chosen), generator=gen) < 0.5  # either language may come first
                joined = [join_pair(*((tgt[i], src[i]) if flip else (src[i], tgt[i])), cfg.max_length)
                          for i, flip in zip(chosen, target_first.tolist())]
                tlm = _step_losses(model, collator, joined, 0, cfg)[0]
                loss = loss + cfg.tlm_weight * tlm
                tlm_losses.append(tlm.item())
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            mlm_losses.append(mlm.item())
            if align is not None:
                align_losses.append(align.item())
            bar.update(job, advance=1, description=f"pretrain: loss {loss.item():.3f}")
    model.eval()
    summary = {
        "sentences": len(lines),
        "pairs": len(pairs),
        "steps": cfg.steps,
        "parameters": sum(p.numel() for p in model.base_model.parameters()),
        **dict(zip(("mlm_loss_first", "mlm_loss_last"), _mean_ends(mlm_losses))),
        **(dict(zip(("align_loss_first", "align_loss_last"), _mean_ends(align_losses))) if align_losses else {}),
        **(dict(zip(("tlm_loss_first", "tlm_loss_last"), _mean_ends(tlm_losses))) if tlm_losses else {}),
        **heldout_retrieval(model.roberta, tokenizer, read_parallel(corpus_dir, "heldout"), cfg.max_length),
    }
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "pretrain_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _embed(encoder, tokenizer, texts: list[str], max_length: int, batch_size: int = 256):
    """(n, H) mean-pooled last hidden states without gradients, in batches of similar length (less padding)."""
    import numpy as np
    import torch

    from .model import pool

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            enc = tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt")
            last = encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            out[rows] = pool(last, enc["attention_mask"], "mean").numpy()
    return out


def retrieval_accuracy(source: np.ndarray, target: np.ndarray) -> float:
    """Bitext retrieval (the Tatoeba task of XTREME): row i of `source` (n, d) and row i of `target` (n, d) embed a
    sentence and its translation; the share of source rows whose nearest target row by cosine similarity is their
    own. A tie goes to the lower index. Chance is 1 / n."""
    import numpy as np

    s = source / np.linalg.norm(source, axis=1, keepdims=True).clip(min=1e-12)
    t = target / np.linalg.norm(target, axis=1, keepdims=True).clip(min=1e-12)
    return float(np.mean((s @ t.T).argmax(axis=1) == np.arange(len(s))))


def heldout_retrieval(encoder, tokenizer, rows: list[dict], max_length: int) -> dict:
    """English→target retrieval accuracy of `encoder` on held-out pairs, per target language: `retrieval` (lang ->
    accuracy) and `retrieval_size` (lang -> candidates, chance = 1 / size); both empty without held-out pairs."""
    by_lang: dict[str, list[dict]] = {}
    for row in rows:
        by_lang.setdefault(row["lang"], []).append(row)
    was_training = encoder.training
    encoder.eval()
    accuracy = {lang: round(retrieval_accuracy(_embed(encoder, tokenizer, [r["source"] for r in group], max_length),
                                               _embed(encoder, tokenizer, [r["target"] for r in group], max_length)), 4)
                for lang, group in by_lang.items()}
    encoder.train(was_training)
    return {"retrieval": accuracy, "retrieval_size": {lang: len(group) for lang, group in by_lang.items()}}


def snapshot_encoder(model_id: str, out_dir: Path, heldout: list[dict], max_length: int) -> dict:
    """Save a hub encoder and its tokenizer to `out_dir`, so that every later stage (and every process of a
    multi-GPU run) reads one versioned local copy instead of the Hub; scored on the `heldout` pairs, if any. Loaded
    as `train` loads an encoder (`load_encoder`: the base model of a masked-LM checkpoint, no pooler, and no load
    report of the head it leaves behind)."""
    from transformers import AutoTokenizer

    from .model import load_encoder

    model = load_encoder(model_id)
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    summary = {"init": model_id, "parameters": sum(p.numel() for p in model.parameters()),
               **heldout_retrieval(model, tokenizer, heldout, max_length)}
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "pretrain_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
