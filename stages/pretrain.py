"""`xcrl pretrain`: the embedded scale's tokenizer and tiny encoder, trained from scratch by masked LM."""

from __future__ import annotations

from pathlib import Path

import click

from xcrl_cli.options import load, params_option, user_errors


@click.command()
@params_option
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default="data/raw/corpus",
              show_default=True, help="Folder of unlabeled text, one <lang>.txt per language.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="data/encoder", show_default=True,
              help="Where the encoder is saved (save_pretrained); model.encoder points here.")
def pretrain(params_path: Path, corpus: Path, out: Path) -> None:
    """Train a SentencePiece Unigram tokenizer and an XLM-R-style encoder (masked LM) on the multilingual unlabeled corpus, or,
    when pretrain.init names a hub model, save a local snapshot of it."""
    from xcrl_cli.pretrain import pretrain_encoder, snapshot_encoder

    p = load(params_path)
    if p.pretrain.init != "scratch":
        summary = snapshot_encoder(p.pretrain.init, out)
        click.echo(f"encoder: {p.pretrain.init}, {summary['parameters']:,} parameters, saved to {out}")
        return
    with user_errors():
        summary = pretrain_encoder(corpus, out, p.pretrain)
    click.echo(f"encoder: {summary['parameters']:,} parameters, MLM loss {summary['mlm_loss_first']} -> "
               f"{summary['mlm_loss_last']}, saved to {out}")
