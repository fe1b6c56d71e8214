"""Reading the Hugging Face Hub through `datasets`, failing in seconds with a useful message when it is unreachable.

`datasets.load_dataset` retries an unreachable Hub for about 25 s before it gives up, and its error does not say what
to do next. We ask the Hub for the dataset's metadata first (one request, short timeout): when that fails, the user
learns at once which dataset could not be reached and how to provide it from a local folder instead. With
`HF_HUB_OFFLINE=1` the probe is skipped and `datasets` reads its local cache.

datasets 5 no longer runs loading scripts, and some of the paper's datasets (the UMSAB tweets) are still a script on
their main branch. The Hub's dataset viewer keeps a parquet export of every public dataset on the
`refs/convert/parquet` revision, one folder per config and split (`<config>/<split>/0000.parquet`); such a
repository is read from there. A `hub` value may also be a local folder laid out as a Hub repository (a
`huggingface-cli download --repo-type dataset --local-dir` copy, with the export downloaded into the same folder).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from ...config import ConfigError
from .schema import DatasetUnavailable

T = TypeVar("T")

PROBE_TIMEOUT_S = 10.0
PARQUET_REVISION = "refs/convert/parquet"
SCRIPT_REFUSED = "Dataset scripts are no longer supported"  # datasets' RuntimeError for a loading-script repository
MESSAGE_CHARS = 300  # an error's own text, cut: some `datasets` errors list every file of the repository


class HubError(Exception):
    """A split the Hub (or a local Hub-layout folder) cannot serve; one line naming the repository, config and split."""


class NoSuchConfig(HubError):
    """The repository has no such config: for a corpus with one config per language, that language is absent."""


def offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def is_local(repo: str) -> bool:
    """Whether `repo` names a folder (absolute, relative with ./, or existing) rather than a Hub dataset id."""
    return os.path.isabs(repo) or repo.startswith(".") or Path(repo).is_dir()


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:MESSAGE_CHARS]}{'…' if len(text) > MESSAGE_CHARS else ''}"


def probe(repo: str, name: str, how_to_local: str) -> None:
    """Raise DatasetUnavailable naming the dataset and the local alternative when the Hub cannot serve `repo`."""
    if is_local(repo):
        if not Path(repo).is_dir():
            raise DatasetUnavailable(f"{name}: the Hub-layout folder {repo!r} does not exist. {how_to_local}")
        return
    if offline():
        return
    from huggingface_hub import HfApi

    try:
        HfApi().dataset_info(repo, timeout=PROBE_TIMEOUT_S)
    except Exception as err:  # noqa: BLE001 — connection, DNS, 404 and auth errors all mean: unusable from here
        raise DatasetUnavailable(
            f"{name}: cannot read {repo!r} from the Hugging Face Hub ({one_line(err)}). {how_to_local}"
        ) from None


def encoder_config(path_or_id: str, key: str = "encoder"):
    """The config of the encoder `path_or_id` (a folder or a Hub model id), or one ConfigError naming `key`, the value
    and what to do. A name that is not a folder is asked of the Hub first with a short timeout (skipped with
    HF_HUB_OFFLINE=1), since transformers retries an unreachable Hub and then fails with a 20-line traceback."""
    from transformers import AutoConfig

    try:
        if not is_local(path_or_id) and not offline():
            from huggingface_hub import HfApi

            HfApi().model_info(path_or_id, timeout=PROBE_TIMEOUT_S)
        return AutoConfig.from_pretrained(path_or_id)
    except Exception as err:  # noqa: BLE001 — missing, unreachable, gated or malformed: unusable from here
        if Path(path_or_id).is_dir():
            why = "the folder holds no readable config.json"
        elif offline():
            why = "no such folder, and not in the Hugging Face cache (HF_HUB_OFFLINE is set)"
        else:
            why = f"no such folder, and the Hub does not serve it: {type(err).__name__}"
        raise ConfigError(f"{key} {path_or_id!r} cannot be loaded ({why}); name a folder holding its config.json, "
                          "weights and tokenizer (`xcrl pretrain` writes data/encoder) or a Hub model, downloaded "
                          f"once with network (`hf download {path_or_id}`)") from None


def export_files(repo: str, config: str, split: str) -> str:
    """The parquet export's files of one config and split, as a `data_files` pattern (an `hf://` URL on the Hub)."""
    root = repo if is_local(repo) else f"hf://datasets/{repo}@{quote(PARQUET_REVISION, safe='')}"
    return f"{root}/{config}/{split}/*.parquet"


def load_split(repo: str, config: str | None, split: str, streaming: bool = False):
    """One split of a Hub dataset as a `datasets.Dataset` (Arrow, cached by `datasets`), or an `IterableDataset`
    when streaming. A loading-script repository is read from its parquet export. Every failure is a HubError."""
    import datasets

    datasets.logging.set_verbosity_error()
    where = f"{repo!r} config {config!r} split {split!r}"
    try:
        return datasets.load_dataset(repo, config, split=split, streaming=streaming)
    except RuntimeError as err:
        if SCRIPT_REFUSED not in str(err):
            raise HubError(f"cannot read {where} ({one_line(err)})") from None
    except ValueError as err:
        if str(err).startswith("BuilderConfig"):  # datasets' plain ValueError for an unknown config name
            raise NoSuchConfig(f"{repo!r} has no config {config!r}") from None
        raise HubError(f"cannot read {where} ({one_line(err)})") from None
    except Exception as err:  # noqa: BLE001 — network, 404, auth, cache and format errors alike
        raise HubError(f"cannot read {where} ({one_line(err)})") from None
    pattern = export_files(repo, config or "default", split)
    try:
        return datasets.load_dataset("parquet", data_files={split: pattern}, split=split, streaming=streaming)
    except (FileNotFoundError, ValueError):  # no file matches the pattern (datasets raises either)
        raise NoSuchConfig(f"{repo!r} is a loading script, which datasets 5 no longer runs, and its parquet export "
                           f"({PARQUET_REVISION}) has no {pattern}") from None
    except Exception as err:  # noqa: BLE001
        raise HubError(f"cannot read the parquet export of {where} ({one_line(err)})") from None


def first_row(repo: str, config: str | None, split: str) -> dict:
    """The first row of one split, streamed: what `xcrl check` reads to show a source works, in seconds."""
    try:
        return next(iter(load_split(repo, config, split, streaming=True)))
    except StopIteration:
        raise HubError(f"{repo!r} config {config!r} split {split!r} is empty") from None
    except HubError:
        raise
    except Exception as err:  # noqa: BLE001 — streaming reads lazily: its errors surface here
        raise HubError(f"cannot stream {repo!r} config {config!r} split {split!r} ({one_line(err)})") from None


@contextlib.contextmanager
def unavailable(name: str, how_to_local: str) -> Iterator[None]:
    """Turn a HubError raised inside into the project's one-line DatasetUnavailable naming the local alternative."""
    try:
        yield
    except HubError as err:
        raise DatasetUnavailable(f"{name}: {err}. {how_to_local}") from None


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
