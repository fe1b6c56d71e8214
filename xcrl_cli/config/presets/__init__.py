"""Named presets: sets of params.yaml overrides, applied through `dvc exp run -S` so DVC records the experiment and
`dvc params diff` lists exactly the keys a preset changes."""

from __future__ import annotations

import copy
import shlex
from importlib import resources

from .. import ConfigError, Params, load_params, load_yaml, parse_params


def names() -> list[str]:
    return sorted(f.name[:-5] for f in resources.files(__package__).iterdir() if f.name.endswith(".yaml"))


def overrides(name: str) -> dict:
    """The preset's `dotted.key: value` overrides."""
    if name not in names():
        raise ConfigError(f"unknown preset {name!r}; available: {names()}")
    return load_yaml(resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8"))


def apply(raw: dict, name: str) -> dict:
    """`raw` (a parsed params.yaml) with the preset applied; a key the params do not have is an error."""
    out = copy.deepcopy(raw)
    for dotted, value in overrides(name).items():
        *parents, leaf = dotted.split(".")
        node = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            raise ConfigError(f"preset {name!r}: {dotted} is not a key of params.yaml")
        node[leaf] = value
    return out


def validate(raw: dict, name: str) -> None:
    """The preset applied to `raw` must itself be valid params, so a bad preset fails before `dvc exp run`."""
    parse_params(apply(raw, name), f"params.yaml + preset {name}")


def load(params_path: str, name: str | None) -> Params:
    """params.yaml, with preset `name` applied when given."""
    if name is None:
        return load_params(params_path)
    with open(params_path, encoding="utf-8") as f:
        return parse_params(apply(load_yaml(f.read()), name), f"{params_path} + preset {name}")


def set_param_args(name: str) -> str:
    """`-S key=value ...` for `dvc exp run`, shell-quoted; lists in the flow style Hydra's override grammar reads."""
    def fmt(value) -> str:
        if isinstance(value, list):
            return "[" + ",".join(map(fmt, value)) + "]"
        return f"{value:.12f}".rstrip("0") if isinstance(value, float) else str(value)

    return " ".join(f"-S {shlex.quote(f'{k}={fmt(v)}')}" for k, v in overrides(name).items())
