"""Loaders of the paper's datasets (XNLI, PAWS-X, MLDoc, multilingual sentiment), the parallel corpus and the MUSE
dictionaries. Each reads either the Hugging Face Hub (through `datasets`) or the distribution's original files from a
local folder, and returns the common schema of `schema.py`."""
