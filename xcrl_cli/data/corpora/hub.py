"""Reading the Hugging Face Hub through `datasets`, failing in seconds with a useful message when it is unreachable.

`datasets.load_dataset` retries an unreachable Hub for about 25 s before it gives up, and its error does not say what
to do next. We ask the Hub for the dataset's metadata first (one request, short timeout): when that fails, the user
learns at once which dataset could not be reached and how to provide it from a local folder instead. With
`HF_HUB_OFFLINE=1` the probe is skipped and `datasets` reads its local cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .schema import DatasetUnavailable

T = TypeVar("T")

PROBE_TIMEOUT_S = 10.0


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def probe(repo: str, name: str, how_to_local: str) -> None:
    """Raise DatasetUnavailable naming the dataset and the local alternative when the Hub cannot serve `repo`."""
    if _offline():
        return
    from huggingface_hub import HfApi

    try:
        HfApi().dataset_info(repo, timeout=PROBE_TIMEOUT_S)
    except Exception as err:  # noqa: BLE001 — connection, DNS, 404 and auth errors all mean: unusable from here
        raise DatasetUnavailable(
            f"{name}: cannot read {repo!r} from the Hugging Face Hub ({type(err).__name__}: {err}). {how_to_local}"
        ) from None


def load_split(repo: str, config: str | None, split: str):
    """One split of a Hub dataset as a `datasets.Dataset` (Arrow, cached by `datasets`)."""
    import datasets

    datasets.logging.set_verbosity_error()
    return datasets.load_dataset(repo, config, split=split)


def read_from(name: str, key: str, local: Path | None, hub: str | None, how_to_local: str,
              from_local: Callable[[Path], T], from_hub: Callable[[str], T]) -> T:
    """Read a dataset from its local folder (which wins) or the Hub (probed first); neither set is an error naming
    both params keys."""
    if local is not None:
        return from_local(Path(local))
    if hub is not None:
        probe(hub, name, how_to_local)
        return from_hub(hub)
    raise DatasetUnavailable(f"{name}: neither `datasets.{key}.local` nor `datasets.{key}.hub` is set in "
                             f"params.yaml. {how_to_local}")
