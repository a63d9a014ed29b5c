"""Training data sources: what a training job trains and evaluates on.

Each source implements `DataSource` (`base.py`); `data_source(config)` picks the one
`data.dataset` names. Adding a dataset is adding a source here.
"""

from training.sources.base import DataSource


def data_source(config, log=print):
    """The `DataSource` of `config.data.dataset`."""
    if config.data.dataset == "sun_scenic_or_not":
        from training.sources.sun_scenic_or_not import SunScenicOrNotSource

        return SunScenicOrNotSource(config, log)
    from training.sources.synthetic_scenes import SyntheticScenesSource

    return SyntheticScenesSource(config, log)


__all__ = ["DataSource", "data_source"]
