import types

import pytest

from training.config_schema import DATASETS
from training.sources import SOURCES, DataSource, data_source


def test_every_configurable_dataset_has_a_source_and_each_source_the_interface():
    import importlib

    assert tuple(SOURCES) == DATASETS
    for module, name in SOURCES.values():
        source = getattr(importlib.import_module(module), name)
        assert issubclass(source, DataSource)
        for method in ("prepare", "steps_per_epoch", "label_means", "training_data",
                       "validation_data", "evaluate", "plot_preview", "description"):
            assert getattr(source, method) is not getattr(DataSource, method), (name, method)


def test_an_unknown_dataset_is_refused_with_the_choices():
    config = types.SimpleNamespace(data=types.SimpleNamespace(dataset="imagenet"))
    with pytest.raises(ValueError, match="data.dataset must be one of: synthetic_scenes, "
                                         "sun_scenic_or_not, manifest. Received: 'imagenet'"):
        data_source(config)
