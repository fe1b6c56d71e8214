"""Reading params: `params.yaml` (YAML 1.2 floats) into validated `Params`, the `--source` option applied first."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .params import ConfigError, Params
from .validation import parse_params


class _YamlLoader(yaml.SafeLoader):
    """YAML 1.2 floats: PyYAML reads `2e-05` (what `dvc exp run -S` writes for 0.00002) as a string."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def load_yaml(text: str):
    return yaml.load(text, Loader=_YamlLoader)


def load_params(path: str | Path = "params.yaml", source: str | None = None) -> Params:
    """The validated params of `path`; `source` (the `--source` option) replaces data.source before validation, so
    data.languages is checked against the languages of the source that will be read."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found; run from the project root or pass --params")
    with path.open(encoding="utf-8") as f:
        try:
            raw = load_yaml(f.read())
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if source is not None and isinstance(raw, dict):
        raw = {**raw, "data": {**(raw.get("data") or {}), "source": source}}
    return parse_params(raw, f"{path} with data.source {source!r} from --source" if source else str(path))
