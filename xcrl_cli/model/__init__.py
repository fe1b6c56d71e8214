"""The model layer: what is trained and what it is trained on.

It holds the encoder loading, pooling, the disentangler and the heads (`model`), the causal gate (`gate`), the
language adversary behind gradient reversal (`adversary`), the loss terms of formulas 2 and 4 in one registry
(`losses`) and the pretraining of the tiny embedded encoder or the snapshot of a hub one (`pretrain`). It may import
`config`, `io`, `progress` and the data layer; it knows nothing about the training loop, evaluation or the report.
"""
