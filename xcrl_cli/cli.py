"""The `xcrl` command: one subcommand per pipeline stage (the same names as in dvc.yaml and stages/)."""

from __future__ import annotations

from pathlib import Path

import click

from stages.download import download
from stages.evaluate import evaluate
from stages.pairs import pairs
from stages.pretrain import pretrain
from stages.report import report
from stages.tokenise import tokenise
from stages.train import train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xcrl")
@click.option("--debug", is_flag=True, envvar="XCRL_DEBUG",
              help="Show the traceback of a params or data error instead of its one line (also XCRL_DEBUG=1).")
def main(debug: bool) -> None:
    """Cross-lingual causal representation learning: reproduce the paper as a DVC pipeline.

    Every option defaults to params.yaml; `dvc repro` runs the stages in order, `xcrl <stage>` runs one ad hoc.
    """


for command in (download, pairs, pretrain, tokenise, train, evaluate, report):
    main.add_command(command)


@main.command()
@click.argument("name")
@click.option("--params", "params_path", default="params.yaml", show_default=True, type=click.Path(dir_okay=False))
@click.option("--plan", "show_plan", is_flag=True,
              help="Print the runs, sequence passes, disk, GPU-hours and wall time the preset needs instead.")
@click.option("--throughput", default=None,
              help="With --plan: training sequences/s, a number or the JSON of `xcrl bench --json` "
                   "[default: a stated assumption].")
@click.option("--gpus", "gpus", type=click.IntRange(min=1), multiple=True,
              help="With --plan: a number of GPUs to give the wall time for (repeat) [default: 1, 2, 4, 8].")
def preset(name: str, params_path: str, show_plan: bool, throughput: str | None, gpus: tuple[int, ...]) -> None:
    """Print the `dvc exp run -S ...` arguments of preset NAME (checked against params.yaml first).

    Example: dvc exp run -n paper $(xcrl preset paper)
    """
    from xcrl_cli.config import load_yaml, presets
    from xcrl_cli.options import user_errors

    with user_errors(), open(params_path, encoding="utf-8") as f:
        presets.validate(load_yaml(f.read()), name)
    if show_plan:
        from xcrl_cli.training.plan import make_plan, print_plan

        with user_errors():
            p = presets.load(params_path, name)
            print_plan(make_plan(p, throughput), f"preset {name}", p.train.runs_per_gpu, gpus or (1, 2, 4, 8))
        return
    click.echo(presets.set_param_args(name))


@main.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True, type=click.Path(dir_okay=False))
@click.option("--preset", "preset_name", default=None, help="Check params.yaml with this preset applied.")
@click.option("--files", "list_files", is_flag=True, help="Also list every local file each probe opened.")
def check(params_path: str, preset_name: str | None, list_files: bool) -> None:
    """Probe every source the params read (Hub datasets, local folders, dictionaries, encoder) in seconds; exits 1
    when any is unusable. A local folder is read by the loader `download` runs, every file its layout requires
    opened and its first lines parsed. Run it before a long pipeline run, e.g. `xcrl check --preset paper` before
    `make paper`."""
    from rich.console import Console
    from rich.table import Table

    from xcrl_cli.config import presets
    from xcrl_cli.data.check import run_checks
    from xcrl_cli.options import user_errors

    with user_errors():
        p = presets.load(params_path, preset_name)
    rows = run_checks(p)
    table = Table("source", "found", "status")
    for row in rows:
        table.add_row(row.source, row.found, "OK" if row.ok else f"[red]FAILED[/red]: {row.fix}")
    Console(width=200, soft_wrap=False).print(table)
    for row in rows if list_files else ():
        click.echo(f"{row.source}: {len(row.opened)} file(s) opened")
        for path in row.opened:
            click.echo(f"  {path}")
    failed = [row.source for row in rows if not row.ok]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(rows)} sources unusable: {', '.join(failed)}")


@main.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True, type=click.Path(dir_okay=False))
@click.option("--encoder", default=None, help="Encoder path or hub id [default: model.encoder].")
@click.option("--encoder-config", default=None,
              help="A random encoder built from this config instead (no download): xlm-roberta-base, "
                   "bert-base-multilingual-cased, or a config.json.")
@click.option("--variant", default="proposed", show_default=True, help="The variant whose step is measured.")
@click.option("--seq-len", type=click.IntRange(8), default=48, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True, help="Examples per step.")
@click.option("--rounds", type=click.IntRange(1), default=5, show_default=True,
              help="Rounds; each runs every kind for one untimed and --steps timed steps (one with --encoder-config).")
