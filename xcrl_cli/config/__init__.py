"""The params of the pipeline: `params.yaml` read, typed and checked before any work starts (the lowest layer).

`params.py` holds one frozen dataclass per section and the range of every number, `validation.py` the checks,
`loading.py` the reading of the file, `languages.py` the languages params may name and `presets/` the named sets of
overrides. Every layer above imports its params from here; this package imports nothing else of xcrl_cli. The names
below are its interface.
"""

from .loading import load_params, load_yaml
from .params import (
    ALIGN_MODES,
    LOSS_TERMS,
    METRICS,
    RANGES,
    SOURCES,
    TASKS,
    BenchmarkParams,
    ConfigError,
    DataConfig,
    DatasetsParams,
    DictionarySource,
    EvaluateConfig,
    HubOrLocal,
    MLDocSource,
    ModelConfig,
    PairsParams,
    ParallelSource,
    Params,
    PretrainConfig,
    ReportParams,
    SignificanceParams,
    SlurmConfig,
    SweepParams,
    TaskEntry,
    TrainConfig,
    Variant,
    to_dict,
)
from .validation import parse_params

__all__ = [
    "ALIGN_MODES", "LOSS_TERMS", "METRICS", "RANGES", "SOURCES", "TASKS", "BenchmarkParams", "ConfigError",
    "DataConfig",
    "DatasetsParams", "DictionarySource", "EvaluateConfig", "HubOrLocal", "MLDocSource", "ModelConfig", "PairsParams",
    "ParallelSource", "Params", "PretrainConfig", "ReportParams", "SignificanceParams", "SlurmConfig", "SweepParams",
    "TaskEntry", "TrainConfig", "Variant", "load_params", "load_yaml", "parse_params", "to_dict",
]
