"""`xcrl pretrain`: the embedded scale's tokenizer and tiny encoder (masked LM + alignment on parallel pairs), and
its English→target retrieval accuracy on held-out pairs."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import load, params_option, user_errors


@click.command()
@params_option
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default="data/raw/corpus",
              show_default=True, help="Folder of unlabeled text: one <lang>.txt per language and, when there is one, "
              "the parallel corpus parallel/train.jsonl (aligned) and parallel/heldout.jsonl (retrieval).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="data/encoder", show_default=True,
              help="Where the encoder is saved (save_pretrained); model.encoder points here.")
@click.option("--metrics", type=click.Path(dir_okay=False, path_type=Path), default="data/metrics/pretrain.json",
              show_default=True, help="Retrieval accuracy per target language and the first/last losses (JSON).")
def pretrain(params_path: Path, corpus: Path, out: Path, metrics: Path) -> None:
    """Train a SentencePiece Unigram tokenizer and an XLM-R-style encoder on the unlabeled corpus (masked LM, plus
    pooled InfoNCE between the two sides of each parallel pair), or, when pretrain.init names a hub model, save a
    local snapshot of it. Either way the encoder is scored on English→target retrieval of the held-out pairs."""
    from xcrl_cli.io import write_json
    from xcrl_cli.model.pretrain import pretrain_encoder, read_parallel, snapshot_encoder

    p = load(params_path)
    with user_errors():
        if p.pretrain.init != "scratch":
            summary = snapshot_encoder(p.pretrain.init, out, read_parallel(corpus, "heldout"), p.pretrain.max_length)
            click.echo(f"encoder: {p.pretrain.init}, {summary['parameters']:,} parameters, saved to {out}")
        else:
            summary = pretrain_encoder(corpus, out, p.pretrain)
            losses = "".join(f", {name} {summary[f'{key}_loss_first']} -> {summary[f'{key}_loss_last']}"
                             for key, name in (("mlm", "MLM loss"), ("tlm", "TLM"), ("align", "alignment"))
                             if f"{key}_loss_first" in summary)
            click.echo(f"encoder: {summary['parameters']:,} parameters, {summary['steps']} steps on "
                       f"{summary['pairs']:,} pairs and {summary['sentences']:,} sentences{losses}; saved to {out}")
    write_json(metrics, summary)
    _echo_retrieval(summary)


def _echo_retrieval(summary: dict) -> None:
    if not summary["retrieval"]:
        click.echo("retrieval: no held-out parallel pairs in the corpus, not measured")
        return
    click.echo("English→target retrieval on held-out pairs (nearest neighbour, cosine of mean-pooled h)")
    click.echo(f"{'lang':<6}{'pairs':>7}{'accuracy':>10}{'chance':>9}")
    for lang, accuracy in summary["retrieval"].items():
        n = summary["retrieval_size"][lang]
        click.echo(f"{lang:<6}{n:>7}{accuracy:>10.3f}{1 / n:>9.3f}")
