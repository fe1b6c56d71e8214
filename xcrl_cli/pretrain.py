"""The embedded scale's encoder: a tokenizer and a tiny XLM-R trained from scratch by masked-LM on unlabeled text.

The result is saved with `save_pretrained`, so `train` loads it by path exactly as it loads `xlm-roberta-base`.
"""

from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path

from .config import ConfigError, PretrainConfig
from .io import atomic_dir
from .progress import progress_bar

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..4


def read_corpus(corpus_dir: Path) -> list[str]:
    """All lines of `corpus_dir/*.txt`, in file-name order (one file per language)."""
    files = sorted(corpus_dir.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"{corpus_dir}: no *.txt corpus files; run `xcrl download` first")
    return [line for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


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


def pretrain_encoder(corpus_dir: Path, out_dir: Path, cfg: PretrainConfig) -> dict:
    """Train tokenizer and MLM encoder on `corpus_dir`, save both to `out_dir`; returns the loss curve summary."""
    import torch
    from transformers import DataCollatorForLanguageModeling, get_linear_schedule_with_warmup
    from transformers.utils import logging

    logging.disable_progress_bar()  # ours is the only bar
    torch.manual_seed(cfg.seed)
    lines = read_corpus(corpus_dir)
    tokenizer = train_tokenizer(lines, cfg.vocab_size, cfg.max_length)
    model = _mlm_model(cfg, tokenizer)
    encoded = tokenizer(lines, truncation=True, max_length=cfg.max_length)["input_ids"]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=cfg.mask_prob)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    steps_per_epoch = math.ceil(len(encoded) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * total), total)
    gen = torch.Generator().manual_seed(cfg.seed)
    losses: list[float] = []
    model.train()
    with progress_bar() as bar:
        job = bar.add_task("pretrain (masked LM)", total=total)
        for _ in range(cfg.epochs):
            order = torch.randperm(len(encoded), generator=gen).tolist()
            for start in range(0, len(order), cfg.batch_size):
                batch = collator([{"input_ids": encoded[i]} for i in order[start : start + cfg.batch_size]])
                loss = model(**batch).loss
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(loss.item())
                bar.update(job, advance=1, description=f"pretrain (masked LM) loss {loss.item():.3f}")
    summary = {
        "sentences": len(lines),
        "steps": total,
        "parameters": sum(p.numel() for p in model.base_model.parameters()),
        "mlm_loss_first": round(sum(losses[:20]) / max(1, len(losses[:20])), 4),
        "mlm_loss_last": round(sum(losses[-20:]) / max(1, len(losses[-20:])), 4),
    }
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "pretrain_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def snapshot_encoder(model_id: str, out_dir: Path) -> dict:
    """Save a hub encoder and its tokenizer to `out_dir`, so that every later stage (and every process of a
    multi-GPU run) reads one versioned local copy instead of the Hub."""
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(model_id, add_pooling_layer=False)
    tokenizer = AutoTokenizer.from_pretrained(model_id)
    summary = {"init": model_id, "parameters": sum(p.numel() for p in model.parameters())}
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "pretrain_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
