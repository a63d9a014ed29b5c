"""Training data sources: what a training job trains and evaluates on.

Each source implements `DataSource` (`base.py`); `data_source(config)` picks the one
`data.dataset` names (`SOURCES`). Adding a dataset is adding a source here.
"""

import importlib

from training.sources.base import DataSource

#: `data.dataset` -> the module and class of its source.
SOURCES = {
    "synthetic_scenes": ("training.sources.synthetic_scenes", "SyntheticScenesSource"),
    "sun_scenic_or_not": ("training.sources.sun_scenic_or_not", "SunScenicOrNotSource"),
    "manifest": ("training.sources.manifest", "ManifestSource"),
}


def data_source(config, log=print):
    """The `DataSource` of `config.data.dataset`; raises ValueError naming the choices."""
    if config.data.dataset not in SOURCES:
        raise ValueError(f"data.dataset must be one of: {', '.join(SOURCES)}. Received: "
                         f"{config.data.dataset!r}")
    module, name = SOURCES[config.data.dataset]
    return getattr(importlib.import_module(module), name)(config, log)


__all__ = ["DataSource", "SOURCES", "data_source"]
