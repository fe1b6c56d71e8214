"""The data layer: everything from a dataset to the rows the later stages read, as text.

It holds the embedded benchmark (`benchmark`, `lexicon`: generated languages and tasks with a planted cue), the
readers of the paper's datasets (`corpora/`, one module per dataset, and `sources`, which picks embedded or real
data per task), the raw folder every stage reads (`raw`, `raw_writer`) and the translation pairs and
counterfactuals built from it (`pairs`, `counterfactuals`). It may import only `config` and `io`; nothing here
knows about models, training or tokens.
"""

from ..config import ConfigError
from ..io import DataError
from .corpora.schema import DatasetUnavailable

# The errors the user fixes in the params or the data: the CLI prints each as one line (exit code 2), and a job run
# in a worker process sends it back for its parent to raise (`training.workers`).
USER_ERRORS = (ConfigError, DataError, DatasetUnavailable, FileNotFoundError)