@click.option("--steps", type=click.IntRange(1), default=5, show_default=True, help="Timed steps per kind and round.")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default=None, help="[default: train.precision]")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False),
              help="Also write the result here (`xcrl preset NAME --plan --throughput` reads it).")
@click.option("--share", "shares", type=click.IntRange(1), multiple=True,
              help="Instead: N runs training the full model at once on the device, as train.runs_per_gpu puts them "
                   "(repeat: --share 1 --share 2 --share 4): their sequences/s together, MFU, peak memory per run.")
@click.option("--compile", "compile_mode", type=click.Choice(["off", "on", "both"]), default="off", show_default=True,
              help="With --share: torch.compile each run's model (both: each N without, then with).")
def bench(params_path, encoder, encoder_config, variant, seq_len, batch_size, rounds, steps, precision,
          json_path, shares, compile_mode) -> None:
    """Measure the full model's step against bare encoder passes and ERM against plain HF fine-tuning, or (--share)
    several runs sharing the device. On a fresh clone (no data/encoder yet) the encoder is a random one of the shape
    `pretrain:` builds."""
    from xcrl_cli.options import choice_check, load, user_errors
    from xcrl_cli.training.bench import BenchConfig, choose_encoder, run_bench

    p = load(params_path)
    choice_check("--variant", variant, p.variants)
    with user_errors():
        chosen = choose_encoder(p, encoder, encoder_config)
    if chosen.note:
        click.echo(chosen.note, err=True)
    cfg = BenchConfig(encoder=chosen.name, seq_len=seq_len, batch_size=batch_size, rounds=rounds, block=steps,
                      device=p.train.device, precision=precision or p.train.precision,
                      n_languages=len(p.data.languages), random_encoder=chosen.config,
                      mfu_only=encoder_config is not None)
    if shares:
        _bench_sharing(cfg, p, variant, shares, compile_mode, steps, json_path)
        return
    with user_errors():
        r = run_bench(cfg, p.model, p.variant(variant), p.variant("erm"), lambda line: click.echo(line, err=True))
    click.echo(f"device: {r.device}; encoder {chosen.name} ({r.parameters:,} parameters); batch {batch_size} x "
               f"{seq_len} tokens; {cfg.precision}; median of {r.steps} steps each")
    for name, seconds in r.seconds.items():
        click.echo(f"  {name:8s} {1000 * seconds:9.2f} ms/step")
    for name, ratio in r.ratios.items():
        click.echo(f"  ratio {name}: {ratio:.3f}")
    click.echo(f"  train {r.train_examples_per_s:.3g} examples/s, {r.train_sequences_per_s:.3g} sequences/s "
               f"({variant}); eval {r.eval_examples_per_s:.3g} examples/s")
    for kind, mfu in ((variant, r.mfu), ("erm", r.mfu_erm)):
        click.echo(f"  MFU {kind}: {'n/a (CPU or unknown GPU)' if mfu is None else f'{100 * mfu:.1f}%'}")
    if json_path:
        import dataclasses

        from pathlib import Path

        from xcrl_cli.io import write_json

        write_json(Path(json_path), dataclasses.asdict(r))


def _bench_sharing(cfg, p, variant: str, shares: tuple[int, ...], compile_mode: str, steps: int,
                   json_path: str | None) -> None:
    """`xcrl bench --share`: one line per (runs, compile), and the JSON `xcrl preset --plan --throughput` reads (its
    train_sequences_per_s: the best row's sequences/s of all runs together)."""
    import dataclasses

    from xcrl_cli.training.bench import device_name
    from xcrl_cli.training.inference import resolve_device
    from xcrl_cli.training.sharing import measure_sharing

    name = device_name(resolve_device(cfg.device))
    click.echo(f"device: {name}; encoder {cfg.encoder}; the full model ({variant}), batch {cfg.batch_size} x "
               f"{cfg.seq_len} tokens; {cfg.precision}; {steps} timed steps per run after 2 untimed")
    click.echo(f"  {'runs':>4} {'compile':>7} {'sequences/s':>12} {'vs 1 run':>9} {'MFU':>6} {'peak memory/run':>16}")
    rows = []
    for compiled in {"off": [False], "on": [True], "both": [False, True]}[compile_mode]:
        for runs in shares:
            r = measure_sharing(cfg, p.model, p.variant(variant), runs, compiled, steps=steps)
            base = next((row.sequences_per_s for row in rows if row.runs == 1 and row.compiled == compiled), None)
            rows.append(r)
            mfu = "n/a" if r.mfu is None else f"{100 * r.mfu:.1f}%"
            gain = "" if base is None else f"{r.sequences_per_s / base:.2f}x"
            click.echo(f"  {runs:>4} {'on' if compiled else 'off':>7} {r.sequences_per_s:>12.4g} {gain:>9} {mfu:>6} "
                       f"{r.peak_memory_gb:>13.2f} GB")
    if json_path:
        from pathlib import Path

        from xcrl_cli.io import write_json

        best = max(rows, key=lambda row: row.sequences_per_s)
        write_json(Path(json_path), {"device": name, "train_sequences_per_s": best.sequences_per_s,
                                     "best": dataclasses.asdict(best),
                                     "sharing": [dataclasses.asdict(row) for row in rows]})


