"""The data layer: everything from a dataset to the rows the later stages read, as text.

It holds the embedded benchmark (`benchmark`, `lexicon`: generated languages and tasks with a planted cue), the
readers of the paper's datasets (`corpora/`, one module per dataset, and `sources`, which picks embedded or real
data per task), the raw folder every stage reads (`raw`, `raw_writer`) and the translation pairs and
counterfactuals built from it (`pairs`, `counterfactuals`). It may import only `config` and `io`; nothing here
knows about models, training or tokens.
"""
