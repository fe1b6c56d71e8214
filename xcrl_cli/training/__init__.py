"""The training layer: tokenised data in, trained models out.

It holds the tokenisation and its on-disk datasets (`tokens`), the batches a step concatenates (`batches`), running a
model over a set (`inference`), the loop (`train`) with its model selection on dev sets (`selection`), multi-GPU
sharding (`distributed`), resumable checkpoints (`checkpoint`), the run pool over CPU cores or GPUs (`workers`) or a
Slurm array instead (`launcher`), the flags for a collapsed or diverged run (`guards`), the step-time benchmark
(`bench`, and `sharing` for runs sharing a device) and the plan of a preset (`plan`). It may import the model and
data layers and `config`, `io`, `progress`; never evaluation or the report.
"""