@main.command()
@click.argument("input_path", metavar="[INPUT]", default="-")
@click.option("--model", "model_path", required=True, type=click.Path(path_type=Path),
              help="A finished run (data/models/<variant>/<task>/seed<N>) or a folder `xcrl export` wrote.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the predictions here [default: standard output].")
@click.option("--format", "out_format", type=click.Choice(["jsonl", "csv"]), default=None,
              help="The output's format [default: --out's suffix, else jsonl].")
@click.option("--input-format", type=click.Choice(["csv", "tsv", "jsonl", "txt"]), default=None,
              help="INPUT's format [default: its suffix; jsonl for standard input]; txt is one text per line.")
@click.option("--text-column", default=None, help="The column of the texts [default: text, else text_a].")
@click.option("--pair-column", default=None,
              help="A sentence-pair model's second text [default: text_pair, else text_b].")
@click.option("--raw", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True,
              help="A run's labels are in its meta.json (an export carries its own).")
@click.option("--batch-size", type=click.IntRange(1), default=128, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def predict(input_path, model_path, out, out_format, input_format, text_column, pair_column, raw, batch_size,
            device) -> None:
    """Predict the label of every text of INPUT (csv, tsv, jsonl or txt; `-` or none: standard input), one output
    row per input row: its id and lang if it has them, pred, pred_label, prob_<label> per label and, for a gated
    variant, gate_z_inv and gate_z_task (the gate's mean openness over each space, 1 = fully open)."""
    from xcrl_cli.evaluation.predict import Predictor, dumps_predictions, model_card, output_format
    from xcrl_cli.evaluation.texts import Columns, read_input
    from xcrl_cli.io import atomic_write
    from xcrl_cli.options import user_errors
    from xcrl_cli.progress import progress_bar

    with user_errors():
        card = model_card(model_path, raw)
        rows = read_input(input_path, input_format, Columns(text_column, pair_column, card["pair"]))
        predictor = Predictor.load(model_path, card, device)
        with progress_bar(disable=True if len(rows) <= batch_size else None, stderr=True) as bar:
            job = bar.add_task(f"predict {card['variant']}/{card['task']}", total=len(rows))
            predictions = predictor.predict(rows, batch_size, lambda n: bar.update(job, advance=n))
    text = dumps_predictions(predictions, output_format(out, out_format))
    if out is None:
        click.echo(text, nl=False)
        return
    atomic_write(out, text)
    click.echo(f"{len(predictions)} predictions -> {out}", err=True)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--raw", type=click.Path(file_okay=False, path_type=Path), default="data/raw", show_default=True,
              help="The run's labels and languages (meta.json).")
@click.option("--eval", "eval_dir", type=click.Path(file_okay=False, path_type=Path), default="data/eval",
              show_default=True, help="`evaluate`'s output: the model card's test scores, when the run's are there.")
def export(run_dir: Path, out: Path, raw: Path, eval_dir: Path) -> None:
    """Write the finished run RUN_DIR to OUT in Hugging Face's layout: the encoder (AutoModel.from_pretrained(OUT)),
    its tokenizer, heads.safetensors, xcrl.json and a README.md model card. `xcrl predict --model OUT` reads it;
    `huggingface_hub.upload_folder(repo_id=..., folder_path=OUT)` publishes it."""
    from xcrl_cli.evaluation.export import export_run
    from xcrl_cli.options import user_errors

    with user_errors():
        card = export_run(run_dir, raw, eval_dir, out)
    click.echo(f"{card['variant']}/{card['task']}/seed{card['seed']} -> {out}")
